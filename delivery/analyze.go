package delivery

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/hookd/hookd/store"
)

// analyzeInterval is how often River's leader looks for hot tables whose
// statistics are out of date (store.AnalyzeGrown): often enough that a new
// install's first minute runs on index plans.
const analyzeInterval = 10 * time.Second

// analyzeMinRows is the least growth worth an ANALYZE: below it, any plan
// is fast.
const analyzeMinRows = 1000

// AnalyzeArgs asks for one look at the hot tables' statistics.
type AnalyzeArgs struct{}

// Kind is never renamed: jobs already queued carry it.
func (AnalyzeArgs) Kind() string { return "hookd.analyze" }

// InsertOpts puts it on the maintenance queue; a missed one is simply
// done by the next.
func (AnalyzeArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 1}
}

type analyzeWorker struct {
	river.WorkerDefaults[AnalyzeArgs]
	s *Service
}

func (w *analyzeWorker) Work(ctx context.Context, _ *river.Job[AnalyzeArgs]) error {
	names, err := w.s.store.AnalyzeGrown(ctx, store.HotTables, analyzeMinRows)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		w.s.logger.Info("analyzed tables that grew", "tables", names)
	}
	return nil
}

// Timeout: ANALYZE samples a bounded number of rows, but a big table on a
// busy disk takes a while.
func (w *analyzeWorker) Timeout(*river.Job[AnalyzeArgs]) time.Duration { return 5 * time.Minute }
