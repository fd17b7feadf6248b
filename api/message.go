package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

type messageJSON struct {
	ID             uuid.UUID       `json:"id"`
	TenantID       string          `json:"tenant_id"`
	EventType      string          `json:"event_type"`
	Payload        json.RawMessage `json:"payload"`
	Channels       []string        `json:"channels"`
	IdempotencyKey *string         `json:"idempotency_key"`
	CreatedAt      time.Time       `json:"created_at"`
	// Version is the version of the event type Payload is; Payloads, in
	// the publish answer and GET of one message published with several,
	// every payload by version (version.go).
	Version  int                        `json:"version"`
	Payloads map[string]json.RawMessage `json:"payloads,omitempty"`
	// ExpiresAt is the end of the message's own retention (null: the
	// global one); Expunged and ExpungedAt say whether its content was
	// removed (expunge.go), in which case Payload is null.
	ExpiresAt  *time.Time `json:"expires_at"`
	Expunged   bool       `json:"expunged"`
	ExpungedAt *time.Time `json:"expunged_at"`
}

type deliveryJSON struct {
	EndpointID     uuid.UUID  `json:"endpoint_id"`
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	LastStatusCode *int       `json:"last_status_code"`
}

type messageWithDeliveries struct {
	messageJSON
	Deliveries []deliveryJSON `json:"deliveries"`
}

func toMessage(m store.Message) messageJSON {
	out := messageJSON{ID: m.ID, TenantID: m.TenantID, EventType: m.EventType, Payload: json.RawMessage(m.Payload),
		Channels: nonNil(m.Channels), CreatedAt: m.CreatedAt, Version: max(m.Version, 1), Payloads: payloadsJSON(m),
		ExpiresAt: m.ExpiresAt, Expunged: m.ExpungedAt != nil, ExpungedAt: m.ExpungedAt}
	if m.ExpungedAt != nil {
		out.Payload, out.Payloads = json.RawMessage("null"), nil
	}
	if m.IdempotencyKey != "" {
		k := m.IdempotencyKey
		out.IdempotencyKey = &k
	}
	return out
}

type publishBody struct {
	EventType      string          `json:"event_type"`
	Payload        json.RawMessage `json:"payload"`
	Channels       []string        `json:"channels"`
	IdempotencyKey string          `json:"idempotency_key"`
	// Tenant asks for the tenant to be created when it does not exist.
	Tenant *tenantBody `json:"tenant"`
	// Version and Payloads: see version.go.
	Version  *int                       `json:"version"`
	Payloads map[string]json.RawMessage `json:"payloads"`
	// Retention is the message's own retention (expunge.go).
	Retention json.RawMessage `json:"retention"`
}

// publish is the hot path: it validates, then stores the message and its
// deliveries (or its fan-out job) in one transaction, and answers 202.
func (s *server) publish(c echo.Context) error {
	req := c.Request()
	var body publishBody
	if err := bind(c, &body); err != nil {
		return err
	}
	var errs []FieldError // what only a request can get wrong
	key := body.IdempotencyKey
	if h := req.Header.Get("Idempotency-Key"); h != "" {
		if key != "" && key != h {
			errs = append(errs, FieldError{Field: "idempotency_key", Message: "differs from the Idempotency-Key header"})
		}
		key = h
	}
	msg := delivery.Message{TenantID: c.Param("tenant"), EventType: body.EventType, Payload: body.Payload,
		Channels: body.Channels, IdempotencyKey: key}
	errs = append(errs, versionedPublish(body.Version, body.Payloads, &msg)...)
	retention, err := parseRetention(body.Retention)
	if err != nil {
		errs = append(errs, FieldError{Field: "retention", Message: err.Error()})
	}
	msg.Retention = retention
	// The same checks as PublishTx (delivery.Validator); handleError
	// answers a refusal with its detail and errors.
	err = s.checker.Check(msg)
	if ie, ok := errors.AsType[*delivery.InvalidError](err); ok && !ie.TooLarge && len(errs) > 0 {
		return invalid(append(fieldErrors(ie.Errors), errs...)...)
	}
	if err != nil {
		return err
	}
	tenant := c.Param("tenant")
	var create store.Tenant
	switch {
	case body.Tenant != nil && !isTenantID(tenant):
		errs = append(errs, FieldError{Field: "tenant", Message: "cannot be created: its id " + badTenantID})
	case body.Tenant != nil:
		var err error
		if create, err = body.Tenant.tenant(tenant, "tenant."); err != nil {
			var p *Problem
			if !errors.As(err, &p) {
				return err
			}
			errs = append(errs, p.Errors...)
		}
	case !isTenantID(tenant):
		return problem(http.StatusNotFound, "tenant "+quoteShort(tenant)+" not found")
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}

	m := msg.Stored(time.Now())
	check := func(et store.EventType) error { return s.checker.CheckEventType(et, msg) }
	var out store.Message
	var existed bool
	if body.Tenant != nil {
		out, existed, err = s.svc.PublishCreatingTenant(req.Context(), m, create, check)
	} else {
		out, existed, err = s.svc.Publish(req.Context(), m, check)
	}
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return problem(http.StatusNotFound, fmt.Sprintf("tenant %s not found; create it with PUT /api/v1/tenants/%s, "+
				"or publish with \"tenant\": {\"name\": ...} to create it with its first message", m.TenantID, m.TenantID))
		}
		return err
	}
	if existed { // the first message's payloads of other versions, as GET shows them
		if out.Payloads, err = s.st.MessagePayloads(req.Context(), out.ID); err != nil {
			return err
		}
	}
	s.metrics.published.Inc()
	trace.SpanFromContext(req.Context()).SetAttributes(delivery.AttrMessageID.String(out.ID.String()),
		delivery.AttrEventType.String(out.EventType))
	return c.JSON(http.StatusAccepted, toMessage(out))
}

func (s *server) messageParam(c echo.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("message"))
	if err != nil {
		return uuid.Nil, problem(http.StatusNotFound, "message "+c.Param("message")+" not found")
	}
	return id, nil
}

func (s *server) listMessages(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := store.MessageFilter{EventType: c.QueryParam("event_type"), Status: c.QueryParam("status")}
	if f.Since, err = timeParam(c, "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(c, "until"); err != nil {
		return err
	}
	if v := c.QueryParam("endpoint_id"); v != "" {
		if f.EndpointID, err = uuid.Parse(v); err != nil {
			return fieldErr("endpoint_id", "must be an endpoint id (a UUID)")
		}
	}
	switch f.Status {
	case "", store.DeliveryPending, store.DeliverySucceeded, store.DeliveryFailed, store.DeliveryParked:
	default:
		return fieldErr("status", "must be pending, succeeded, failed or parked")
	}
	if f.EventType != "" && !isEventTypeName(f.EventType) {
		return fieldErr("event_type", "%s is not an event type name", quoteShort(f.EventType))
	}
	if f.Channel = c.QueryParam("channel"); f.Channel != "" && !channelPattern.MatchString(f.Channel) {
		return fieldErr("channel", "must be 1 to 128 characters of letters, digits and . _ : -")
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return fieldErr("until", "must be after since")
	}
	rows, next, err := s.st.ListMessages(c.Request().Context(), c.Param("tenant"), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(rows, next, toMessage))
}

func (s *server) getMessage(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := s.messageParam(c)
	if err != nil {
		return err
	}
	m, err := s.st.GetMessage(ctx, c.Param("tenant"), id)
	if err != nil {
		return notFound(err, "message %s", id)
	}
	if m.Payloads, err = s.st.MessagePayloads(ctx, m.ID); err != nil {
		return err
	}
	ds, err := s.st.MessageDeliveries(ctx, m.TenantID, m.ID)
	if err != nil {
		return err
	}
	out := messageWithDeliveries{messageJSON: toMessage(m), Deliveries: make([]deliveryJSON, len(ds))}
	for i, d := range ds {
		out.Deliveries[i] = deliveryJSON{EndpointID: d.EndpointID, Status: d.Status, Attempts: d.Attempts,
			NextAttemptAt: d.NextAttemptAt, LastStatusCode: d.LastStatusCode}
	}
	return c.JSON(http.StatusOK, out)
}

type resendBody struct {
	EndpointID string `json:"endpoint_id"`
}

func (s *server) resend(c echo.Context) error {
	id, err := s.messageParam(c)
	if err != nil {
		return err
	}
	var body resendBody
	if c.Request().ContentLength != 0 {
		if err := bind(c, &body); err != nil {
			return err
		}
	}
	endpoint := uuid.Nil
	if body.EndpointID != "" {
		if endpoint, err = parseID("endpoint_id", body.EndpointID); err != nil {
			return err
		}
	}
	r, err := s.svc.Resend(c.Request().Context(), who(c).Name, c.Param("tenant"), id, endpoint)
	if errors.Is(err, store.ErrNotFound) {
		if endpoint != uuid.Nil {
			return problem(http.StatusNotFound, fmt.Sprintf("message %s or endpoint %s not found", id, endpoint))
		}
		return problem(http.StatusNotFound, fmt.Sprintf("message %s not found", id))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, enqueuedJSON{Enqueued: r.Enqueued, ReplayID: r.ID})
}
