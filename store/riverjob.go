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

// ReleaseScheduledJobs makes River jobs among ids that are scheduled to run
// within the horizon available now, keeping their scheduled time: what
// River's scheduler does for such jobs on each of its runs (every 5 s by
// default, looking as far ahead), done at once so that jobs due in the
// next few seconds do not wait for its next run. River fetches an
// available job only once its scheduled time has come. It returns how
// many it released.
func (s *Store) ReleaseScheduledJobs(ctx context.Context, ids []int64, horizon time.Duration) (int, error) {
	tag, err := s.db.Exec(ctx, `UPDATE river_job SET state = 'available'
		WHERE id = ANY($1) AND state = 'scheduled' AND scheduled_at <= now() + $2::interval`, ids, horizon)
	if err != nil {
		return 0, fmt.Errorf("release scheduled jobs: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
