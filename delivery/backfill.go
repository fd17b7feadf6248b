package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/hookd/hookd/store"
)

// A backfill sends an endpoint the messages it would have matched since a
// time but never got, because it did not exist yet (or its filters were
// narrower): each becomes a delivery whose attempts have the trigger
// "backfill", oldest message first. One backfill sends at most
// BackfillLimit messages, in one transaction, so it is all or nothing; a
// caller with more calls again, and what was sent is skipped. An endpoint
// with a rate limit gets its backfill spread over time at that rate, so
// that the backlog neither floods it nor waits in the queue snoozing. It
// is recorded as a replay (who asked, the endpoint, since when, how many),
// whose progress counts the attempts made since.

// BackfillLimit is the most messages one backfill sends.
const BackfillLimit = 10000

// riverSchedulerInterval is how often River's scheduler makes scheduled
// jobs available (and how far ahead it looks): its default, which River
// does not let us change. A job inserted with a scheduled time waits for
// the scheduler's next run, so a paced backfill releases the jobs due
// before that run itself (store.ReleaseScheduledJobs).
const riverSchedulerInterval = 5 * time.Second

// Retention is how long messages are kept; 0 or less is forever. A
// backfill reaches back no further.
func (s *Service) Retention() time.Duration { return s.cfg.Retention }

// backfillFilter turns an endpoint's filters into the store's.
func backfillFilter(e store.Endpoint, since time.Time) store.BackfillFilter {
	f := store.BackfillFilter{TenantID: e.TenantID, EndpointID: e.ID, Since: since, Channels: e.Channels}
	for _, t := range e.EventTypes {
		if t == "*" {
			f.EventTypes, f.Prefixes = nil, nil
			return f
		}
		if p, ok := strings.CutSuffix(t, "*"); ok && strings.HasSuffix(p, ".") {
			f.Prefixes = append(f.Prefixes, p)
			continue
		}
		f.EventTypes = append(f.EventTypes, t)
	}
	return f
}

// CountBackfill answers a backfill's dry run: how many messages since
// `since` endpoint e matches and has not had. More than BackfillLimit
// takes more than one backfill.
func (s *Service) CountBackfill(ctx context.Context, e store.Endpoint, since time.Time) (int, error) {
	if e.Disabled {
		return 0, nil
	}
	n, err := s.store.CountBackfill(ctx, backfillFilter(e, since))
	if err != nil {
		return 0, fmt.Errorf("count backfill of %s: %w", e.ID, err)
	}
	return n, nil
}

// Backfill sends endpoint e, asked by `by`, up to BackfillLimit of the
// messages since `since` that it matches and has not had. It returns the
// replay that records it and whether more messages are left for another
// call. A disabled endpoint gets nothing.
func (s *Service) Backfill(ctx context.Context, by string, e store.Endpoint, since time.Time) (store.Replay, bool, error) {
	var r store.Replay
	var more bool
	err := s.store.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		r, more, err = s.BackfillTx(ctx, tx, by, e, since)
		return err
	})
	return r, more, err
}

// BackfillTx is Backfill inside the caller's transaction, as when an
// endpoint is created with a backfill.
func (s *Service) BackfillTx(ctx context.Context, tx pgx.Tx, by string, e store.Endpoint, since time.Time) (store.Replay, bool, error) {
	r, more, err := s.backfillTx(ctx, tx, by, e, since)
	if err != nil {
		return store.Replay{}, false, fmt.Errorf("backfill %s: %w", e.ID, err)
	}
	return r, more, nil
}

func (s *Service) backfillTx(ctx context.Context, tx pgx.Tx, by string, e store.Endpoint, since time.Time) (store.Replay, bool, error) {
	st := s.store.WithTx(tx)
	var ids []uuid.UUID
	more := false
	if !e.Disabled {
		msgs, err := st.BackfillMessages(ctx, backfillFilter(e, since), BackfillLimit+1)
		if err != nil {
			return store.Replay{}, false, err
		}
		if more = len(msgs) > BackfillLimit; more {
			msgs = msgs[:BackfillLimit]
		}
		for _, m := range msgs {
			if Matches(e, m.EventType, m.Channels) { // the store's filter says so too
				ids = append(ids, m.ID)
			}
		}
	}
	record, err := json.Marshal(backfillRecord{Kind: "backfill", TenantID: e.TenantID, EndpointID: e.ID, Since: since})
	if err != nil {
		return store.Replay{}, false, err
	}
	r, err := st.CreateReplay(ctx, store.Replay{CreatedBy: by, Filter: record, Matched: len(ids)})
	if err != nil {
		return store.Replay{}, false, err
	}
	made, err := st.InsertScheduledDeliveries(ctx, e.TenantID, e.ID, ids, pace(time.Now(), len(ids), e.RateLimit))
	if err != nil {
		return store.Replay{}, false, err
	}
	if len(made) > 0 {
		jobs := make([]river.InsertManyParams, len(made))
		for i, d := range made {
			jobs[i] = river.InsertManyParams{Args: DeliverArgs{DeliveryID: d.ID, Trigger: store.TriggerBackfill, ReplayID: r.ID},
				InsertOpts: &river.InsertOpts{ScheduledAt: d.At}}
		}
		res, err := s.river.InsertManyTx(ctx, tx, jobs)
		if err != nil {
			return store.Replay{}, false, fmt.Errorf("enqueue %d deliveries: %w", len(jobs), err)
		}
		ids := make([]int64, len(res))
		for i, r := range res {
			ids[i] = r.Job.ID
		}
		if _, err := st.ReleaseScheduledJobs(ctx, ids, riverSchedulerInterval); err != nil {
			return store.Replay{}, false, err
		}
	}
	if err := s.finishReplay(ctx, st, &r, len(made)); err != nil {
		return store.Replay{}, false, err
	}
	return r, more, nil
}

// backfillRecord is the filter of a backfill's replay record.
type backfillRecord struct {
	Kind       string    `json:"kind"`
	TenantID   string    `json:"tenant_id"`
	EndpointID uuid.UUID `json:"endpoint_id"`
	Since      time.Time `json:"since"`
}

// pace returns when each of n deliveries is first due: all at start
// without a rate limit, else perSecond a second from start on.
func pace(start time.Time, n int, perSecond *int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = start
		if perSecond != nil && *perSecond > 0 {
			out[i] = start.Add(time.Duration(i) * time.Second / time.Duration(*perSecond))
		}
	}
	return out
}
