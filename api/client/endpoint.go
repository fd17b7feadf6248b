package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Endpoint is where one tenant wants webhooks.
type Endpoint struct {
	ID          uuid.UUID `json:"id"`
	TenantID    string    `json:"tenant_id"`
	URL         string    `json:"url"`
	Description string    `json:"description"`
	// EventTypes are the event types it gets (names or prefixes like
	// invoice.*); empty gets all.
	EventTypes []string `json:"event_types"`
	// Channels are the channels it gets; empty gets all.
	Channels []string `json:"channels"`
	// Headers go out with every delivery.
	Headers map[string]string `json:"headers"`
	// RateLimit is the most messages a second it gets, or nil for no limit.
	RateLimit      *int   `json:"rate_limit"`
	Disabled       bool   `json:"disabled"`
	DisabledReason string `json:"disabled_reason"`
	// SignatureScheme is v1 (HMAC-SHA256) or v1a (ed25519).
	SignatureScheme string         `json:"signature_scheme"`
	Metadata        map[string]any `json:"metadata"`
	CreatedAt       time.Time      `json:"created_at"`
	UpdatedAt       time.Time      `json:"updated_at"`
	// Backfill is set in CreateEndpoint's answer when p.BackfillSince was
	// given: the past messages queued for the new endpoint.
	Backfill *Backfill `json:"backfill,omitempty"`
	// VersionPins is the version of each event type it is sent; those it
	// does not name are sent in the message's version.
	VersionPins map[string]int `json:"version_pins"`
}

// EndpointParams creates an endpoint. Only URL is required.
type EndpointParams struct {
	URL         string            `json:"url"`
	Description string            `json:"description,omitempty"`
	EventTypes  []string          `json:"event_types,omitempty"`
	Channels    []string          `json:"channels,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
	// RateLimit is messages a second; 0 is no limit.
	RateLimit int            `json:"rate_limit,omitempty"`
	Disabled  bool           `json:"disabled,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	// Secret is the signing secret (whsec_...); empty has hookd make one.
	Secret string `json:"secret,omitempty"`
	// SignatureScheme is v1 (the default) or v1a.
	SignatureScheme string `json:"signature_scheme,omitempty"`
	// BackfillSince, when set, also sends the new endpoint the messages
	// since then that it matches, as BackfillEndpoint does.
	BackfillSince time.Time `json:"backfill_since,omitzero"`
	// VersionPins pins versions by event type name, like
	// {"invoice.paid": 1}.
	VersionPins map[string]int `json:"version_pins,omitempty"`
}

// EndpointUpdate changes an endpoint; nil fields are left as they are. An
// empty, non-nil EventTypes or Channels means all.
type EndpointUpdate struct {
	URL         *string           `json:"url,omitempty"`
	Description *string           `json:"description,omitempty"`
	EventTypes  []string          `json:"event_types,omitzero"`
	Channels    []string          `json:"channels,omitzero"`
	Headers     map[string]string `json:"headers,omitzero"`
	// RateLimit sets the limit in messages a second; a pointer to 0 removes
	// it.
	RateLimit *int `json:"-"`
	// Disabled disables (true) or enables (false) the endpoint.
	Disabled       *bool          `json:"disabled,omitempty"`
	DisabledReason *string        `json:"disabled_reason,omitempty"`
	Metadata       map[string]any `json:"metadata,omitzero"`
	// VersionPins replaces the pins; an empty, non-nil map removes them.
	VersionPins map[string]int `json:"version_pins,omitzero"`
}

// MarshalJSON sends a RateLimit of 0 as null, which removes the limit.
func (u EndpointUpdate) MarshalJSON() ([]byte, error) {
	type plain EndpointUpdate
	w := struct {
		plain
		RateLimit json.RawMessage `json:"rate_limit,omitempty"`
	}{plain: plain(u)}
	switch {
	case u.RateLimit == nil:
	case *u.RateLimit == 0:
		w.RateLimit = json.RawMessage("null")
	default:
		w.RateLimit = json.RawMessage(strconv.Itoa(*u.RateLimit))
	}
	return json.Marshal(w)
}

func endpointPath(tenant string, endpoint uuid.UUID, rest string) string {
	return pathf("/api/v1/tenants/%s/endpoints/", tenant) + endpoint.String() + rest
}

// CreateEndpoint adds an endpoint to a tenant. Its signing secret is made
// unless p gives one; read it with GetEndpointSecret.
func (c *Client) CreateEndpoint(ctx context.Context, tenant string, p EndpointParams) (*Endpoint, error) {
	if err := need("tenant id", tenant); err != nil {
		return nil, err
	}
	var out Endpoint
	err := c.do(ctx, call{method: http.MethodPost, path: pathf("/api/v1/tenants/%s/endpoints", tenant), body: p, out: &out})
	return ptr(out, err)
}

// GetEndpoint reads an endpoint.
func (c *Client) GetEndpoint(ctx context.Context, tenant string, endpoint uuid.UUID) (*Endpoint, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out Endpoint
	err := c.do(ctx, call{method: http.MethodGet, path: endpointPath(tenant, endpoint, ""), out: &out, retry: true})
	return ptr(out, err)
}

// UpdateEndpoint changes an endpoint. Its secret changes only through
// RotateEndpointSecret.
func (c *Client) UpdateEndpoint(ctx context.Context, tenant string, endpoint uuid.UUID, p EndpointUpdate) (*Endpoint, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out Endpoint
	err := c.do(ctx, call{method: http.MethodPatch, path: endpointPath(tenant, endpoint, ""), body: p, out: &out})
	return ptr(out, err)
}

// DeleteEndpoint deletes an endpoint.
func (c *Client) DeleteEndpoint(ctx context.Context, tenant string, endpoint uuid.UUID) error {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: endpointPath(tenant, endpoint, ""), retry: true})
}

// ListEndpoints reads one page of a tenant's endpoints.
func (c *Client) ListEndpoints(ctx context.Context, tenant string, p *ListParams) (*Page[Endpoint], error) {
	if err := need("tenant id", tenant); err != nil {
		return nil, err
	}
	var out Page[Endpoint]
	err := c.do(ctx, call{method: http.MethodGet, path: pathf("/api/v1/tenants/%s/endpoints", tenant),
		query: p.orZero().values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllEndpoints iterates over every endpoint of a tenant from p's cursor on.
func (c *Client) AllEndpoints(ctx context.Context, tenant string, p *ListParams) iter.Seq2[Endpoint, error] {
	q := p.orZero()
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[Endpoint], error) {
		q.Cursor = cursor
		return c.ListEndpoints(ctx, tenant, &q)
	})
}

// EndpointSecret is what a receiver verifies signatures with: the signing
// secret (whsec_...) of a v1 endpoint, or the public key (whpk_...) of a
// v1a one.
type EndpointSecret struct {
	Secret    string `json:"secret,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
}

// GetEndpointSecret reads an endpoint's current signing secret.
func (c *Client) GetEndpointSecret(ctx context.Context, tenant string, endpoint uuid.UUID) (*EndpointSecret, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out EndpointSecret
	err := c.do(ctx, call{method: http.MethodGet, path: endpointPath(tenant, endpoint, "/secret"), out: &out, retry: true})
	return ptr(out, err)
}

// RotateSecretParams rotates a signing secret; nil means the defaults.
type RotateSecretParams struct {
	// Secret is the new secret (whsec_...); empty has hookd make one.
	Secret string `json:"secret,omitempty"`
	// GracePeriodSeconds is how long the old secret keeps signing too:
	// 0 to 604800 (nil: 86400, a day).
	GracePeriodSeconds *int `json:"grace_period_seconds,omitempty"`
}

// RotateEndpointSecret gives an endpoint a new signing secret and returns
// it. During the grace period deliveries carry both signatures.
func (c *Client) RotateEndpointSecret(ctx context.Context, tenant string, endpoint uuid.UUID, p *RotateSecretParams) (*EndpointSecret, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	cl := call{method: http.MethodPost, path: endpointPath(tenant, endpoint, "/secret/rotate")}
	if p != nil {
		cl.body = p
	}
	var out EndpointSecret
	cl.out = &out
	err := c.do(ctx, cl)
	return ptr(out, err)
}

// RecoverParams is the window of RecoverEndpoint: deliveries created since
// Since (required) and before Until (zero: now).
type RecoverParams struct {
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

// Enqueued answers a resend or recover: how many deliveries went back on
// the queue, and the replay that records it (see GetReplay).
type Enqueued struct {
	Enqueued int       `json:"enqueued"`
	ReplayID uuid.UUID `json:"replay_id"`
}

// RecoverEndpoint sends again an endpoint's failed deliveries of a window,
// for when it is back up.
func (c *Client) RecoverEndpoint(ctx context.Context, tenant string, endpoint uuid.UUID, p RecoverParams) (*Enqueued, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out Enqueued
	err := c.do(ctx, call{method: http.MethodPost, path: endpointPath(tenant, endpoint, "/recover"), body: p, out: &out})
	return ptr(out, err)
}

// EndpointStats is an endpoint's health over the last 24 hours.
type EndpointStats struct {
	EndpointID   uuid.UUID `json:"endpoint_id"`
	Attempts24h  int       `json:"attempts_24h"`
	Succeeded24h int       `json:"succeeded_24h"`
	// SuccessRate24h is from 0 to 1, nil without attempts.
	SuccessRate24h *float64   `json:"success_rate_24h"`
	LastStatusCode *int       `json:"last_status_code"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
}

// GetEndpointStats reads an endpoint's health over 24 hours.
func (c *Client) GetEndpointStats(ctx context.Context, tenant string, endpoint uuid.UUID) (*EndpointStats, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out EndpointStats
	err := c.do(ctx, call{method: http.MethodGet, path: endpointPath(tenant, endpoint, "/stats"), out: &out, retry: true})
	return ptr(out, err)
}

// TestEvent is a test message just sent.
type TestEvent struct {
	MessageID uuid.UUID `json:"message_id"`
}

// SendTestEvent publishes a message of eventType with its example payload
// ({} without one) and delivers it to this endpoint only, whatever its
// filters. A disabled endpoint answers 409.
func (c *Client) SendTestEvent(ctx context.Context, tenant string, endpoint uuid.UUID, eventType string) (*TestEvent, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out TestEvent
	err := c.do(ctx, call{method: http.MethodPost, path: endpointPath(tenant, endpoint, "/test"),
		body: map[string]string{"event_type": eventType}, out: &out})
	return ptr(out, err)
}
