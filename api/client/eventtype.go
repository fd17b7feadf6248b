package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"time"
)

// EventType is a kind of message, like invoice.paid, declared before it is
// published.
type EventType struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Schema is the JSON Schema that payloads must match, or JSON null.
	Schema json.RawMessage `json:"schema"`
	// Example is an example payload, or JSON null; test events send it.
	Example   json.RawMessage `json:"example"`
	Archived  bool            `json:"archived"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	// Version is the latest version, which Schema and Example are of;
	// Versions holds every version by number (see version.go).
	Version  int                      `json:"version"`
	Versions map[int]EventTypeVersion `json:"versions"`
}

// EventTypeParams creates an event type.
type EventTypeParams struct {
	// Name is dot-separated segments of letters, digits, _ and -; required.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Schema, when set, is a JSON Schema object that payloads must match.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Example, when set, is a JSON object (matching Schema).
	Example json.RawMessage `json:"example,omitempty"`
	// Versions, instead of Schema and Example, declares versions by
	// number; the highest is the latest.
	Versions map[int]VersionParams `json:"versions,omitempty"`
}

// EventTypeUpdate changes an event type; nil fields are left as they are.
type EventTypeUpdate struct {
	Description *string `json:"description,omitempty"`
	// Schema replaces the schema; json.RawMessage("null") removes it.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Example replaces the example; json.RawMessage("null") removes it.
	Example json.RawMessage `json:"example,omitempty"`
	// Archived archives (true) or restores (false) the event type.
	Archived *bool `json:"archived,omitempty"`
	// Versions adds versions or changes them (those left out are kept);
	// not together with Schema or Example, which are the latest's.
	Versions map[int]VersionParams `json:"versions,omitempty"`
}

// EventTypePut is the whole of an event type, for PutEventType: what it
// leaves out takes its default (no description, schema or example; not
// archived).
type EventTypePut struct {
	Description string `json:"description,omitempty"`
	// Schema, when set, is a JSON Schema object that payloads must match.
	Schema json.RawMessage `json:"schema,omitempty"`
	// Example, when set, is a JSON object (matching Schema).
	Example json.RawMessage `json:"example,omitempty"`
	// Archived archives the event type; false (the default) keeps it, or
	// makes it again, publishable.
	Archived bool `json:"archived,omitempty"`
}

// PutEventType creates the event type name or replaces it with p
// (PUT /api/v1/event-types/{name}): event types as code. Calling it again
// with the same p changes nothing, so a deploy can declare every event
// type it publishes. Admin keys only.
func (c *Client) PutEventType(ctx context.Context, name string, p EventTypePut) (*EventType, error) {
	if err := need("event type name", name); err != nil {
		return nil, err
	}
	var out EventType
	err := c.do(ctx, call{method: http.MethodPut, path: pathf("/api/v1/event-types/%s", name), body: p, out: &out, retry: true})
	return ptr(out, err)
}

// CreateEventType declares an event type. An event type of that name
// (archived or not) answers 409 (see IsConflict). Admin keys only.
func (c *Client) CreateEventType(ctx context.Context, p EventTypeParams) (*EventType, error) {
	var out EventType
	err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/event-types", body: p, out: &out})
	return ptr(out, err)
}

// GetEventType reads an event type.
func (c *Client) GetEventType(ctx context.Context, name string) (*EventType, error) {
	if err := need("event type name", name); err != nil {
		return nil, err
	}
	var out EventType
	err := c.do(ctx, call{method: http.MethodGet, path: pathf("/api/v1/event-types/%s", name), out: &out, retry: true})
	return ptr(out, err)
}

// UpdateEventType changes an event type. Admin keys only.
func (c *Client) UpdateEventType(ctx context.Context, name string, p EventTypeUpdate) (*EventType, error) {
	if err := need("event type name", name); err != nil {
		return nil, err
	}
	var out EventType
	err := c.do(ctx, call{method: http.MethodPatch, path: pathf("/api/v1/event-types/%s", name), body: p, out: &out})
	return ptr(out, err)
}

// ArchiveEventType archives an event type (DELETE): it can no longer be
// published, and old messages keep their meaning. Admin keys only.
func (c *Client) ArchiveEventType(ctx context.Context, name string) (*EventType, error) {
	if err := need("event type name", name); err != nil {
		return nil, err
	}
	var out EventType
	err := c.do(ctx, call{method: http.MethodDelete, path: pathf("/api/v1/event-types/%s", name), out: &out, retry: true})
	return ptr(out, err)
}

// ListEventTypesParams filters and pages ListEventTypes.
type ListEventTypesParams struct {
	Limit  int
	Cursor string
	// IncludeArchived lists archived event types too.
	IncludeArchived bool
}

func (p *ListEventTypesParams) values() url.Values {
	if p == nil {
		return nil
	}
	q := ListParams{Limit: p.Limit, Cursor: p.Cursor}.values()
	if p.IncludeArchived {
		q.Set("include_archived", "true")
	}
	return q
}

// ListEventTypes reads one page of event types.
func (c *Client) ListEventTypes(ctx context.Context, p *ListEventTypesParams) (*Page[EventType], error) {
	var out Page[EventType]
	err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/event-types", query: p.values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllEventTypes iterates over every event type from p's cursor on.
func (c *Client) AllEventTypes(ctx context.Context, p *ListEventTypesParams) iter.Seq2[EventType, error] {
	q := ListEventTypesParams{}
	if p != nil {
		q = *p
	}
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[EventType], error) {
		q.Cursor = cursor
		return c.ListEventTypes(ctx, &q)
	})
}
