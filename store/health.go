package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Endpoint health. Each statement here runs on a change of state (a run of
// failures begins or ends, a circuit opens or closes, a periodic check),
// never on every attempt.

// Health states, as the API shows them.
const (
	HealthHealthy  = "healthy"
	HealthFailing  = "failing"
	HealthDisabled = "disabled"
)

// Health is an endpoint's state: disabled, failing when every attempt has
// failed for at least failingAfter, else healthy.
func (e Endpoint) Health(now time.Time, failingAfter time.Duration) string {
	switch {
	case e.Disabled:
		return HealthDisabled
	case e.FailingSince != nil && now.Sub(*e.FailingSince) >= failingAfter:
		return HealthFailing
	}
	return HealthHealthy
}

// MarkFailure records a failed attempt of endpoint at `at`: it starts the
// run of failures when none is running and keeps the last error.
func (s *Store) MarkFailure(ctx context.Context, endpoint uuid.UUID, at time.Time, lastError string) error {
	if _, err := s.db.Exec(ctx, `UPDATE endpoints SET failing_since = coalesce(failing_since, $2),
			last_error = $3, last_failure_at = $2 WHERE id = $1`, endpoint, at, lastError); err != nil {
		return fmt.Errorf("mark failure of %s: %w", endpoint, err)
	}
	return nil
}

// MarkSuccess ends endpoint's run of failures. It reports whether the run
// had been announced as failing (so that its recovery is announced too).
func (s *Store) MarkSuccess(ctx context.Context, endpoint uuid.UUID) (wasFailing bool, err error) {
	err = s.db.QueryRow(ctx, `WITH o AS (SELECT failing_notified FROM endpoints WHERE id = $1 AND failing_since IS NOT NULL),
			u AS (UPDATE endpoints SET failing_since = NULL, failing_notified = false
				WHERE id = $1 AND failing_since IS NOT NULL)
		SELECT coalesce((SELECT failing_notified FROM o), false)`, endpoint).Scan(&wasFailing)
	if err != nil {
		return false, fmt.Errorf("mark success of %s: %w", endpoint, err)
	}
	return wasFailing, nil
}

// SetCircuit records a circuit-breaker transition of endpoint made at
// `at`; a transition older than the one recorded is ignored, so writes
// that arrive out of order leave the latest.
func (s *Store) SetCircuit(ctx context.Context, endpoint uuid.UUID, state, reason string, at time.Time) error {
	if _, err := s.db.Exec(ctx, `UPDATE endpoints SET circuit_state = $2, circuit_since = $4, circuit_reason = $3
		WHERE id = $1 AND (circuit_since IS NULL OR circuit_since <= $4)`, endpoint, state, reason, at); err != nil {
		return fmt.Errorf("set circuit of %s: %w", endpoint, err)
	}
	return nil
}

// HealthChanges is what one health check changed.
type HealthChanges struct {
	Failing  []Endpoint // newly failing: every attempt failed for failingAfter
	Disabled []Endpoint // disabled now: every attempt failed for disableAfter
}

// CheckHealth marks endpoints failing once their run of failures has
// lasted failingAfter, and disables (parking their deliveries) those whose
// run has lasted disableAfter (0: never).
func (s *Store) CheckHealth(ctx context.Context, failingAfter, disableAfter time.Duration) (HealthChanges, error) {
	var out HealthChanges
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		st := s.WithTx(tx)
		rows, err := tx.Query(ctx, `UPDATE endpoints SET failing_notified = true
			WHERE NOT disabled AND NOT failing_notified AND failing_since <= now() - $1::interval
			RETURNING `+fanoutCols, failingAfter)
		if err != nil {
			return err
		}
		if out.Failing, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Endpoint, error) { return st.scanEndpoint(r) }); err != nil {
			return err
		}
		if disableAfter <= 0 {
			return nil
		}
		rows, err = tx.Query(ctx, `UPDATE endpoints SET disabled = true, disabled_at = now(), updated_at = now(),
				disabled_reason = 'every attempt failed for ' || $1::text || ' (since ' ||
					to_char(failing_since AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC): ' || left(last_error, 200)
			WHERE NOT disabled AND failing_since <= now() - $2::interval
			RETURNING `+fanoutCols, shortDuration(disableAfter), disableAfter)
		if err != nil {
			return err
		}
		if out.Disabled, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Endpoint, error) { return st.scanEndpoint(r) }); err != nil {
			return err
		}
		for _, e := range out.Disabled {
			if _, err := st.ParkPending(ctx, e.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return HealthChanges{}, fmt.Errorf("check health: %w", err)
	}
	return out, nil
}

func shortDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// ParkDeliveries creates parked deliveries (of endpoints that are
// disabled), keeping at most limit parked per endpoint; it returns how
// many it parked.
func (s *Store) ParkDeliveries(ctx context.Context, ds []NewDelivery, limit int) (int, error) {
	n := len(ds)
	ids, tenants, messages, endpoints := make([]uuid.UUID, n), make([]string, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
	for i, d := range ds {
		ids[i], tenants[i], messages[i], endpoints[i] = DeliveryID(d.MessageID, d.EndpointID), d.TenantID, d.MessageID, d.EndpointID
	}
	var parked int
	err := s.db.QueryRow(ctx, `WITH ins AS (
			INSERT INTO deliveries (id, tenant_id, message_id, endpoint_id, status, next_attempt_at)
			SELECT t.id, t.tenant_id, t.message_id, t.endpoint_id, 'parked', NULL
			FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[]) AS t(id, tenant_id, message_id, endpoint_id)
			WHERE (SELECT count(*) FROM (SELECT 1 FROM deliveries x WHERE x.endpoint_id = t.endpoint_id
				AND x.status = 'parked' LIMIT $5) c) < $5
			ON CONFLICT DO NOTHING RETURNING endpoint_id
		), flag AS (
			UPDATE endpoints SET has_parked = true WHERE id IN (SELECT endpoint_id FROM ins) AND NOT has_parked
		)
		SELECT count(*) FROM ins`, ids, tenants, messages, endpoints, limit).Scan(&parked)
	if err != nil {
		return 0, fmt.Errorf("park deliveries: %w", err)
	}
	return parked, nil
}

// UnparkDeliveries makes up to limit parked deliveries of endpoint
// pending again, oldest first, and returns their ids. When none is left
// parked, the endpoint's has_parked flag is cleared.
func (s *Store) UnparkDeliveries(ctx context.Context, tenant string, endpoint uuid.UUID, limit int) ([]uuid.UUID, error) {
	rows, err := s.db.Query(ctx, `UPDATE deliveries SET status = 'pending', next_attempt_at = now(), updated_at = now()
		WHERE id IN (SELECT id FROM deliveries WHERE endpoint_id = $2 AND tenant_id = $1 AND status = 'parked'
			ORDER BY id LIMIT $3)
		RETURNING id`, tenant, endpoint, limit)
	if err != nil {
		return nil, fmt.Errorf("unpark deliveries of %s: %w", endpoint, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("unpark deliveries of %s: %w", endpoint, err)
	}
	if len(ids) < limit {
		if _, err := s.db.Exec(ctx, `UPDATE endpoints SET has_parked = false WHERE id = $1 AND has_parked
			AND NOT EXISTS (SELECT 1 FROM deliveries WHERE endpoint_id = $1 AND status = 'parked')`, endpoint); err != nil {
			return nil, fmt.Errorf("unpark deliveries of %s: %w", endpoint, err)
		}
	}
	return ids, nil
}

// ParkedCounts counts the parked deliveries of each of endpoints (those
// with none are absent).
func (s *Store) ParkedCounts(ctx context.Context, endpoints []uuid.UUID) (map[uuid.UUID]int, error) {
	rows, err := s.db.Query(ctx, `SELECT e.id, (SELECT count(*) FROM deliveries d WHERE d.endpoint_id = e.id
			AND d.status = 'parked')
		FROM endpoints e WHERE e.id = ANY($1) AND e.has_parked`, endpoints)
	if err != nil {
		return nil, fmt.Errorf("parked counts: %w", err)
	}
	defer rows.Close()
	out := map[uuid.UUID]int{}
	for rows.Next() {
		var id uuid.UUID
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("parked counts: %w", err)
		}
		if n > 0 {
			out[id] = n
		}
	}
	return out, rows.Err()
}

// FailDelivery marks a pending delivery failed without an attempt: its
// whole retry schedule went by while its endpoint could not be tried.
func (s *Store) FailDelivery(ctx context.Context, id uuid.UUID) error {
	if _, err := s.db.Exec(ctx, `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = now()
		WHERE id = $1 AND status = 'pending'`, id); err != nil {
		return fmt.Errorf("fail delivery %s: %w", id, err)
	}
	return nil
}
