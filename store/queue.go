package store

import (
	"context"
	"fmt"
	"time"
)

// QueueStats counts one River queue's jobs by state, for the operators'
// console. It reads River's own tables (river_job, river_queue), which
// `hookd migrate` creates; nothing here writes them.
type QueueStats struct {
	Name string
	// Counts maps a River job state to its jobs: all of them for the
	// states still to run (available, running, scheduled, retryable,
	// pending), those finished in the last minute for the final ones
	// (completed, cancelled, discarded).
	Counts map[string]int
	// OldestAvailable is when the longest-waiting available job became
	// due; nil when none is available.
	OldestAvailable *time.Time
}

// QueueStats returns every queue River knows of (registered or holding
// jobs), by name, and the database's clock for the ages.
func (s *Store) QueueStats(ctx context.Context) ([]QueueStats, time.Time, error) {
	// Both halves go through River's indexes that lead with state, so the
	// cost follows the jobs waiting and those finished in the last minute,
	// not the whole table.
	rows, err := s.db.Query(ctx, `WITH counts AS (
			SELECT queue, state::text AS state, count(*) AS n,
				min(scheduled_at) FILTER (WHERE state = 'available') AS oldest
			FROM river_job WHERE state IN ('available', 'running', 'scheduled', 'retryable', 'pending')
			GROUP BY queue, state
			UNION ALL
			SELECT queue, state::text, count(*), NULL
			FROM river_job WHERE state IN ('completed', 'cancelled', 'discarded')
			  AND finalized_at > now() - interval '1 minute'
			GROUP BY queue, state
		), names AS (
			SELECT name FROM river_queue UNION SELECT queue FROM counts
		)
		SELECT n.name, coalesce(c.state, ''), coalesce(c.n, 0), c.oldest, now()
		FROM names n LEFT JOIN counts c ON c.queue = n.name
		ORDER BY n.name, c.state`)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("queue stats: %w", err)
	}
	defer rows.Close()
	var out []QueueStats
	var now time.Time
	for rows.Next() {
		var name, state string
		var n int
		var oldest *time.Time
		if err := rows.Scan(&name, &state, &n, &oldest, &now); err != nil {
			return nil, time.Time{}, fmt.Errorf("queue stats: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Name != name {
			out = append(out, QueueStats{Name: name, Counts: map[string]int{}})
		}
		q := &out[len(out)-1]
		if state != "" {
			q.Counts[state] = n
		}
		if oldest != nil {
			q.OldestAvailable = oldest
		}
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("queue stats: %w", err)
	}
	if now.IsZero() {
		now = time.Now()
	}
	return out, now, nil
}
