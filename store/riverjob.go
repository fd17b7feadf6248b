package store

import (
	"context"
	"fmt"
	"time"
)

// The few writes hookd makes to River's river_job itself, for jobs River
// has not fetched yet: a direct attempt's fallback job (delivery/direct.go)
// and the release of retries due before River's scheduler runs
// (ReleaseScheduledJobs).

// DeleteScheduledJobs deletes the River jobs ids that are still scheduled
// (the fallback jobs of direct attempts, once the attempt is recorded). A
// job already made available or running is left to River.
func (s *Store) DeleteScheduledJobs(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM river_job WHERE id = ANY($1) AND state = 'scheduled'`, ids); err != nil {
		return fmt.Errorf("delete %d fallback jobs: %w", len(ids), err)
	}
	return nil
}

// RescheduleJob moves the scheduled River job id to at: available when at
// has come, else still scheduled. A job no longer scheduled is left alone.
func (s *Store) RescheduleJob(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE river_job SET scheduled_at = $2,
			state = CASE WHEN $2 <= now() THEN 'available'::river_job_state ELSE 'scheduled'::river_job_state END
		WHERE id = $1 AND state = 'scheduled'`, id, at)
	if err != nil {
		return fmt.Errorf("reschedule job %d: %w", id, err)
	}
	return nil
}
