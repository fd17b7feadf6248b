package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/store"
)

// Operational webhooks tell the SaaS itself what happens to its customers'
// endpoints. They are messages of the operational tenant
// (store.OperationalTenant), published through the same path as every
// other message, so they are signed, retried and logged, and they reach
// the SaaS's operational endpoints, which are that tenant's endpoints.
//
// Nothing is ever said about the operational tenant's own endpoints: an
// operational endpoint that fails must not set off webhooks about itself.
// An event is published after the change it reports, in its own
// transaction unless the caller gives one (NotifyTx).

// Operational event types. The payload of each is documented in the
// `webhooks` section of api/openapi.json.
const (
	EventEndpointFailing       = "endpoint.failing"
	EventEndpointDisabled      = "endpoint.disabled"
	EventEndpointRecovered     = "endpoint.recovered"
	EventEndpointCreated       = "endpoint.created"
	EventEndpointUpdated       = "endpoint.updated"
	EventEndpointDeleted       = "endpoint.deleted"
	EventEndpointSecretRotated = "endpoint.secret_rotated"
	EventAttemptExhausted      = "message.attempt.exhausted"
)

// OperationalEventTypes lists every operational event type.
var OperationalEventTypes = []string{
	EventEndpointFailing, EventEndpointDisabled, EventEndpointRecovered, EventEndpointCreated,
	EventEndpointUpdated, EventEndpointDeleted, EventEndpointSecretRotated, EventAttemptExhausted,
}

// IsOperationalEventType tells whether name is an operational event type.
func IsOperationalEventType(name string) bool { return slices.Contains(OperationalEventTypes, name) }

// OperationalEvent is one thing that happened to an endpoint of a tenant.
type OperationalEvent struct {
	// Type is one of the Event... constants.
	Type       string
	TenantID   string
	EndpointID uuid.UUID
	URL        string
	// Reason says why, in words ("" when the type says it all).
	Reason string
	// LastAttempt is the attempt that led to the event, if any.
	LastAttempt *AttemptSummary
	// For message.attempt.exhausted: the message given up on, its event
	// type and how many attempts were made.
	MessageID uuid.UUID
	EventType string
	Attempts  int
	// For endpoint.updated: the names (as in the API) of the fields that
	// changed.
	Changed []string
	// At is when it happened; zero means now.
	At time.Time
	// Key, when set, is the message's idempotency key: an event with the
	// key of an earlier one (within the retention window) is not sent
	// again.
	Key string
}

// AttemptSummary is what an operational event tells of an attempt.
type AttemptSummary struct {
	ID         uuid.UUID
	MessageID  uuid.UUID
	StatusCode int    // 0 when there was no answer
	ErrorClass string // "" on success
	Error      string
	StartedAt  time.Time
}

// SummarizeAttempt is the summary of a.
func SummarizeAttempt(a store.Attempt) *AttemptSummary {
	return &AttemptSummary{ID: a.ID, MessageID: a.MessageID, StatusCode: a.StatusCode, ErrorClass: a.ErrorClass,
		Error: a.Error, StartedAt: a.StartedAt}
}

// operationalPayload is the body of an operational webhook, in the shape
// the Standard Webhooks spec recommends: type, timestamp and data.
type operationalPayload struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      operationalData `json:"data"`
}

type operationalData struct {
	TenantID    string              `json:"tenant_id"`
	EndpointID  uuid.UUID           `json:"endpoint_id"`
	URL         string              `json:"url"`
	Reason      string              `json:"reason"`
	LastAttempt *operationalAttempt `json:"last_attempt"`
	MessageID   *uuid.UUID          `json:"message_id,omitempty"`
	EventType   string              `json:"event_type,omitempty"`
	Attempts    int                 `json:"attempts,omitempty"`
	Changed     []string            `json:"changed,omitempty"`
}

type operationalAttempt struct {
	ID          uuid.UUID `json:"id"`
	MessageID   uuid.UUID `json:"message_id"`
	StatusCode  *int      `json:"status_code"`
	Error       *string   `json:"error"`
	ErrorDetail string    `json:"error_detail"`
	StartedAt   time.Time `json:"started_at"`
}

// payload encodes ev as the body of its webhook.
func (ev OperationalEvent) payload() ([]byte, error) {
	if !IsOperationalEventType(ev.Type) {
		return nil, fmt.Errorf("%q is not an operational event type", ev.Type)
	}
	at := ev.At
	if at.IsZero() {
		at = time.Now()
	}
	d := operationalData{TenantID: ev.TenantID, EndpointID: ev.EndpointID, URL: ev.URL, Reason: ev.Reason}
	if a := ev.LastAttempt; a != nil {
		d.LastAttempt = &operationalAttempt{ID: a.ID, MessageID: a.MessageID, ErrorDetail: a.Error, StartedAt: a.StartedAt.UTC()}
		if a.StatusCode != 0 {
			d.LastAttempt.StatusCode = &a.StatusCode
		}
		if a.ErrorClass != "" {
			d.LastAttempt.Error = &a.ErrorClass
		}
	}
	switch ev.Type {
	case EventAttemptExhausted:
		d.MessageID, d.EventType, d.Attempts = &ev.MessageID, ev.EventType, ev.Attempts
	case EventEndpointUpdated:
		d.Changed = ev.Changed
	}
	return json.Marshal(operationalPayload{Type: ev.Type, Timestamp: at.UTC().Truncate(time.Second), Data: d})
}

// Notify publishes ev to the operational endpoints that want its type.
// It does nothing when none does, and nothing for an endpoint of the
// operational tenant itself.
func (s *Service) Notify(ctx context.Context, ev OperationalEvent) error {
	m, ok, err := s.operationalMessage(ctx, s.store, ev)
	if err != nil || !ok {
		return err
	}
	_, _, err = s.Publish(ctx, m, nil)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the operational tenant went away meanwhile
	}
	if err != nil {
		return fmt.Errorf("notify %s: %w", ev.Type, err)
	}
	return nil
}

// NotifyTx is Notify inside the caller's transaction: the event is
// published if and only if tx commits.
func (s *Service) NotifyTx(ctx context.Context, tx pgx.Tx, ev OperationalEvent) error {
	m, ok, err := s.operationalMessage(ctx, s.store.WithTx(tx), ev)
	if err != nil || !ok {
		return err
	}
	res, err := s.publishTx(ctx, tx, []publishReq{{m: m}})
	if err == nil && !errors.Is(res[0].err, store.ErrNotFound) {
		err = res[0].err
	}
	if err != nil {
		return fmt.Errorf("notify %s: %w", ev.Type, err)
	}
	return nil
}

// operationalMessage is the message that carries ev, and false when no
// operational endpoint wants it.
func (s *Service) operationalMessage(ctx context.Context, st *store.Store, ev OperationalEvent) (store.Message, bool, error) {
	if ev.TenantID == store.OperationalTenant {
		return store.Message{}, false, nil
	}
	body, err := ev.payload()
	if err != nil {
		return store.Message{}, false, fmt.Errorf("notify: %w", err)
	}
	eps, err := st.FanoutEndpoints(ctx, store.OperationalTenant)
	if err != nil {
		return store.Message{}, false, fmt.Errorf("notify %s: %w", ev.Type, err)
	}
	if !slices.ContainsFunc(eps, func(e store.Endpoint) bool { return !e.Disabled && Matches(e, ev.Type, nil) }) {
		return store.Message{}, false, nil
	}
	return store.Message{TenantID: store.OperationalTenant, EventType: ev.Type, Payload: body, IdempotencyKey: ev.Key}, true, nil
}

// notifyExhausted tells the SaaS that a delivery gave up: its attempt,
// scheduled or of a backfill, was recorded as the last one. Manual
// re-sends of failed deliveries say nothing more. A failure to tell is
// logged: the attempt itself is recorded.
func (s *Service) notifyExhausted(ctx context.Context, wk store.Work, rec store.AttemptRecord, dec decision) {
	if rec.Status != store.DeliveryFailed || rec.Attempt.Trigger == store.TriggerManual {
		return
	}
	a := rec.Attempt
	n := wk.Delivery.Attempts + 1
	reason := fmt.Sprintf("the retry schedule is exhausted after %d attempts", n)
	_, abort := receiverAsks(a.ResponseHeaders)
	switch {
	case dec.disable != "":
		reason = "the endpoint was disabled: " + dec.disable
	case abort:
		reason = "the receiver asked to stop sending this message (webhook-delivery: abort-message)"
	case a.ErrorClass == ClassBlocked:
		reason = "the endpoint's address is blocked by the private-address guard"
	case a.ErrorClass == ClassVersion:
		reason = "the message has no payload of the version the endpoint pins"
	}
	sum := SummarizeAttempt(a)
	ev := OperationalEvent{Type: EventAttemptExhausted, TenantID: a.TenantID, EndpointID: a.EndpointID, URL: a.URL,
		Reason: reason, LastAttempt: sum, MessageID: a.MessageID, EventType: wk.Message.EventType, Attempts: n,
		At: time.Now(), Key: fmt.Sprintf("%s:%s:%d", EventAttemptExhausted, a.DeliveryID, n)}
	if err := s.Notify(context.WithoutCancel(ctx), ev); err != nil {
		s.logger.Warn("operational event not published", "type", ev.Type, "delivery", a.DeliveryID, "error", err)
	}
}
