package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// EventType is a kind of message, like invoice.paid.
type EventType struct {
	Name        string
	Description string
	Schema      []byte // a JSON Schema, or nil
	Example     []byte // an example payload, or nil
	Archived    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

const eventTypeCols = `name, description, schema, example, archived, created_at, updated_at`

func scanEventType(row pgx.Row) (EventType, error) {
	var e EventType
	err := row.Scan(&e.Name, &e.Description, &e.Schema, &e.Example, &e.Archived, &e.CreatedAt, &e.UpdatedAt)
	return e, mapErr(err)
}

// CreateEventType returns ErrConflict when the name is taken.
func (s *Store) CreateEventType(ctx context.Context, e EventType) (EventType, error) {
	out, err := scanEventType(s.db.QueryRow(ctx, `
		INSERT INTO event_types (name, description, schema, example, archived) VALUES ($1, $2, $3, $4, $5)
		RETURNING `+eventTypeCols, e.Name, e.Description, e.Schema, e.Example, e.Archived))
	if err != nil {
		return EventType{}, fmt.Errorf("create event type %s: %w", e.Name, err)
	}
	return out, nil
}

// GetEventType returns ErrNotFound when there is no such event type.
func (s *Store) GetEventType(ctx context.Context, name string) (EventType, error) {
	e, err := scanEventType(s.db.QueryRow(ctx, `SELECT `+eventTypeCols+` FROM event_types WHERE name = $1`, name))
	if err != nil {
		return EventType{}, fmt.Errorf("get event type %s: %w", name, err)
	}
	return e, nil
}

// UpdateEventType writes every field but the name.
func (s *Store) UpdateEventType(ctx context.Context, e EventType) (EventType, error) {
	out, err := scanEventType(s.db.QueryRow(ctx, `
		UPDATE event_types SET description = $2, schema = $3, example = $4, archived = $5, updated_at = now()
		WHERE name = $1 RETURNING `+eventTypeCols, e.Name, e.Description, e.Schema, e.Example, e.Archived))
	if err != nil {
		return EventType{}, fmt.Errorf("update event type %s: %w", e.Name, err)
	}
	return out, nil
}

// UpsertEventType creates the event type or replaces every field of it but
// the name. created tells which. Writing what is already stored changes
// nothing, not even updated_at, so that declaring event types from code on
// every deploy is a no-op when nothing changed.
func (s *Store) UpsertEventType(ctx context.Context, e EventType) (EventType, bool, error) {
	var created bool
	row := s.db.QueryRow(ctx, `
		INSERT INTO event_types (name, description, schema, example, archived) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, schema = EXCLUDED.schema,
			example = EXCLUDED.example, archived = EXCLUDED.archived, updated_at = now()
		WHERE (event_types.description, event_types.schema, event_types.example, event_types.archived)
			IS DISTINCT FROM (EXCLUDED.description, EXCLUDED.schema, EXCLUDED.example, EXCLUDED.archived)
		RETURNING `+eventTypeCols+`, (xmax = 0)`, e.Name, e.Description, e.Schema, e.Example, e.Archived)
	var out EventType
	err := row.Scan(&out.Name, &out.Description, &out.Schema, &out.Example, &out.Archived, &out.CreatedAt, &out.UpdatedAt,
		&created)
	if errors.Is(err, pgx.ErrNoRows) {
		// It exists and already reads as e: nothing was written.
		out, err = s.GetEventType(ctx, e.Name)
		return out, false, err
	}
	if err != nil {
		return EventType{}, false, fmt.Errorf("upsert event type %s: %w", e.Name, mapErr(err))
	}
	return out, created, nil
}

// ListEventTypes lists event types newest first, archived ones only when asked.
func (s *Store) ListEventTypes(ctx context.Context, includeArchived bool, p Page) ([]EventType, string, error) {
	c, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	q := `SELECT ` + eventTypeCols + ` FROM event_types WHERE ($2 OR NOT archived)`
	args := []any{p.Limit + 1, includeArchived}
	if c != nil {
		q += ` AND (created_at, name) < ($3, $4)`
		args = append(args, c.T, c.K)
	}
	q += ` ORDER BY created_at DESC, name DESC LIMIT $1`
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list event types: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventType, error) { return scanEventType(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list event types: %w", err)
	}
	list, next := pageOf(list, p.Limit, func(e EventType) string { return encodeCursor(e.CreatedAt, e.Name) })
	return list, next, nil
}
