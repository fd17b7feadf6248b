package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// Message is one published event of one tenant. Its ID is the webhook-id
// of every delivery of it.
type Message struct {
	ID        uuid.UUID `json:"id"`
	TenantID  string    `json:"tenant_id"`
	EventType string    `json:"event_type"`
	// Payload is the exact bytes that were published.
	Payload  json.RawMessage `json:"payload"`
	Channels []string        `json:"channels"`
	// IdempotencyKey is the key it was published with, or nil.
	IdempotencyKey *string   `json:"idempotency_key"`
	CreatedAt      time.Time `json:"created_at"`
	// Version is the version of the event type Payload is.
	Version int `json:"version"`
	// Payloads, when it was published with several, is each by version
	// (Version's included); nil otherwise, and in lists.
	Payloads map[int]json.RawMessage `json:"payloads,omitempty"`
	// ExpiresAt is when the message's own retention ends (nil: the
	// server's applies).
	ExpiresAt *time.Time `json:"expires_at"`
	// Expunged says its content was removed ([Client.ExpungeMessage]):
	// Payload is null, its attempts' response bodies are gone.
	Expunged   bool       `json:"expunged"`
	ExpungedAt *time.Time `json:"expunged_at"`
}

// Delivery is a message's state at one endpoint.
type Delivery struct {
	EndpointID uuid.UUID `json:"endpoint_id"`
	// Status is pending, succeeded or failed.
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	LastStatusCode *int       `json:"last_status_code"`
}

// MessageWithDeliveries is a message and where it is being delivered.
type MessageWithDeliveries struct {
	Message
	Deliveries []Delivery `json:"deliveries"`
}

// PublishParams is a message to publish.
type PublishParams struct {
	// EventType is a declared event type, like invoice.paid; required.
	EventType string `json:"event_type"`
	// Payload is encoded as JSON and must be an object: a struct, a map, or
	// a json.RawMessage sent as is. Required unless Payloads is set.
	Payload any `json:"payload,omitempty"`
	// Version is the version of the event type Payload is; 0 is the
	// latest.
	Version int `json:"version,omitempty"`
	// Payloads, instead of Payload, gives the payload in several versions
	// (at most 4): each endpoint is sent the version it pins, those that
	// pin none Version's (the latest unless set), which must be among them.
	Payloads map[int]any `json:"payloads,omitempty"`
	// Channels narrow who gets it to endpoints of these channels (or of
	// none).
	Channels []string `json:"channels,omitempty"`
	// IdempotencyKey makes publishing the same message twice return the
	// first (within the retention window). Empty has the client make one,
	// which is kept across its own retries.
	IdempotencyKey string `json:"-"`
	// Tenant, when set, has hookd create the tenant with the message if it
	// does not exist yet, with this name and metadata (an existing tenant
	// is left as it is), so that tenants need not be created beforehand.
	// Without it, publishing to an unknown tenant is a 404.
	Tenant *TenantParams `json:"tenant,omitempty"`
	// Retention, when set, is the message's own retention, shorter than
	// the server's: a number with a unit s, m, h or d, like "7d" or
	// "36h" (one minute at least). The message is deleted with its
	// deliveries and attempts when it has passed.
	Retention string `json:"retention,omitempty"`
}

// Publish publishes a message to a tenant's endpoints. The answer (202)
// means it is stored and will be delivered. It is sent with an
// idempotency key (p's, or one made up), so it is retried like the
// idempotent calls. Admin keys only.
func (c *Client) Publish(ctx context.Context, tenant string, p PublishParams) (*Message, error) {
	if err := need("tenant id", tenant); err != nil {
		return nil, err
	}
	key := p.IdempotencyKey
	if key == "" {
		key = uuid.NewString()
	}
	var out Message
	err := c.do(ctx, call{method: http.MethodPost, path: pathf("/api/v1/tenants/%s/messages", tenant),
		header: http.Header{"Idempotency-Key": {key}}, body: p, out: &out, retry: true})
	return ptr(out, err)
}

// GetMessage reads a message with its deliveries.
func (c *Client) GetMessage(ctx context.Context, tenant string, message uuid.UUID) (*MessageWithDeliveries, error) {
	if err := need("tenant id", tenant, "message id", message); err != nil {
		return nil, err
	}
	var out MessageWithDeliveries
	err := c.do(ctx, call{method: http.MethodGet, path: messagePath(tenant, message, ""), out: &out, retry: true})
	return ptr(out, err)
}

// ExpungeMessage removes a message's content, for a request to erase
// data: its payloads and its attempts' response bodies. Its metadata
// stays, marked expunged; it can no longer be resent. Admin keys only.
func (c *Client) ExpungeMessage(ctx context.Context, tenant string, message uuid.UUID) (*Message, error) {
	if err := need("tenant id", tenant, "message id", message); err != nil {
		return nil, err
	}
	var out Message
	err := c.do(ctx, call{method: http.MethodDelete, path: messagePath(tenant, message, "/content"), out: &out, retry: true})
	return ptr(out, err)
}

func messagePath(tenant string, message uuid.UUID, rest string) string {
	return pathf("/api/v1/tenants/%s/messages/", tenant) + message.String() + rest
}

// ListMessagesParams filters and pages ListMessages. Zero values do not
// filter.
type ListMessagesParams struct {
	Limit     int
	Cursor    string
	EventType string
	// Since and Until bound the messages' creation time.
	Since, Until time.Time
	// EndpointID keeps messages with a delivery to this endpoint.
	EndpointID uuid.UUID
	// Status keeps messages with a delivery in this status: pending,
	// succeeded, failed or parked.
	Status string
	// Channel keeps messages published on this channel.
	Channel string
}

func (p *ListMessagesParams) values() url.Values {
	if p == nil {
		return nil
	}
	q := ListParams{Limit: p.Limit, Cursor: p.Cursor}.values()
	setString(q, "event_type", p.EventType)
	setTime(q, "since", p.Since)
	setTime(q, "until", p.Until)
	if p.EndpointID != uuid.Nil {
		q.Set("endpoint_id", p.EndpointID.String())
	}
	setString(q, "status", p.Status)
	setString(q, "channel", p.Channel)
	return q
}

// ListMessages reads one page of a tenant's messages, newest first.
func (c *Client) ListMessages(ctx context.Context, tenant string, p *ListMessagesParams) (*Page[Message], error) {
	if err := need("tenant id", tenant); err != nil {
		return nil, err
	}
	var out Page[Message]
	err := c.do(ctx, call{method: http.MethodGet, path: pathf("/api/v1/tenants/%s/messages", tenant),
		query: p.values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllMessages iterates over a tenant's messages, newest first, from p's
// cursor on, following next_cursor page by page.
func (c *Client) AllMessages(ctx context.Context, tenant string, p *ListMessagesParams) iter.Seq2[Message, error] {
	q := ListMessagesParams{}
	if p != nil {
		q = *p
	}
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[Message], error) {
		q.Cursor = cursor
		return c.ListMessages(ctx, tenant, &q)
	})
}

// ResendParams narrows a resend to one endpoint; nil resends to all the
// message's endpoints.
type ResendParams struct {
	EndpointID uuid.UUID `json:"endpoint_id,omitzero"`
}

// ResendMessage sends a message again. The new attempts keep its
// webhook-id and have trigger manual.
func (c *Client) ResendMessage(ctx context.Context, tenant string, message uuid.UUID, p *ResendParams) (*Enqueued, error) {
	if err := need("tenant id", tenant, "message id", message); err != nil {
		return nil, err
	}
	cl := call{method: http.MethodPost, path: messagePath(tenant, message, "/resend")}
	if p != nil {
		cl.body = p
	}
	var out Enqueued
	cl.out = &out
	err := c.do(ctx, cl)
	return ptr(out, err)
}
