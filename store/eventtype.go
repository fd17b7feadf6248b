package store

import (
	"context"
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
