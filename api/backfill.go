package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

// A backfill sends an endpoint the messages since a time that it matches
// and never got (delivery/backfill.go): POST .../endpoints/{id}/backfill,
// or backfill_since when the endpoint is created.

type backfillBody struct {
	Since  string `json:"since"`
	DryRun bool   `json:"dry_run"`
}

// backfillJSON answers a backfill that was started.
type backfillJSON struct {
	Enqueued int       `json:"enqueued"`
	ReplayID uuid.UUID `json:"replay_id"`
	More     bool      `json:"more"`
}

type backfillDryRunJSON struct {
	Matched int  `json:"matched"`
	DryRun  bool `json:"dry_run"`
	Limit   int  `json:"limit"`
}

// createdEndpoint is a created endpoint with the backfill it asked for.
type createdEndpoint struct {
	endpointJSON
	Backfill *backfillJSON `json:"backfill,omitempty"`
}

// backfillSince reads and bounds a backfill's since: an RFC 3339 time, not
// in the future, and within the retention window (older messages are gone).
func (s *server) backfillSince(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fieldErr(field, "is required: send the messages published since when?")
	}
	since, err := parseTime(field, v)
	if err != nil {
		return time.Time{}, err
	}
	now := time.Now()
	if since.After(now.Add(time.Minute)) {
		return time.Time{}, fieldErr(field, "is in the future: there are no messages since then yet")
	}
	if r := s.svc.Retention(); r > 0 && since.Before(now.Add(-r)) {
		return time.Time{}, fieldErr(field, "is before the retention window: messages are kept for %s, so since must be after %s",
			retentionText(r), now.Add(-r).UTC().Format(time.RFC3339))
	}
	return since, nil
}

func retentionText(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

func (s *server) backfillEndpoint(c echo.Context) error {
	e, err := s.loadEndpoint(c)
	if err != nil {
		return err
	}
	var body backfillBody
	if err := bind(c, &body); err != nil {
		return err
	}
	since, err := s.backfillSince("since", body.Since)
	if err != nil {
		return err
	}
	if e.Disabled {
		return problem(http.StatusConflict, fmt.Sprintf("endpoint %s is disabled: enable it, then send it past messages", e.ID))
	}
	ctx := c.Request().Context()
	if body.DryRun {
		n, err := s.svc.CountBackfill(ctx, e, since)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, backfillDryRunJSON{Matched: n, DryRun: true, Limit: delivery.BackfillLimit})
	}
	r, more, err := s.svc.Backfill(ctx, who(c).Name, e, since)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, backfillJSON{Enqueued: r.Enqueued, ReplayID: r.ID, More: more})
}

// storeNewEndpoint creates e with its first secret and, when since is
// given, its backfill, in one transaction.
func (s *server) storeNewEndpoint(c echo.Context, e store.Endpoint, secret string, since *string) (store.Endpoint, *backfillJSON, error) {
	ctx := c.Request().Context()
	if since == nil {
		out, err := s.st.CreateEndpointWithin(ctx, e, secret, s.cfg.MaxEndpointsPerTenant)
		return out, nil, err
	}
	from, err := s.backfillSince("backfill_since", *since)
	if err != nil {
		return store.Endpoint{}, nil, err
	}
	if e.Disabled {
		return store.Endpoint{}, nil, fieldErr("backfill_since", "cannot be given for a disabled endpoint: it gets no messages")
	}
	var out store.Endpoint
	var bf *backfillJSON
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		if out, err = s.st.WithTx(tx).CreateEndpointWithin(ctx, e, secret, s.cfg.MaxEndpointsPerTenant); err != nil {
			return err
		}
		r, more, err := s.svc.BackfillTx(ctx, tx, who(c).Name, out, from)
		bf = &backfillJSON{Enqueued: r.Enqueued, ReplayID: r.ID, More: more}
		return err
	})
	return out, bf, err
}
