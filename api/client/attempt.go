package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// Attempt is one HTTP try of a delivery, as the receiver answered it.
type Attempt struct {
	ID         uuid.UUID `json:"id"`
	MessageID  uuid.UUID `json:"message_id"`
	EndpointID uuid.UUID `json:"endpoint_id"`
	// Attempt counts the delivery's attempts from 1.
	Attempt int `json:"attempt"`
	// Trigger is scheduled or manual (a resend, recover or replay).
	Trigger string `json:"trigger"`
	// Status is succeeded or failed.
	Status string `json:"status"`
	// StatusCode is the receiver's, or nil when it did not answer.
	StatusCode            *int                `json:"status_code"`
	URL                   string              `json:"url"`
	RemoteAddr            string              `json:"remote_addr"`
	RequestHeaders        map[string][]string `json:"request_headers"`
	ResponseHeaders       map[string][]string `json:"response_headers"`
	ResponseBody          string              `json:"response_body"`
	ResponseBodyTruncated bool                `json:"response_body_truncated"`
	// Error is the class of failure without an answer (timeout, connect,
	// dns, tls, blocked, ...), or nil.
	Error       *string        `json:"error"`
	ErrorDetail string         `json:"error_detail"`
	DurationMS  int64          `json:"duration_ms"`
	Timings     AttemptTimings `json:"timings"`
	StartedAt   time.Time      `json:"started_at"`
	// Expunged says its response body was removed with its message's
	// content.
	Expunged bool `json:"expunged"`
}

// AttemptTimings break an attempt's duration down, in milliseconds.
type AttemptTimings struct {
	DNSMS     float64 `json:"dns_ms"`
	ConnectMS float64 `json:"connect_ms"`
	TLSMS     float64 `json:"tls_ms"`
	TTFBMS    float64 `json:"ttfb_ms"`
}

// ListAttemptsParams filters and pages a list of attempts. Zero values do
// not filter.
type ListAttemptsParams struct {
	Limit  int
	Cursor string
	// Status keeps only succeeded or failed attempts; empty keeps both.
	Status string
	// StatusClass keeps attempts whose answer was 2xx, 3xx, 4xx or 5xx, or,
	// with "error", attempts that got no answer.
	StatusClass string
	// EventType keeps attempts of messages of this event type.
	EventType string
	// Since and Until bound when the attempts started.
	Since, Until time.Time
}

func (p *ListAttemptsParams) values() url.Values {
	if p == nil {
		return nil
	}
	q := ListParams{Limit: p.Limit, Cursor: p.Cursor}.values()
	setString(q, "status", p.Status)
	setString(q, "status_class", p.StatusClass)
	setString(q, "event_type", p.EventType)
	setTime(q, "since", p.Since)
	setTime(q, "until", p.Until)
	return q
}

// GetAttempt reads one attempt of a tenant's.
func (c *Client) GetAttempt(ctx context.Context, tenant string, attempt uuid.UUID) (*Attempt, error) {
	if err := need("tenant id", tenant, "attempt id", attempt); err != nil {
		return nil, err
	}
	var out Attempt
	err := c.do(ctx, call{method: http.MethodGet, path: pathf("/api/v1/tenants/%s/attempts/", tenant) + attempt.String(),
		out: &out, retry: true})
	return ptr(out, err)
}

// ListMessageAttempts reads one page of a message's attempts.
func (c *Client) ListMessageAttempts(ctx context.Context, tenant string, message uuid.UUID, p *ListAttemptsParams) (*Page[Attempt], error) {
	if err := need("tenant id", tenant, "message id", message); err != nil {
		return nil, err
	}
	var out Page[Attempt]
	err := c.do(ctx, call{method: http.MethodGet, path: messagePath(tenant, message, "/attempts"),
		query: p.values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllMessageAttempts iterates over a message's attempts from p's cursor on.
func (c *Client) AllMessageAttempts(ctx context.Context, tenant string, message uuid.UUID, p *ListAttemptsParams) iter.Seq2[Attempt, error] {
	q := p.orZero()
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[Attempt], error) {
		q.Cursor = cursor
		return c.ListMessageAttempts(ctx, tenant, message, &q)
	})
}

// ListEndpointAttempts reads one page of the attempts to an endpoint.
func (c *Client) ListEndpointAttempts(ctx context.Context, tenant string, endpoint uuid.UUID, p *ListAttemptsParams) (*Page[Attempt], error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out Page[Attempt]
	err := c.do(ctx, call{method: http.MethodGet, path: endpointPath(tenant, endpoint, "/attempts"),
		query: p.values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllEndpointAttempts iterates over the attempts to an endpoint from p's
// cursor on.
func (c *Client) AllEndpointAttempts(ctx context.Context, tenant string, endpoint uuid.UUID, p *ListAttemptsParams) iter.Seq2[Attempt, error] {
	q := p.orZero()
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[Attempt], error) {
		q.Cursor = cursor
		return c.ListEndpointAttempts(ctx, tenant, endpoint, &q)
	})
}

func (p *ListAttemptsParams) orZero() ListAttemptsParams {
	if p == nil {
		return ListAttemptsParams{}
	}
	return *p
}
