package client

import (
	"context"
	"iter"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Replay is a recorded re-send: a bulk replay, an endpoint's recover or a
// message's resend, with who asked, its filter and its progress.
type Replay struct {
	ID uuid.UUID `json:"id"`
	// CreatedBy is who asked, like api:admin or cli:alice.
	CreatedBy string         `json:"created_by"`
	Filter    map[string]any `json:"filter"`
	// Status is running or finished.
	Status string `json:"status"`
	// Matched deliveries, of which Enqueued went back on the queue and Done
	// have been attempted since.
	Matched    int        `json:"matched"`
	Enqueued   int        `json:"enqueued"`
	Done       int        `json:"done"`
	CreatedAt  time.Time  `json:"created_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

// ReplayParams is the filter of a bulk replay. Since is required; zero
// values do not filter.
type ReplayParams struct {
	TenantID   string    `json:"tenant_id,omitempty"`
	EndpointID uuid.UUID `json:"endpoint_id,omitzero"`
	EventType  string    `json:"event_type,omitempty"`
	// Status is the deliveries' status; only failed ones are replayed, and
	// empty means failed.
	Status string `json:"status"`
	// Since and Until bound the deliveries' creation time.
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

type replayBody struct {
	ReplayParams
	DryRun bool `json:"dry_run,omitempty"`
}

func (p ReplayParams) body(dryRun bool) replayBody {
	if p.Status == "" {
		p.Status = "failed"
	}
	return replayBody{ReplayParams: p, DryRun: dryRun}
}

// CreateReplay sends again, in bulk, the failed deliveries that match p,
// each with its webhook-id, as attempts with trigger manual. Follow its
// progress with GetReplay. Admin keys only.
func (c *Client) CreateReplay(ctx context.Context, p ReplayParams) (*Replay, error) {
	var out Replay
	err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/replays", body: p.body(false), out: &out})
	return ptr(out, err)
}

// CountReplay is CreateReplay's dry run: it counts the deliveries that
// match p and sends nothing, so it is retried like a read. Admin keys only.
func (c *Client) CountReplay(ctx context.Context, p ReplayParams) (int, error) {
	var out struct {
		Matched int `json:"matched"`
	}
	err := c.do(ctx, call{method: http.MethodPost, path: "/api/v1/replays", body: p.body(true), out: &out, retry: true})
	return out.Matched, err
}

// GetReplay reads a replay's progress. Admin keys only.
func (c *Client) GetReplay(ctx context.Context, id uuid.UUID) (*Replay, error) {
	if err := need("replay id", id); err != nil {
		return nil, err
	}
	var out Replay
	err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/replays/" + id.String(), out: &out, retry: true})
	return ptr(out, err)
}

// ListReplays reads one page of replays, newest first. Admin keys only.
func (c *Client) ListReplays(ctx context.Context, p *ListParams) (*Page[Replay], error) {
	var out Page[Replay]
	err := c.do(ctx, call{method: http.MethodGet, path: "/api/v1/replays", query: p.orZero().values(), out: &out, retry: true})
	return ptr(out, err)
}

// AllReplays iterates over the replays, newest first, from p's cursor on.
func (c *Client) AllReplays(ctx context.Context, p *ListParams) iter.Seq2[Replay, error] {
	q := p.orZero()
	return all(ctx, q.Cursor, func(ctx context.Context, cursor string) (*Page[Replay], error) {
		q.Cursor = cursor
		return c.ListReplays(ctx, &q)
	})
}
