package delivery

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// DefaultRetention is how long messages and attempts are kept.
const DefaultRetention = 30 * 24 * time.Hour

// retentionBatch is how many rows one delete statement removes.
const retentionBatch = 1000

// RetentionArgs asks for messages and attempts past the retention window
// to be deleted. River's leader enqueues it every hour.
type RetentionArgs struct{}

// Kind is never renamed: jobs already queued carry it.
func (RetentionArgs) Kind() string { return "hookd.retention" }

// InsertOpts puts the clean-up on the maintenance queue.
func (RetentionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 3}
}

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	s *Service
}

// Work deletes in batches, so that no statement holds locks for long:
// first the rows that go one by one (idempotency keys, the legacy
// partitions, messages with their own retention), then the daily
// partitions that are wholly past the cutoff, a table at a time. A day's
// partition goes when its last id is older than the cutoff, so rows live
// up to a day longer than the retention.
func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	if w.s.cfg.Retention < 0 {
		return nil // this node keeps everything
	}
	cutoff := time.Now().Add(-w.s.cfg.Retention)
	for ctx.Err() == nil {
		n, err := w.s.store.DeleteExpired(ctx, cutoff, retentionBatch)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dropped, err := w.s.store.DropExpiredPartitions(ctx, cutoff, time.Second)
	if len(dropped) > 0 {
		w.s.logger.Info("dropped expired partitions", "partitions", dropped)
	}
	return err
}

// Timeout gives a large backlog time to go.
func (w *retentionWorker) Timeout(*river.Job[RetentionArgs]) time.Duration { return 30 * time.Minute }
