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

// Versioned payloads: an event type has numbered versions, a publish says
// which version its payload is (or gives several, Payloads), and an
// endpoint may pin a version per event type (VersionPins). Every delivery
// carries its version in the webhook-version header.

// EventTypeVersion is one version of an event type.
type EventTypeVersion struct {
	// Schema is the version's JSON Schema, or JSON null.
	Schema json.RawMessage `json:"schema"`
	// Example is its example payload, or JSON null.
	Example json.RawMessage `json:"example"`
	// Changes says what changed from the version before.
	Changes string `json:"changes"`
	// DeprecatedAt is when it was (or will be) deprecated, or nil.
	DeprecatedAt *time.Time `json:"deprecated_at"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// VersionParams adds a version or changes one; fields left nil keep their
// value.
type VersionParams struct {
	// Schema is the version's JSON Schema; json.RawMessage("null") removes it.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Example is its example; json.RawMessage("null") removes it.
	Example json.RawMessage `json:"example,omitempty"`
	Changes *string         `json:"changes,omitempty"`
	// DeprecatedAt deprecates the version as of then; the zero time
	// (with Undeprecate) or nil leaves it.
	DeprecatedAt *time.Time `json:"-"`
	// Undeprecate removes a deprecation (sends deprecated_at null).
	Undeprecate bool `json:"-"`
}

// MarshalJSON sends DeprecatedAt, or null for Undeprecate.
func (p VersionParams) MarshalJSON() ([]byte, error) {
	type plain VersionParams
	w := struct {
		plain
		DeprecatedAt json.RawMessage `json:"deprecated_at,omitempty"`
	}{plain: plain(p)}
	switch {
	case p.Undeprecate:
		w.DeprecatedAt = json.RawMessage("null")
	case p.DeprecatedAt != nil:
		w.DeprecatedAt = json.RawMessage(strconv.Quote(p.DeprecatedAt.UTC().Format(time.RFC3339Nano)))
	}
	return json.Marshal(w)
}

// PinnedEndpoint is an endpoint that pins a version.
type PinnedEndpoint struct {
	ID        uuid.UUID `json:"id"`
	TenantID  string    `json:"tenant_id"`
	URL       string    `json:"url"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// ListVersionEndpoints reads one page of the endpoints, of every tenant,
// that pin a version of an event type (who still uses a deprecated one),
// oldest first. Admin keys only.
func (c *Client) ListVersionEndpoints(ctx context.Context, eventType string, version int, p *ListParams) (*Page[PinnedEndpoint], error) {
	if err := need("event type name", eventType); err != nil {
		return nil, err
	}
	var out Page[PinnedEndpoint]
	err := c.do(ctx, call{method: http.MethodGet,
		path:  pathf("/api/v1/event-types/%s/versions/", eventType) + strconv.Itoa(version) + "/endpoints",
		query: p.orZero().values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllVersionEndpoints iterates over the endpoints that pin a version, from
// p's cursor on.
func (c *Client) AllVersionEndpoints(ctx context.Context, eventType string, version int, p *ListParams) iter.Seq2[PinnedEndpoint, error] {
	q := p.orZero()
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[PinnedEndpoint], error) {
		q.Cursor = cursor
		return c.ListVersionEndpoints(ctx, eventType, version, &q)
	})
}

// SendTestEventVersion is SendTestEvent of one version's example, whatever
// the endpoint pins: try a version before pinning it.
func (c *Client) SendTestEventVersion(ctx context.Context, tenant string, endpoint uuid.UUID, eventType string, version int) (*TestEvent, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out TestEvent
	err := c.do(ctx, call{method: http.MethodPost, path: endpointPath(tenant, endpoint, "/test"),
		body: map[string]any{"event_type": eventType, "version": version}, out: &out})
	return ptr(out, err)
}
