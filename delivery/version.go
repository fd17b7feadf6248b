package delivery

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/store"
)

// Versioned payloads. An event type has numbered versions, each with its
// schema; a message is of one version (the latest unless the publisher says
// otherwise) and may carry the payloads of other versions too. An endpoint
// may pin a version per event type: each attempt sends the pinned
// version's exact bytes, signed over them, with the version in the
// webhook-version header. The choice is made when the attempt's work is
// loaded (store.LoadWork), so a retry after the customer changed the pin
// sends the new one.
//
// A message published without the payload of a version that an endpoint
// pins is accepted (the other endpoints get theirs); its delivery to that
// endpoint fails at once with error class "version", recorded as an
// attempt that sent nothing, and is not retried: the payload will not
// appear later. The SaaS learns of it like any failed delivery
// (message.attempt.exhausted), and the customer sees it in the portal.

// VersionHeader carries the version of the payload in every attempt.
const VersionHeader = "webhook-version"

// ClassVersion is the error class of an attempt that sent nothing because
// the message has no payload of the version the endpoint pins.
const ClassVersion = "version"

// MaxPayloads is the most payloads (of different versions) one publish
// may carry.
const MaxPayloads = 4

// MaxVersion is the highest version number an event type may have.
const MaxVersion = 1000

// ErrVersion is returned by SendTestVersion for a version the event type
// does not have.
var ErrVersion = errors.New("no such version")

// checkVersion checks m.Version by itself.
func checkVersion(m Message) []FieldError {
	if m.Version < 0 || m.Version > MaxVersion {
		return []FieldError{{Field: "version", Message: fmt.Sprintf("must be a version from 1 to %d, or left out for the latest", MaxVersion)}}
	}
	return nil
}

// checkPayloads checks m.Payloads by themselves: at least one and at most
// MaxPayloads, each a JSON object within limit (a larger one is the
// TooLarge error alone), and no Payload beside them.
func checkPayloads(m Message, limit int64) ([]FieldError, *InvalidError) {
	var errs []FieldError
	if len(m.Payload) > 0 && string(m.Payload) != "null" {
		errs = append(errs, FieldError{Field: "payload", Message: "give either payload or payloads (one per version), not both"})
	}
	switch {
	case len(m.Payloads) == 0:
		return append(errs, FieldError{Field: "payloads", Message: "must hold at least one payload, by version, like {\"2\": {...}}"}), nil
	case len(m.Payloads) > MaxPayloads:
		return append(errs, FieldError{Field: "payloads", Message: fmt.Sprintf("at most %d payloads (one per version)", MaxPayloads)}), nil
	}
	for _, v := range slices.Sorted(maps.Keys(m.Payloads)) {
		p, field := m.Payloads[v], "payloads."+strconv.Itoa(v)
		switch {
		case v < 1 || v > MaxVersion:
			errs = append(errs, FieldError{Field: "payloads", Message: fmt.Sprintf("%d is not a version: versions are 1 to %d", v, MaxVersion)})
		case !isObject(p):
			errs = append(errs, FieldError{Field: field, Message: "must be a JSON object"})
		case int64(len(p)) > limit:
			return nil, &InvalidError{TooLarge: true,
				Detail: fmt.Sprintf("the payload of version %d is %d bytes; the limit is %d", v, len(p), limit),
				Errors: []FieldError{{Field: field, Message: fmt.Sprintf("is %d bytes; the limit is %d", len(p), limit)}}}
		}
	}
	return errs, nil
}

// checkVersions is CheckEventType for a message that names a version
// other than the latest or carries several payloads: each payload's
// version must exist and the payload match its schema, and with several
// payloads the message's own version (the latest unless named) must be
// among them, since endpoints that pin none are sent it. et must come with
// its Versions.
func (v *Validator) checkVersions(et store.EventType, m Message) error {
	want := cmpOr(m.Version, et.Version)
	payloads := m.Payloads
	if payloads == nil {
		payloads = map[int][]byte{want: m.Payload}
	}
	var errs []FieldError
	for _, n := range slices.Sorted(maps.Keys(payloads)) {
		field, missing := "payloads."+strconv.Itoa(n), "payloads."+strconv.Itoa(n)
		if m.Payloads == nil {
			field, missing = "payload", "version"
		}
		schema := et.Schema
		if n != et.Version {
			ver, ok := et.VersionOf(n)
			if !ok {
				errs = append(errs, FieldError{Field: missing, Message: fmt.Sprintf("%s has no version %d; its versions are %s",
					et.Name, n, versionList(et))})
				continue
			}
			schema = ver.Schema
		}
		if schema == nil {
			continue
		}
		sch, err := v.schemas.compiled(et.Name+"@"+strconv.Itoa(n), schema)
		if err != nil {
			return eventTypeRefused("the schema of version %d of %s does not compile (%s), so no payload can be checked against it; "+
				"fix it with PATCH /api/v1/event-types/%s", n, m.EventType, err, m.EventType)
		}
		for _, e := range ValidatePayload(sch, payloads[n]) {
			errs = append(errs, FieldError{Field: field + e.Field, Message: e.Message})
		}
	}
	if _, ok := payloads[want]; !ok {
		msg := fmt.Sprintf("has no payload of version %d, the latest of %s, which endpoints that pin no version are sent; "+
			"add it, or name the version they get with \"version\"", want, et.Name)
		if m.Version != 0 {
			msg = fmt.Sprintf("has no payload of version %d (\"version\"), which endpoints that pin no version are sent", want)
		}
		errs = append(errs, FieldError{Field: "payloads", Message: msg})
	}
	if len(errs) == 0 {
		return nil
	}
	e := invalid(errs...)
	e.Detail = "the message does not match the versions of " + m.EventType + ": " + e.Detail
	return e
}

// versionList names the versions of et: "1, 2 and 3".
func versionList(et store.EventType) string {
	var ns []string
	for _, v := range et.Versions {
		ns = append(ns, strconv.Itoa(v.Version))
	}
	if len(ns) == 0 {
		ns = []string{strconv.Itoa(max(et.Version, 1))}
	}
	if len(ns) == 1 {
		return "only " + ns[0]
	}
	return strings.Join(ns[:len(ns)-1], ", ") + " and " + ns[len(ns)-1]
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

// resolveVersion gives m, accepted for et, its version (the latest unless
// named) and, when it carries several payloads, that version's as its
// Payload and the others as Payloads.
func resolveVersion(m *store.Message, et store.EventType) {
	if m.Version == 0 {
		m.Version = et.Version
	}
	if m.Payloads == nil {
		return
	}
	others := map[int][]byte{}
	for v, p := range m.Payloads {
		if v == m.Version {
			m.Payload = p
		} else {
			others[v] = p
		}
	}
	m.Payloads = nil
	if len(others) > 0 {
		m.Payloads = others
	}
}

// versioned tells whether a publish needs its event type's versions to be
// checked.
func versioned(m store.Message) bool { return m.Version != 0 || m.Payloads != nil }

// failMissingVersion records the attempt of a delivery whose message has
// no payload of the version it must send: nothing is sent, the attempt
// fails with ClassVersion and the delivery fails, not retried. It counts
// neither against the endpoint's health nor its circuit or rate.
func (s *Service) failMissingVersion(ctx context.Context, wk store.Work, trigger string, replay uuid.UUID) error {
	d, e, m := wk.Delivery, wk.Endpoint, wk.Message
	started := time.Now()
	res := Result{ErrorClass: ClassVersion, Error: fmt.Sprintf(
		"nothing was sent: this endpoint pins version %d of %s, and the message (version %d) was published without "+
			"a payload of version %d; publish every pinned version in \"payloads\", or change the endpoint's pin and resend",
		wk.Version, m.EventType, m.Version, wk.Version)}
	dec := nextAttempt(res, d.Attempts+1, trigger, s.cfg.Schedule, started, nil)
	a := store.Attempt{
		ID: store.NewID(), TenantID: d.TenantID, DeliveryID: d.ID, MessageID: m.ID, EndpointID: e.ID,
		Trigger: trigger, Status: dec.attempt, ErrorClass: res.ErrorClass, Error: res.Error, URL: e.URL,
		ReplayID: replay, StartedAt: started,
	}
	rec := store.AttemptRecord{Attempt: a, Status: dec.status}
	if _, err := s.recorder.Do(ctx, recordReq{rec: rec}); err != nil {
		return fmt.Errorf("record attempt of %s: %w", d.ID, err)
	}
	s.notifyExhausted(ctx, wk, rec, dec)
	s.metrics.attempts.WithLabelValues(trigger, a.Status, a.ErrorClass).Inc()
	s.metrics.delivery(rec, d, m.CreatedAt, replay)
	return nil
}

// SendTestVersion is SendTest of one version of the event type: its
// example goes to the endpoint in that version, whatever the endpoint
// pins. Version 0 is the version the endpoint would be sent (its pin, else
// the latest). A version the event type does not have is ErrVersion.
func (s *Service) SendTestVersion(ctx context.Context, tenant string, endpoint uuid.UUID, eventType string, version int) (store.Message, error) {
	var out store.Message
	err := s.store.InTx(ctx, func(tx pgx.Tx) error {
		st := s.store.WithTx(tx)
		e, err := st.GetEndpoint(ctx, tenant, endpoint)
		if err != nil {
			return err
		}
		if e.Disabled {
			return ErrEndpointDisabled
		}
		et, err := st.GetEventType(ctx, eventType)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %s is not a known event type", ErrEventType, eventType)
		}
		if err != nil {
			return err
		}
		if et.Archived {
			return fmt.Errorf("%w: %s is archived", ErrEventType, eventType)
		}
		want := cmpOr(version, cmpOr(e.VersionPins[et.Name], et.Version))
		ver, ok := et.VersionOf(want)
		if !ok {
			return fmt.Errorf("%w: %s has no version %d; its versions are %s", ErrVersion, et.Name, want, versionList(et))
		}
		payload := ver.Example
		if len(payload) == 0 {
			payload = []byte("{}")
		}
		out, _, err = st.InsertMessage(ctx, store.Message{TenantID: tenant, EventType: et.Name, Payload: payload, Version: want})
		if err != nil {
			return err
		}
		if err := s.insertDeliveries(ctx, tx, out, []uuid.UUID{e.ID}, nil, 0); err != nil {
			return err
		}
		// The endpoint gets this version whatever it pins (LoadWork).
		return st.SetDeliveryVersion(ctx, out.ID, want)
	})
	if err != nil {
		return store.Message{}, fmt.Errorf("send test to %s: %w", endpoint, err)
	}
	return out, nil
}
