package client

import (
	"context"
	"iter"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// EndpointCheck is a receiver self-check: seven labelled requests to an
// endpoint and a report of eight rows.
type EndpointCheck struct {
	ID         uuid.UUID `json:"id"`
	EndpointID uuid.UUID `json:"endpoint_id"`
	URL        string    `json:"url"`
	// Status is running, finished or aborted (Error says why).
	Status string `json:"status"`
	// Verdict is pass, warn or fail (the worst row's) once finished, else nil.
	Verdict *string `json:"verdict"`
	Error   string  `json:"error"`
	// EventType is whose example the requests carry; nil for hookd's own body.
	EventType *string `json:"event_type"`
	Payload   string  `json:"payload"`
	// WebhookID is the webhook-id of the valid request and its duplicate.
	WebhookID  string     `json:"webhook_id"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
	// Results are the eight rows, in order: valid, fast, bad_signature,
	// tampered_body, stale_timestamp, future_timestamp, duplicate,
	// rotated_key.
	Results []EndpointCheckResult `json:"results"`
}

// EndpointCheckResult is one row of a check's report.
type EndpointCheckResult struct {
	// Name is the check, sent as the header webhook-check: <name>.
	Name    string `json:"name"`
	Title   string `json:"title"`
	Sent    string `json:"sent"`
	Expects string `json:"expects"`
	// Verdict is pass, warn, fail, or pending until judged.
	Verdict string `json:"verdict"`
	Got     string `json:"got"`
	// Fix says what to change on the receiver; empty on a pass.
	Fix string `json:"fix"`
	// Attempt is the request and its answer; nil while pending.
	Attempt *EndpointCheckAttempt `json:"attempt"`
}

// EndpointCheckAttempt is one request of a check and its answer.
type EndpointCheckAttempt struct {
	// Trigger is always check.
	Trigger               string              `json:"trigger"`
	URL                   string              `json:"url"`
	RequestHeaders        map[string][]string `json:"request_headers"`
	StatusCode            *int                `json:"status_code"`
	ResponseHeaders       map[string][]string `json:"response_headers"`
	ResponseBody          string              `json:"response_body"`
	ResponseBodyTruncated bool                `json:"response_body_truncated"`
	Error                 *string             `json:"error"`
	ErrorDetail           string              `json:"error_detail"`
	DurationMS            int64               `json:"duration_ms"`
	Timings               AttemptTimings      `json:"timings"`
	RemoteAddr            string              `json:"remote_addr"`
	StartedAt             time.Time           `json:"started_at"`
}

// StartCheckParams chooses what a check sends; nil means the defaults.
type StartCheckParams struct {
	// EventType is whose example the requests carry; empty picks the first
	// event type the endpoint wants that has one.
	EventType string `json:"event_type,omitempty"`
}

// StartEndpointCheck starts a receiver self-check of an endpoint and
// returns it, running: poll GetEndpointCheck until its Status is no longer
// running. One check per endpoint per minute, one at a time: a second one
// sooner is a 429 *Error whose Detail says when to try again.
func (c *Client) StartEndpointCheck(ctx context.Context, tenant string, endpoint uuid.UUID, p *StartCheckParams) (*EndpointCheck, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	cl := call{method: http.MethodPost, path: endpointPath(tenant, endpoint, "/check")}
	if p != nil {
		cl.body = p
	}
	var out EndpointCheck
	cl.out = &out
	return ptr(out, c.do(ctx, cl))
}

// GetEndpointCheck reads a check with its rows so far.
func (c *Client) GetEndpointCheck(ctx context.Context, tenant string, endpoint, check uuid.UUID) (*EndpointCheck, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint, "check id", check); err != nil {
		return nil, err
	}
	var out EndpointCheck
	err := c.do(ctx, call{method: http.MethodGet, path: endpointPath(tenant, endpoint, "/checks/"+check.String()),
		out: &out, retry: true})
	return ptr(out, err)
}

// ListEndpointChecks reads one page of an endpoint's checks, newest first.
func (c *Client) ListEndpointChecks(ctx context.Context, tenant string, endpoint uuid.UUID, p *ListParams) (*Page[EndpointCheck], error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out Page[EndpointCheck]
	err := c.do(ctx, call{method: http.MethodGet, path: endpointPath(tenant, endpoint, "/checks"),
		query: p.orZero().values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllEndpointChecks iterates over an endpoint's checks from p's cursor on.
func (c *Client) AllEndpointChecks(ctx context.Context, tenant string, endpoint uuid.UUID, p *ListParams) iter.Seq2[EndpointCheck, error] {
	q := p.orZero()
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[EndpointCheck], error) {
		q.Cursor = cursor
		return c.ListEndpointChecks(ctx, tenant, endpoint, &q)
	})
}
