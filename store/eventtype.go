package store

import (
	"bytes"
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
	// Version is the number of the latest version, whose schema and
	// example Schema and Example are; Versions lists every version, oldest
	// first (see version.go for how they are written).
	Version  int
	Versions []EventTypeVersion
}

const eventTypeCols = `name, description, schema, example, archived, created_at, updated_at, version`

// eventTypeDest returns the scan destinations of eventTypeCols into e.
func eventTypeDest(e *EventType) []any {
	return []any{&e.Name, &e.Description, &e.Schema, &e.Example, &e.Archived, &e.CreatedAt, &e.UpdatedAt, &e.Version}
}

func scanEventType(row pgx.Row) (EventType, error) {
	var e EventType
	err := row.Scan(eventTypeDest(&e)...)
	return e, mapErr(err)
}

// CreateEventType stores e with its versions (see [EventType.Versions]).
// It returns ErrConflict when the name is taken.
func (s *Store) CreateEventType(ctx context.Context, e EventType) (EventType, error) {
	e.Version = latestOf(e)
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO event_types (name, description, schema, example, archived, version) VALUES ($1, $2, $3, $4, $5, $6)
		RETURNING `+eventTypeCols, e.Name, e.Description, e.Schema, e.Example, e.Archived, e.Version)
	out, err := s.writeEventType(ctx, b, e)
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
	list := []EventType{e}
	if err := s.attachVersions(ctx, list); err != nil {
		return EventType{}, fmt.Errorf("get event type %s: %w", name, err)
	}
	return list[0], nil
}

// UpdateEventType writes every field but the name, and the versions (see
// [EventType.Versions]).
func (s *Store) UpdateEventType(ctx context.Context, e EventType) (EventType, error) {
	e.Version = latestOf(e)
	b := &pgx.Batch{}
	b.Queue(`UPDATE event_types SET description = $2, schema = $3, example = $4, archived = $5, version = $6,
			updated_at = now()
		WHERE name = $1 RETURNING `+eventTypeCols, e.Name, e.Description, e.Schema, e.Example, e.Archived, e.Version)
	out, err := s.writeEventType(ctx, b, e)
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
	db, ok := s.db.(interface {
		Begin(context.Context) (pgx.Tx, error)
	})
	if !ok {
		return EventType{}, false, fmt.Errorf("upsert event type %s: the store cannot begin a transaction", e.Name)
	}
	var out EventType
	var created bool
	// On a pool this is a transaction; in one (WithTx), a savepoint. The
	// row lock makes concurrent PUTs of one name take turns.
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		st := s.WithTx(tx)
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM event_types WHERE name = $1 FOR UPDATE)`, e.Name).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			var err error
			out, err = st.CreateEventType(ctx, e)
			created = err == nil
			return err
		}
		cur, err := st.GetEventType(ctx, e.Name)
		if err != nil {
			return err
		}
		if len(e.Versions) == 0 && cur.Description == e.Description && bytes.Equal(cur.Schema, e.Schema) &&
			bytes.Equal(cur.Example, e.Example) && cur.Archived == e.Archived {
			out = cur // it already reads as e: nothing is written
			return nil
		}
		out, err = st.UpdateEventType(ctx, e)
		return err
	})
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
	if err := s.attachVersions(ctx, list); err != nil {
		return nil, "", fmt.Errorf("list event types: %w", err)
	}
	return list, next, nil
}
