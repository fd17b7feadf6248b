package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

// replayStall is how long replay waits without progress before it says
// that no worker may be running.
const replayStall = 15 * time.Second

func runReplay(ctx context.Context, a cmdArgs) error {
	fs := newFlagSet("replay", "replay --since 24h [--tenant T] [--endpoint ID] [--event-type X] [--status failed] [--until T] [--dry-run] [--no-wait]",
		`Re-sends, with the same webhook-id, every delivery that matches the filter,
as an operator's bulk replay on the Postgres at DATABASE_URL; it is recorded
with who asked (cli:<your OS user>). A worker (hookd serve --role worker or
all, or hookd dev) on that database does the sending. --since and --until take
an RFC 3339 time (2026-01-02T15:04:05Z) or a duration ago (90m, 24h, 7d).`)
	e, err := loadEnv(a.getenv, a.stderr)
	if err != nil {
		return err
	}
	tenant := fs.String("tenant", "", "only this tenant's deliveries (`id`)")
	endpoint := fs.String("endpoint", "", "only deliveries to this endpoint (`id`)")
	eventType := fs.String("event-type", "", "only messages of this event `type`")
	status := fs.String("status", store.DeliveryFailed, "only deliveries in this `status`: failed or succeeded")
	since := fs.String("since", "", "only deliveries created at or after this `time` (required)")
	until := fs.String("until", "", "only deliveries created before this `time` (default now)")
	dryRun := fs.Bool("dry-run", false, "only count the deliveries that match")
	noWait := fs.Bool("no-wait", false, "print the replay's id and return without waiting for it to finish")
	if err := fs.parse(a.args, a.stdout); err != nil {
		return err
	}

	now := time.Now()
	f := delivery.ReplayFilter{TenantID: *tenant, EventType: *eventType, Status: *status}
	switch *status {
	case store.DeliveryFailed, store.DeliverySucceeded:
	default:
		return usageErrorf("--status is %q; use failed or succeeded", *status)
	}
	if *endpoint != "" {
		id, err := uuid.Parse(*endpoint)
		if err != nil {
			return usageErrorf("--endpoint is %q; give an endpoint id like 01936d3c-8f5e-7b1a-9c2d-4e5f6a7b8c9d", *endpoint)
		}
		f.EndpointID = id
	}
	if *since == "" {
		return usageErrorf("--since is required: say how far back to replay, like --since 24h or --since 2026-01-02T15:04:05Z")
	}
	if f.Since, err = parseTimeFlag("since", *since, now); err != nil {
		return err
	}
	if *until != "" {
		if f.Until, err = parseTimeFlag("until", *until, now); err != nil {
			return err
		}
		if !f.Until.After(f.Since) {
			return usageErrorf("--until (%s) must be after --since (%s)", f.Until.Format(time.RFC3339), f.Since.Format(time.RFC3339))
		}
	}
	if e.DatabaseURL == "" {
		return usageErrorf("DATABASE_URL is not set; hookd replay needs the URL of hookd's Postgres database")
	}

	e.MaxConns = cmp.Or(e.MaxConns, 4)
	pool, err := e.openPool(ctx, e.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	st := store.New(pool)
	svc, err := delivery.New(pool, st, e.deliveryConfig(false))
	if err != nil {
		return fmt.Errorf("delivery: %w", err)
	}

	n, err := svc.CountReplay(ctx, f)
	if err != nil {
		return fmt.Errorf("count deliveries: %w", err)
	}
	if *dryRun || n == 0 {
		fmt.Fprintln(a.stdout, countSentence(n))
		return nil
	}
	r, err := svc.StartReplay(ctx, "cli:"+osUser(), f)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "replay %s started: %s matched\n", r.ID, deliveries(r.Matched))
	if *noWait {
		return nil
	}
	return waitReplay(ctx, a.stdout, st, r.ID)
}

// waitReplay prints a replay's progress every second while it changes,
// until the replay has enqueued everything and every re-sent delivery has
// been attempted.
func waitReplay(ctx context.Context, w io.Writer, st *store.Store, id uuid.UUID) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last string
	lastChange, warned := time.Now(), false
	for {
		r, err := st.GetReplay(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return interruptedReplay(id)
			}
			return err
		}
		line := fmt.Sprintf("matched %d  enqueued %d  done %d", r.Matched, r.Enqueued, r.Done)
		if line != last {
			fmt.Fprintln(w, line)
			last, lastChange = line, time.Now()
		}
		if r.Status == store.ReplayFinished && r.Done >= r.Enqueued {
			fmt.Fprintf(w, "replay %s finished: %s re-sent\n", r.ID, deliveries(r.Done))
			return nil
		}
		if !warned && time.Since(lastChange) > replayStall {
			fmt.Fprintf(w, "no progress for %s: is a worker running on this database (hookd serve --role worker or all, or hookd dev)?\n", replayStall)
			warned = true
		}
		select {
		case <-ctx.Done():
			return interruptedReplay(id)
		case <-tick.C:
		}
	}
}

func interruptedReplay(id uuid.UUID) error {
	return &exitError{code: 130, err: fmt.Errorf("stopped waiting; replay %s goes on (GET /api/v1/replays/%s shows its progress)", id, id)}
}

func countSentence(n int) string {
	if n == 1 {
		return "1 delivery matches"
	}
	return fmt.Sprintf("%d deliveries match", n)
}

func deliveries(n int) string {
	if n == 1 {
		return "1 delivery"
	}
	return fmt.Sprintf("%d deliveries", n)
}

// parseTimeFlag reads an RFC 3339 time, or a duration ago such as 90m, 24h
// or 7d, counted back from now.
func parseTimeFlag(name, v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := parseDays(v)
	if err != nil || d <= 0 {
		return time.Time{}, usageErrorf("--%s is %q; give an RFC 3339 time like 2026-01-02T15:04:05Z or a duration ago like 90m, 24h or 7d", name, v)
	}
	return now.Add(-d), nil
}

// parseDays reads a Go duration, or a whole number of days like 7d.
func parseDays(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		return time.Duration(n) * 24 * time.Hour, err
	}
	return time.ParseDuration(v)
}

// osUser names who runs the command, for the replay's record.
func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return cmp.Or(os.Getenv("USER"), "unknown")
}
