package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Worker heartbeats and the rescue of jobs that their process left behind.
// These statements read and write River's river_job table: hookd knows
// which River client ran a job (attempted_by) and, through the workers
// table, whether that client's process is still alive.

// DirectJobKey is the key of a direct attempt's fallback job's metadata
// whose value is the worker that attempts it (delivery/direct.go).
const DirectJobKey = "hookd_direct"

// liveJobStates are River's states of a job that will still run.
const liveJobStates = `('available', 'running', 'scheduled', 'retryable', 'pending')`

// RescueParams says which running jobs Heartbeat gives back to the queue.
type RescueParams struct {
	// Rescue is false to only beat (while this process has not yet been
	// connected long enough to judge the others).
	Rescue bool
	// StaleAfter: a worker whose last beat is older is taken for dead, and
	// the jobs it was running are made available again.
	StaleAfter time.Duration
	// Kind and KindAfter: a job of this kind running for longer than
	// KindAfter is made available again whoever runs it (its attempt has
	// outlived its timeout, so its process lost track of it).
	Kind      string
	KindAfter time.Duration
}

// Heartbeat records that worker id is alive and, when p.Rescue, makes the
// jobs of dead workers (and overdue jobs of p.Kind) available again, all in
// one statement. It returns how many jobs it rescued.
func (s *Store) Heartbeat(ctx context.Context, id string, p RescueParams) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `WITH beat AS (
			INSERT INTO workers (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()
		), dead AS (
			SELECT w.id FROM workers w WHERE w.id <> $1 AND w.seen_at < now() - $3::interval
		), orphans AS (
			SELECT j.id FROM river_job j
			WHERE $2 AND j.state = 'running' AND j.attempted_at < now() - interval '1 second'
			  AND (j.attempted_by[array_upper(j.attempted_by, 1)] IN (SELECT id FROM dead)
			       OR (j.kind = $4 AND j.attempted_at < now() - $5::interval))
			ORDER BY j.id LIMIT 1000
			FOR UPDATE SKIP LOCKED
		), fallbacks AS (
			-- The fallback jobs of a dead process's direct attempts: they
			-- would otherwise wait for their scheduled time.
			SELECT f.id FROM dead, LATERAL (
				SELECT j.id FROM river_job j
				WHERE $2 AND j.state = 'scheduled' AND j.metadata @> jsonb_build_object('`+DirectJobKey+`', dead.id)
				LIMIT 1000 FOR UPDATE SKIP LOCKED) f
		), rescued AS (
			UPDATE river_job j SET state = 'available', scheduled_at = now(),
				errors = array_append(coalesce(j.errors, '{}'), jsonb_build_object('at', now(), 'attempt', j.attempt,
					'error', 'rescued by hookd: the process running it is gone or lost track of it', 'trace', ''))
			FROM (SELECT id FROM orphans UNION ALL SELECT id FROM fallbacks) o
			WHERE j.id = o.id AND j.state IN ('running', 'scheduled')
			RETURNING j.id
		), cleared AS (
			DELETE FROM workers WHERE seen_at < now() - interval '1 hour'
		)
		SELECT count(*) FROM rescued`, id, p.Rescue, p.StaleAfter, p.Kind, p.KindAfter).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("heartbeat: %w", err)
	}
	return n, nil
}

// ForgetWorker removes worker id's heartbeat, on a clean shutdown.
func (s *Store) ForgetWorker(ctx context.Context, id string) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM workers WHERE id = $1`, id); err != nil {
		return fmt.Errorf("forget worker %s: %w", id, err)
	}
	return nil
}

// StrandedFilter selects pending deliveries that no job will ever attempt.
type StrandedFilter struct {
	// JobKind is the River kind of the deliver job (its args carry
	// delivery_id).
	JobKind string
	// EndpointID limits the search to one endpoint; uuid.Nil searches all
	// (deliveries created since Since).
	EndpointID uuid.UUID
	Since      time.Time
	// OverdueBy: only deliveries whose next attempt was due at least this
	// long ago count (a delivery due a moment ago may still be in a queue).
	OverdueBy time.Duration
	// After is the keyset cursor (the last id of the previous batch).
	After uuid.UUID
	Limit int
}

// StrandedDeliveries returns, in id order, the ids of pending deliveries to
// enabled endpoints that are overdue and have no live River job: nothing
// would ever attempt them. hookd's own code leaves none; the sweep that
// calls this is the net for the bug that would.
func (s *Store) StrandedDeliveries(ctx context.Context, f StrandedFilter) ([]uuid.UUID, error) {
	var endpoint *uuid.UUID
	if f.EndpointID != uuid.Nil {
		endpoint = &f.EndpointID
	}
	after := f.After
	if m := minV7(f.Since); f.EndpointID == uuid.Nil && !f.Since.IsZero() && bytes.Compare(after[:], m[:]) < 0 {
		after = m
	}
	// River's GIN index on args answers the job lookup; ids are UUIDv7,
	// so the lower bound on d.id keeps the scan to the recent deliveries.
	rows, err := s.db.Query(ctx, `SELECT d.id FROM deliveries d
		JOIN endpoints e ON e.id = d.endpoint_id AND NOT e.disabled
		WHERE d.id > $1 AND ($2::uuid IS NULL OR d.endpoint_id = $2)
		  AND d.status = 'pending' AND coalesce(d.next_attempt_at, d.created_at) < now() - $3::interval
		  AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.kind = $4 AND j.state IN `+liveJobStates+`
		                  AND j.args @> jsonb_build_object('delivery_id', d.id))
		ORDER BY d.id LIMIT $5`, after, endpoint, f.OverdueBy, f.JobKind, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("stranded deliveries: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("stranded deliveries: %w", err)
	}
	return ids, nil
}
