package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TakeRate takes an endpoint's next turn at perSecond attempts a second,
// by Postgres's clock so that every worker process shares one schedule
// (the generic cell rate algorithm: turns are 1/perSecond apart, with no
// burst). It returns 0 when the attempt may go now, else how long until
// the endpoint's next turn.
func (s *Store) TakeRate(ctx context.Context, endpoint uuid.UUID, perSecond int) (time.Duration, error) {
	step := time.Second / time.Duration(max(perSecond, 1))
	var taken bool
	var wait time.Duration
	err := s.db.QueryRow(ctx, `WITH take AS (
			INSERT INTO endpoint_rates AS r (endpoint_id, tat) VALUES ($1, now() + $2::interval)
			ON CONFLICT (endpoint_id) DO UPDATE SET tat = greatest(r.tat, now()) + $2::interval
			WHERE r.tat <= now() + $2::interval / 2
			RETURNING 1
		)
		SELECT EXISTS (SELECT 1 FROM take),
			coalesce((SELECT tat - now() - $2::interval / 2 FROM endpoint_rates WHERE endpoint_id = $1), '0')`,
		endpoint, step).Scan(&taken, &wait)
	if errors.Is(err, pgx.ErrNoRows) {
		return step, nil
	}
	if err != nil {
		return 0, fmt.Errorf("take rate of %s: %w", endpoint, err)
	}
	if taken {
		return 0, nil
	}
	return max(wait, time.Millisecond), nil
}
