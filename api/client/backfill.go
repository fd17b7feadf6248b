package client

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Backfill is a backfill that was started: the past messages queued for an
// endpoint, as attempts with trigger backfill.
type Backfill struct {
	Enqueued int `json:"enqueued"`
	// ReplayID is the replay that records it (see GetReplay).
	ReplayID uuid.UUID `json:"replay_id"`
	// More is true when more messages matched than one backfill sends:
	// call again with the same since for the next ones.
	More bool `json:"more"`
}

type backfillBody struct {
	Since  time.Time `json:"since"`
	DryRun bool      `json:"dry_run,omitempty"`
}

// BackfillEndpoint sends an endpoint the tenant's messages created since
// since that its filters match and that it never got, oldest first, paced
// by its rate limit. One call sends at most 10,000 of them. A disabled
// endpoint answers 409.
func (c *Client) BackfillEndpoint(ctx context.Context, tenant string, endpoint uuid.UUID, since time.Time) (*Backfill, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return nil, err
	}
	var out Backfill
	err := c.do(ctx, call{method: http.MethodPost, path: endpointPath(tenant, endpoint, "/backfill"),
		body: backfillBody{Since: since}, out: &out})
	return ptr(out, err)
}

// CountBackfill is BackfillEndpoint's dry run: how many messages it would
// send, all told (one backfill sends at most 10,000). It sends nothing, so
// it is retried like a read.
func (c *Client) CountBackfill(ctx context.Context, tenant string, endpoint uuid.UUID, since time.Time) (int, error) {
	if err := need("tenant id", tenant, "endpoint id", endpoint); err != nil {
		return 0, err
	}
	var out struct {
		Matched int `json:"matched"`
	}
	err := c.do(ctx, call{method: http.MethodPost, path: endpointPath(tenant, endpoint, "/backfill"),
		body: backfillBody{Since: since, DryRun: true}, out: &out, retry: true})
	return out.Matched, err
}
