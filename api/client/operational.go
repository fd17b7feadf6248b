package client

import (
	"context"
	"iter"
	"net/http"

	"github.com/google/uuid"
)

// Operational endpoints are the SaaS's own endpoints, where hookd tells it
// what happens to its customers' endpoints: endpoint.failing,
// endpoint.disabled, endpoint.recovered, endpoint.created,
// endpoint.updated, endpoint.deleted, endpoint.secret_rotated and
// message.attempt.exhausted (their payloads are in the `webhooks` of the
// OpenAPI document). They are Endpoints of the tenant hookd:operational,
// signed, retried and logged like any other. Admin keys only.

// OperationalTenant is the tenant id of operational endpoints.
const OperationalTenant = "hookd:operational"

func operationalPath(endpoint uuid.UUID, rest string) string {
	return "/api/v1/operational-endpoints/" + endpoint.String() + rest
}

// CreateOperationalEndpoint adds an operational endpoint. p.EventTypes
// chooses among the operational event types (or prefixes like endpoint.*;
// empty is all); p.Channels must be empty.
func (c *Client) CreateOperationalEndpoint(ctx context.Context, p EndpointParams) (*Endpoint, error) {
	var out Endpoint
	err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/operational-endpoints", body: p, out: &out})
	return ptr(out, err)
}

// GetOperationalEndpoint reads an operational endpoint.
func (c *Client) GetOperationalEndpoint(ctx context.Context, endpoint uuid.UUID) (*Endpoint, error) {
	if err := need("endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out Endpoint
	err := c.do(ctx, call{method: http.MethodGet, path: operationalPath(endpoint, ""), out: &out, retry: true})
	return ptr(out, err)
}

// UpdateOperationalEndpoint changes an operational endpoint.
func (c *Client) UpdateOperationalEndpoint(ctx context.Context, endpoint uuid.UUID, p EndpointUpdate) (*Endpoint, error) {
	if err := need("endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out Endpoint
	err := c.do(ctx, call{method: http.MethodPatch, path: operationalPath(endpoint, ""), body: p, out: &out})
	return ptr(out, err)
}

// DeleteOperationalEndpoint deletes an operational endpoint.
func (c *Client) DeleteOperationalEndpoint(ctx context.Context, endpoint uuid.UUID) error {
	if err := need("endpoint id", endpoint); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: operationalPath(endpoint, ""), retry: true})
}

// ListOperationalEndpoints reads one page of the operational endpoints.
func (c *Client) ListOperationalEndpoints(ctx context.Context, p *ListParams) (*Page[Endpoint], error) {
	var out Page[Endpoint]
	err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/operational-endpoints", query: p.orZero().values(),
		out: &out, retry: true})
	return ptr(out, err)
}

// AllOperationalEndpoints iterates over the operational endpoints from p's
// cursor on.
func (c *Client) AllOperationalEndpoints(ctx context.Context, p *ListParams) iter.Seq2[Endpoint, error] {
	q := p.orZero()
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[Endpoint], error) {
		q.Cursor = cursor
		return c.ListOperationalEndpoints(ctx, &q)
	})
}

// GetOperationalEndpointSecret reads the secret that signs what an
// operational endpoint gets.
func (c *Client) GetOperationalEndpointSecret(ctx context.Context, endpoint uuid.UUID) (*EndpointSecret, error) {
	if err := need("endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out EndpointSecret
	err := c.do(ctx, call{method: http.MethodGet, path: operationalPath(endpoint, "/secret"), out: &out, retry: true})
	return ptr(out, err)
}

// RotateOperationalEndpointSecret gives an operational endpoint a new
// signing secret; p may be nil.
func (c *Client) RotateOperationalEndpointSecret(ctx context.Context, endpoint uuid.UUID, p *RotateSecretParams) (*EndpointSecret, error) {
	if err := need("endpoint id", endpoint); err != nil {
		return nil, err
	}
	cl := call{method: http.MethodPost, path: operationalPath(endpoint, "/secret/rotate")}
	if p != nil {
		cl.body = p
	}
	var out EndpointSecret
	cl.out = &out
	err := c.do(ctx, cl)
	return ptr(out, err)
}

// ListOperationalEndpointAttempts reads one page of the attempts to an
// operational endpoint.
func (c *Client) ListOperationalEndpointAttempts(ctx context.Context, endpoint uuid.UUID, p *ListAttemptsParams) (*Page[Attempt], error) {
	if err := need("endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out Page[Attempt]
	err := c.do(ctx, call{method: http.MethodGet, path: operationalPath(endpoint, "/attempts"), query: p.values(),
		out: &out, retry: true})
	return ptr(out, err)
}

// AllOperationalEndpointAttempts iterates over the attempts to an
// operational endpoint from p's cursor on.
func (c *Client) AllOperationalEndpointAttempts(ctx context.Context, endpoint uuid.UUID, p *ListAttemptsParams) iter.Seq2[Attempt, error] {
	q := p.orZero()
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[Attempt], error) {
		q.Cursor = cursor
		return c.ListOperationalEndpointAttempts(ctx, endpoint, &q)
	})
}
