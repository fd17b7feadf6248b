package client

import (
	"context"
	"net/http"
)

// Health is the answer of the liveness and readiness checks.
type Health struct {
	// Status is "ok".
	Status string `json:"status"`
	// Version is hookd's, on Health.
	Version string `json:"version,omitempty"`
}

// Health tells whether the hookd process is up (GET /healthz). It needs no
// key.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	var out Health
	err := c.do(ctx, call{method: http.MethodGet, path: "/healthz", out: &out, retry: true})
	return ptr(out, err)
}

// Ready tells whether hookd can serve: its database answers (GET /readyz).
// Not ready is an *Error with status 503. It needs no key, and is not
// retried: the answer is the point.
func (c *Client) Ready(ctx context.Context) (*Health, error) {
	var out Health
	err := c.do(ctx, call{method: http.MethodGet, path: "/readyz", out: &out})
	return ptr(out, err)
}

// Metrics returns hookd's Prometheus metrics in the text exposition format
// (GET /metrics).
func (c *Client) Metrics(ctx context.Context) (string, error) {
	var out []byte
	err := c.do(ctx, call{method: http.MethodGet, path: "/metrics", header: http.Header{"Accept": {"text/plain"}}, out: &out, retry: true})
	return string(out), err
}

// OpenAPI returns the API's OpenAPI 3.1 document (GET /api/openapi.json).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	var out []byte
	err := c.do(ctx, call{method: http.MethodGet, path: "/api/openapi.json", out: &out, retry: true})
	return out, err
}
