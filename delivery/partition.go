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

// Work creates the partitions that do not exist yet.
func (w *partitionWorker) Work(ctx context.Context, _ *river.Job[PartitionArgs]) error {
	n, err := w.s.store.EnsurePartitions(ctx, time.Now().Add(-24*time.Hour), store.PartitionDaysAhead+2)
	if n > 0 {
		w.s.logger.Info("created partitions", "tables", n)
	}
	return err
}
