package store

import (
	"context"
	"fmt"
	"time"
)

// The few writes hookd makes to River's river_job itself, for jobs River
// has not fetched yet: moving a direct attempt's fallback job
// (delivery/direct.go; RecordAttempts deletes it) and releasing retries
// due before River's scheduler runs (ReleaseScheduledJobs).

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
