package delivery

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/hookd/hookd/store"
)

// The sweep is the net under crash safety: every SweepInterval, River's
// leader enqueues a job that looks for pending deliveries whose next
// attempt is overdue and that have no live job, and enqueues one for each.
// hookd's own code leaves no such delivery (the heartbeat rescue, River's
// rescuer and the workers' own paths cover every case known), so in normal
// operation it finds nothing; when it does find some, it counts them in
// hookd_sweep_stranded_total and logs a warning, because a bug put them
// there.

// DefaultSweepInterval is how often the sweep runs.
const DefaultSweepInterval = 5 * time.Minute

// sweepOverdue is how long past due a delivery must be before the sweep
// takes it for stranded: less than that, its job may simply be waiting in a
// busy queue.
const sweepOverdue = 2 * time.Minute

// sweepBatch is how many deliveries one sweep statement looks at.
const sweepBatch = 1000

// SweepArgs asks for one sweep. River's leader enqueues it periodically.
type SweepArgs struct{}

// Kind is never renamed: jobs already queued carry it.
func (SweepArgs) Kind() string { return "hookd.sweep" }

// InsertOpts puts the sweep on the maintenance queue, one at a time.
func (SweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 3}
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	s *Service
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	n, err := w.s.Sweep(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		w.s.logger.Warn("sweep re-enqueued stranded deliveries (a bug left them without a job)", "deliveries", n)
	} else {
		w.s.logger.Info("sweep found no stranded deliveries")
	}
	return nil
}

// Timeout gives a large table time to be walked.
func (w *sweepWorker) Timeout(*river.Job[SweepArgs]) time.Duration { return 10 * time.Minute }

// sweepLookback is how far back the sweep looks: a delivery older than the
// whole retry schedule (with its jitter) and an hour more is not pending
// unless a re-send made it so, and re-sends enqueue their own jobs.
func (s *Service) sweepLookback() time.Duration {
	var total time.Duration
	for _, d := range s.cfg.Schedule {
		total += d
	}
	return time.Duration(float64(total)*(1+scheduleJitter)) + time.Hour
}

// Sweep enqueues a job for every stranded delivery (pending, overdue,
// to an enabled endpoint, with no live job) and returns how many.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	f := store.StrandedFilter{JobKind: DeliverArgs{}.Kind(), Since: time.Now().Add(-s.sweepLookback()),
		OverdueBy: sweepOverdue, Limit: sweepBatch}
	n, err := s.enqueueStranded(ctx, f)
	s.metrics.stranded.Add(float64(n))
	if err != nil {
		return n, fmt.Errorf("sweep: %w", err)
	}
	return n, nil
}

// ResumeEndpoint enqueues a job for each pending delivery of an endpoint
// that has none, as when the endpoint is enabled again after its
// deliveries stopped, and returns how many.
func (s *Service) ResumeEndpoint(ctx context.Context, endpoint uuid.UUID) (int, error) {
	f := store.StrandedFilter{JobKind: DeliverArgs{}.Kind(), EndpointID: endpoint, Limit: sweepBatch}
	n, err := s.enqueueStranded(ctx, f)
	if err != nil {
		return n, fmt.Errorf("resume endpoint %s: %w", endpoint, err)
	}
	return n, nil
}

// enqueueStranded enqueues the deliveries f finds, a batch per transaction.
func (s *Service) enqueueStranded(ctx context.Context, f store.StrandedFilter) (int, error) {
	total := 0
	for {
		var ids []uuid.UUID
		err := s.store.InTx(ctx, func(tx pgx.Tx) error {
			var err error
			if ids, err = s.store.WithTx(tx).StrandedDeliveries(ctx, f); err != nil || len(ids) == 0 {
				return err
			}
			return s.enqueue(ctx, tx, ids, store.TriggerScheduled, uuid.Nil)
		})
		if err != nil {
			return total, err
		}
		total += len(ids)
		if len(ids) < f.Limit {
			return total, nil
		}
		f.After = ids[len(ids)-1]
	}
}
