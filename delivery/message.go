package delivery

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd/store"
)

// Every publish, through the REST API or PublishTx, is checked by a
// Validator: what the message says by itself before any database read
// (Check), then its event type as read in the publishing transaction
// (CheckEventType). One implementation, so that both ways refuse the same
// messages in the same words.

// Message is one event an app publishes for one of its tenants.
type Message struct {
	// TenantID is the tenant the message is for; it must exist.
	TenantID string
	// EventType names a known event type that is not archived.
	EventType string
	// Payload is a JSON object, at most MaxPayloadBytes; hookd stores and
	// signs these exact bytes.
	Payload []byte
	// Channels, when not empty, send the message only to endpoints that
	// listen on one of them (or on all channels).
	Channels []string
	// IdempotencyKey, when not "", makes a publish with a key the tenant
	// used before (within the retention window) return the first message
	// and deliver nothing again.
	IdempotencyKey string
	// Version is the version of the event type that Payload is; 0 is the
	// latest.
	Version int
	// Payloads, instead of Payload, carries the payload of several versions
	// (at most MaxPayloads, each at most MaxPayloadBytes): every endpoint
	// is sent the version it pins, and those that pin none get Version's
	// (the latest when 0), which must be among them. See version.go.
	Payloads map[int][]byte
	// Retention, when not 0, is the message's own retention, from
	// MinRetention to MaxRetention: it is deleted with its deliveries and
	// attempts once that has passed and none of its deliveries is pending.
	// Longer than the global retention (HOOKD_RETENTION) is the same as 0.
	Retention time.Duration
}

// Bounds of a message's own retention. Longer than the global retention
// means the global one: whole days of the history are dropped at once.
const (
	MinRetention = time.Minute
	MaxRetention = 10 * 365 * 24 * time.Hour
)

// Stored is m as the store keeps it, published at now.
func (m Message) Stored(now time.Time) store.Message {
	out := store.Message{TenantID: m.TenantID, EventType: m.EventType, Payload: m.Payload, Channels: m.Channels,
		IdempotencyKey: m.IdempotencyKey, Version: m.Version, Payloads: m.Payloads}
	if m.Retention > 0 {
		at := now.Add(m.Retention).UTC()
		out.ExpiresAt = &at
	}
	return out
}

// DefaultMaxPayloadBytes is the largest payload a publish accepts unless
// configured otherwise (HOOKD_MAX_PAYLOAD_BYTES).
const DefaultMaxPayloadBytes = 1 << 20

// MaxIdempotencyKeyBytes is the longest idempotency key.
const MaxIdempotencyKeyBytes = 256

var (
	eventTypeName = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
	channelName   = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	tenantID      = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
)

// FieldError names one part of a message at fault.
type FieldError struct {
	// Field is where: event_type, payload (or a JSON pointer below it, like
	// payload/amount), channels or idempotency_key.
	Field string
	// Message says what is wrong, like "is required".
	Message string
}

// InvalidError is a message that hookd refuses, and nothing of it was
// stored: an event type that is missing, unknown or archived, a payload
// that is not a JSON object, is too large or breaks the event type's
// schema, a bad channel or idempotency key. The REST API answers it with
// 422 (413 when TooLarge) and the same detail and errors.
type InvalidError struct {
	// Detail is one sentence: what was refused and why.
	Detail string
	// Errors lists each fault; for a payload that breaks the schema, one per
	// broken rule.
	Errors []FieldError
	// TooLarge is a payload over the limit.
	TooLarge bool
	// eventType: the event type was refused (errors.Is ErrEventType).
	eventType bool
}

func (e *InvalidError) Error() string { return e.Detail }

// Is makes errors.Is(err, ErrEventType) true when it was the event type
// that was refused (missing, unknown or archived).
func (e *InvalidError) Is(target error) bool { return target == ErrEventType && e.eventType }

// invalid is an InvalidError whose detail lists errs as "field: message".
func invalid(errs ...FieldError) *InvalidError {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Field + ": " + e.Message
	}
	return &InvalidError{Detail: strings.Join(parts, "; "), Errors: errs}
}

func eventTypeRefused(format string, args ...any) *InvalidError {
	e := invalid(FieldError{Field: "event_type", Message: fmt.Sprintf(format, args...)})
	e.eventType = true
	return e
}

// Validator checks messages as every publish does. It compiles each event
// type's schema once per version of its bytes. Set MaxPayloadBytes before
// the first use; a Validator is safe for concurrent use after that.
type Validator struct {
	// MaxPayloadBytes bounds a payload (DefaultMaxPayloadBytes).
	MaxPayloadBytes int64
	schemas         schemaCache
}

// MaxChannels is the most channels a message may carry.
const MaxChannels = 100

// Check checks what m says by itself, before any database read: an event
// type named, a payload that is a JSON object within the size limit,
// channels and an idempotency key hookd can store. It returns nil or an
// *InvalidError with every fault found (only the size when the payload is
// too large). It does not look at m.TenantID.
func (v *Validator) Check(m Message) error {
	var errs []FieldError
	if m.EventType == "" {
		errs = append(errs, FieldError{Field: "event_type", Message: "is required"})
	}
	limit := v.MaxPayloadBytes
	if limit <= 0 {
		limit = DefaultMaxPayloadBytes
	}
	switch {
	case m.Payloads != nil:
		perrs, tooLarge := checkPayloads(m, limit) // version.go
		if tooLarge != nil {
			return tooLarge
		}
		errs = append(errs, perrs...)
	case len(m.Payload) == 0 || string(m.Payload) == "null":
		errs = append(errs, FieldError{Field: "payload", Message: "is required"})
	case !isObject(m.Payload):
		errs = append(errs, FieldError{Field: "payload", Message: "must be a JSON object"})
	case int64(len(m.Payload)) > limit:
		return &InvalidError{TooLarge: true,
			Detail: fmt.Sprintf("the payload is %d bytes; the limit is %d", len(m.Payload), limit),
			Errors: []FieldError{{Field: "payload", Message: fmt.Sprintf("is %d bytes; the limit is %d", len(m.Payload), limit)}}}
	}
	errs = append(errs, checkVersion(m)...)
	if m.Retention != 0 && (m.Retention < MinRetention || m.Retention > MaxRetention) {
		errs = append(errs, FieldError{Field: "retention", Message: fmt.Sprintf("must be from %s to %d days", MinRetention,
			int(MaxRetention/(24*time.Hour)))})
	}
	if len(m.Channels) > MaxChannels {
		errs = append(errs, FieldError{Field: "channels", Message: fmt.Sprintf("at most %d channels", MaxChannels)})
	} else {
		for _, ch := range m.Channels {
			if !channelName.MatchString(ch) {
				errs = append(errs, FieldError{Field: "channels", Message: "'" + ch + "' must be 1 to 128 characters of letters, digits and . _ : -"})
				break
			}
		}
	}
	switch k := m.IdempotencyKey; {
	case len(k) > MaxIdempotencyKeyBytes:
		errs = append(errs, FieldError{Field: "idempotency_key", Message: fmt.Sprintf("must be at most %d characters", MaxIdempotencyKeyBytes)})
	case !utf8.ValidString(k) || strings.ContainsRune(k, 0):
		errs = append(errs, FieldError{Field: "idempotency_key", Message: "must be UTF-8 text without NUL characters"})
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	if len(m.EventType) > 128 || !eventTypeName.MatchString(m.EventType) {
		// No event type is named so: refused here, before it reaches SQL.
		return eventTypeRefused("%s is not a known event type; create it with POST /api/v1/event-types", m.EventType)
	}
	return nil
}

// CheckEventType checks m against its event type et, as read in the
// publishing transaction (the zero EventType when there is none): it must
// exist, not be archived, and m's payload must match its schema. It returns
// nil, an *InvalidError, or the error of a stored schema that does not
// compile.
func (v *Validator) CheckEventType(et store.EventType, m Message) error {
	if et.Name == "" {
		return eventTypeRefused("%s is not a known event type; create it with POST /api/v1/event-types", m.EventType)
	}
	if et.Archived {
		return eventTypeRefused("%s is archived; un-archive it or publish another event type", m.EventType)
	}
	if m.Payloads != nil || (m.Version != 0 && m.Version != et.Version) {
		return v.checkVersions(et, m) // version.go
	}
	if et.Schema == nil {
		return nil
	}
	sch, err := v.schemas.get(et)
	if err != nil {
		// Stored before schemas were checked this strictly: the publisher
		// is told why, and how to mend it.
		return eventTypeRefused("the schema of %s does not compile (%s), so no payload can be checked against it; "+
			"fix it with PATCH /api/v1/event-types/%s", m.EventType, err, m.EventType)
	}
	errs := ValidatePayload(sch, m.Payload)
	if len(errs) == 0 {
		return nil
	}
	for i := range errs {
		errs[i].Field = "payload" + errs[i].Field
	}
	e := invalid(errs...)
	e.Detail = "the payload does not match the schema of " + m.EventType + ": " + e.Detail
	return e
}

// isObject reports whether b is one valid JSON object.
func isObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return json.Valid(b)
		default:
			return false
		}
	}
	return false
}
