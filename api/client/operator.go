package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// The operators' views across tenants (the console's): failing endpoints,
// deliveries and the queue. Admin keys only.

// FailingEndpoint is an endpoint that is disabled or whose latest attempt
// failed.
type FailingEndpoint struct {
	Endpoint
	LastStatusCode  *int       `json:"last_status_code"`
	LastError       *string    `json:"last_error"`
	LastErrorDetail string     `json:"last_error_detail"`
	LastAttemptAt   *time.Time `json:"last_attempt_at"`
	// ProblemAt is when it started failing or was disabled.
	ProblemAt        time.Time `json:"problem_at"`
	FailedDeliveries int       `json:"failed_deliveries"`
}

// ListFailingEndpoints reads one page of failing endpoints across tenants,
// newest problem first. Admin keys only.
func (c *Client) ListFailingEndpoints(ctx context.Context, p *ListParams) (*Page[FailingEndpoint], error) {
	var out Page[FailingEndpoint]
	err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/endpoints/failing", query: p.orZero().values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllFailingEndpoints iterates over the failing endpoints from p's cursor
// on.
func (c *Client) AllFailingEndpoints(ctx context.Context, p *ListParams) iter.Seq2[FailingEndpoint, error] {
	q := p.orZero()
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[FailingEndpoint], error) {
		q.Cursor = cursor
		return c.ListFailingEndpoints(ctx, &q)
	})
}

// DeliveryEntry is one delivery in the operators' log.
type DeliveryEntry struct {
	ID          uuid.UUID `json:"id"`
	TenantID    string    `json:"tenant_id"`
	MessageID   uuid.UUID `json:"message_id"`
	EndpointID  uuid.UUID `json:"endpoint_id"`
	EndpointURL string    `json:"endpoint_url"`
	EventType   string    `json:"event_type"`
	// Status is pending, succeeded or failed.
	Status          string     `json:"status"`
	Attempts        int        `json:"attempts"`
	NextAttemptAt   *time.Time `json:"next_attempt_at"`
	LastStatusCode  *int       `json:"last_status_code"`
	LastError       *string    `json:"last_error"`
	LastErrorDetail string     `json:"last_error_detail"`
	LastAttemptAt   *time.Time `json:"last_attempt_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// ListDeliveriesParams filters and pages ListDeliveries. Zero values do
// not filter.
type ListDeliveriesParams struct {
	Limit  int
	Cursor string
	// Status is pending, succeeded or failed.
	Status     string
	TenantID   string
	EndpointID uuid.UUID
	EventType  string
	// Since and Until bound the deliveries' creation time.
	Since, Until time.Time
}

func (p *ListDeliveriesParams) values() url.Values {
	if p == nil {
		return nil
	}
	q := ListParams{Limit: p.Limit, Cursor: p.Cursor}.values()
	setString(q, "status", p.Status)
	setString(q, "tenant_id", p.TenantID)
	if p.EndpointID != uuid.Nil {
		q.Set("endpoint_id", p.EndpointID.String())
	}
	setString(q, "event_type", p.EventType)
	setTime(q, "since", p.Since)
	setTime(q, "until", p.Until)
	return q
}

// ListDeliveries reads one page of deliveries across tenants. Admin keys
// only.
func (c *Client) ListDeliveries(ctx context.Context, p *ListDeliveriesParams) (*Page[DeliveryEntry], error) {
	var out Page[DeliveryEntry]
	err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/deliveries", query: p.values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllDeliveries iterates over the deliveries that match p from its cursor
// on.
func (c *Client) AllDeliveries(ctx context.Context, p *ListDeliveriesParams) iter.Seq2[DeliveryEntry, error] {
	q := ListDeliveriesParams{}
	if p != nil {
		q = *p
	}
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[DeliveryEntry], error) {
		q.Cursor = cursor
		return c.ListDeliveries(ctx, &q)
	})
}

// QueueStatus is the job queue (River's) by queue and state.
type QueueStatus struct {
	Queues []Queue `json:"queues"`
	// At is when it was read.
	At time.Time `json:"at"`
}

// Queue is one queue's jobs.
type Queue struct {
	Name   string      `json:"name"`
	Counts QueueCounts `json:"counts"`
	// OldestAvailableAt is when the job waiting longest became available,
	// nil when none waits; OldestAvailableAgeSeconds is how long ago.
	OldestAvailableAt         *time.Time `json:"oldest_available_at"`
	OldestAvailableAgeSeconds *float64   `json:"oldest_available_age_seconds"`
}

// QueueCounts are a queue's jobs by state.
type QueueCounts struct {
	Available int `json:"available"`
	Running   int `json:"running"`
	Scheduled int `json:"scheduled"`
	Retryable int `json:"retryable"`
	Pending   int `json:"pending"`
	Completed int `json:"completed"`
	Cancelled int `json:"cancelled"`
	Discarded int `json:"discarded"`
}

// GetQueue reads the job queue's status. Admin keys only.
func (c *Client) GetQueue(ctx context.Context) (*QueueStatus, error) {
	var out QueueStatus
	err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/queue", out: &out, retry: true})
	return ptr(out, err)
}
