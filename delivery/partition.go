package delivery

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/hookd/hookd/store"
)

// PartitionArgs asks for the daily partitions of the history (messages,
// deliveries, attempts) to be created ahead of time: from yesterday to
// store.PartitionDaysAhead days after today. River's leader enqueues
// it when it starts and every hour, whether or not retention is on; a
// write for a day without a partition would fail.
type PartitionArgs struct{}

// Kind is never renamed: jobs already queued carry it.
func (PartitionArgs) Kind() string { return "hookd.partitions" }

// InsertOpts puts the job on the maintenance queue.
func (PartitionArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5}
}

type partitionWorker struct {
	river.WorkerDefaults[PartitionArgs]
	s *Service
}

// Work creates the partitions that do not exist yet, then indexes the
// failed deliveries of the days that have settled
// (store.IndexSettledPartitions).
func (w *partitionWorker) Work(ctx context.Context, _ *river.Job[PartitionArgs]) error {
	n, err := w.s.store.EnsurePartitions(ctx, time.Now().Add(-24*time.Hour), store.PartitionDaysAhead+2)
	if n > 0 {
		w.s.logger.Info("created partitions", "tables", n)
	}
	if err != nil {
		return err
	}
	indexed, err := w.s.store.IndexSettledPartitions(ctx, time.Now().Add(-store.SettledAfter))
	if len(indexed) > 0 {
		w.s.logger.Info("indexed failed deliveries of settled partitions", "partitions", indexed)
	}
	return err
}

// Timeout leaves time for an index of a day's deliveries to be built.
func (w *partitionWorker) Timeout(*river.Job[PartitionArgs]) time.Duration { return 30 * time.Minute }
