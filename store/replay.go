package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Replay statuses.
const (
	ReplayRunning  = "running"
	ReplayFinished = "finished"
)

// Replay is an operator's bulk re-send of the deliveries matching a filter.
type Replay struct {
	ID         uuid.UUID
	CreatedBy  string
	Filter     []byte // the filter as asked, a JSON object
	Status     string
	Matched    int
	Enqueued   int
	Done       int // deliveries of this replay that have been attempted since
	CreatedAt  time.Time
	FinishedAt *time.Time
}

const replayCols = `id, created_by, filter, status, matched, enqueued,
	(SELECT count(DISTINCT delivery_id) FROM attempts a WHERE a.replay_id = r.id), created_at, finished_at`

func scanReplay(row pgx.Row) (Replay, error) {
	var r Replay
	err := row.Scan(&r.ID, &r.CreatedBy, &r.Filter, &r.Status, &r.Matched, &r.Enqueued, &r.Done, &r.CreatedAt, &r.FinishedAt)
	return r, mapErr(err)
}

// CreateReplay records a replay as running with its matched count.
func (s *Store) CreateReplay(ctx context.Context, r Replay) (Replay, error) {
	if r.ID == uuid.Nil {
		r.ID = NewID()
	}
	out, err := scanReplay(s.db.QueryRow(ctx, `INSERT INTO replays AS r (id, created_by, filter, status, matched)
		VALUES ($1, $2, $3, 'running', $4) RETURNING `+replayCols, r.ID, r.CreatedBy, orEmptyJSON(r.Filter), r.Matched))
	if err != nil {
		return Replay{}, fmt.Errorf("create replay: %w", err)
	}
	return out, nil
}

// GetReplay returns ErrNotFound when there is no such replay.
func (s *Store) GetReplay(ctx context.Context, id uuid.UUID) (Replay, error) {
	r, err := scanReplay(s.db.QueryRow(ctx, `SELECT `+replayCols+` FROM replays r WHERE id = $1`, id))
	if err != nil {
		return Replay{}, fmt.Errorf("get replay %s: %w", id, err)
	}
	return r, nil
}

// AddReplayEnqueued adds n to a replay's enqueued count, and marks it
// finished when finished is true.
func (s *Store) AddReplayEnqueued(ctx context.Context, id uuid.UUID, n int, finished bool) error {
	_, err := s.db.Exec(ctx, `UPDATE replays SET enqueued = enqueued + $2,
		status = CASE WHEN $3 THEN 'finished' ELSE status END,
		finished_at = CASE WHEN $3 THEN now() ELSE finished_at END WHERE id = $1`, id, n, finished)
	if err != nil {
		return fmt.Errorf("update replay %s: %w", id, err)
	}
	return nil
}

// ListReplays lists replays (bulk, recover and resend) newest first.
func (s *Store) ListReplays(ctx context.Context, p Page) ([]Replay, string, error) {
	after, err := decodeIDCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.db.Query(ctx, `SELECT `+replayCols+` FROM replays r
		WHERE ($1::uuid IS NULL OR id < $1) ORDER BY id DESC LIMIT $2`, after, p.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list replays: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Replay, error) { return scanReplay(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list replays: %w", err)
	}
	list, next := pageOf(list, p.Limit, func(r Replay) string { return r.ID.String() })
	return list, next, nil
}
