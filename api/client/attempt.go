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
}

// AttemptTimings break an attempt's duration down, in milliseconds.
type AttemptTimings struct {
	DNSMS     float64 `json:"dns_ms"`
	ConnectMS float64 `json:"connect_ms"`
	TLSMS     float64 `json:"tls_ms"`
	TTFBMS    float64 `json:"ttfb_ms"`
}

// ListMessageAttempts reads one page of a message's attempts.
func (c *Client) ListMessageAttempts(ctx context.Context, tenant string, message uuid.UUID, p *ListParams) (*Page[Attempt], error) {
	if err := need("tenant id", tenant, "message id", message); err != nil {
		return nil, err
	}
	var out Page[Attempt]
	err := c.do(ctx, call{method: http.MethodGet, path: messagePath(tenant, message, "/attempts"),
		query: p.orZero().values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllMessageAttempts iterates over a message's attempts from p's cursor on.
func (c *Client) AllMessageAttempts(ctx context.Context, tenant string, message uuid.UUID, p *ListParams) iter.Seq2[Attempt, error] {
	q := p.orZero()
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[Attempt], error) {
		q.Cursor = cursor
		return c.ListMessageAttempts(ctx, tenant, message, &q)
	})
}

// ListEndpointAttemptsParams filters and pages ListEndpointAttempts.
type ListEndpointAttemptsParams struct {
	Limit  int
	Cursor string
	// Status keeps only succeeded or failed attempts; empty keeps both.
	Status string
}

func (p *ListEndpointAttemptsParams) values() url.Values {
	if p == nil {
		return nil
	}
	q := ListParams{Limit: p.Limit, Cursor: p.Cursor}.values()
	setString(q, "status", p.Status)
	return q
}

// ListEndpointAttempts reads one page of the attempts to an endpoint.
func (c *Client) ListEndpointAttempts(ctx context.Context, tenant string, endpoint uuid.UUID, p *ListEndpointAttemptsParams) (*Page[Attempt], error) {
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
func (c *Client) AllEndpointAttempts(ctx context.Context, tenant string, endpoint uuid.UUID, p *ListEndpointAttemptsParams) iter.Seq2[Attempt, error] {
	q := ListEndpointAttemptsParams{}
	if p != nil {
		q = *p
	}
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[Attempt], error) {
		q.Cursor = cursor
		return c.ListEndpointAttempts(ctx, tenant, endpoint, &q)
	})
}
