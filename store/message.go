package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Message is one published event for one tenant. Payload is the exact bytes
// that were published.
type Message struct {
	ID             uuid.UUID
	TenantID       string
	EventType      string
	Payload        []byte
	Channels       []string
	IdempotencyKey string // "" = none
	CreatedAt      time.Time
}

const messageCols = `id, tenant_id, event_type, payload, channels, coalesce(idempotency_key, ''), created_at`

func scanMessage(row pgx.Row) (Message, error) {
	var m Message
	err := row.Scan(&m.ID, &m.TenantID, &m.EventType, &m.Payload, &m.Channels, &m.IdempotencyKey, &m.CreatedAt)
	return m, mapErr(err)
}

// InsertMessage stores m. When m has an idempotency key that the tenant
// already used, it stores nothing and returns the first message with
// existed = true.
func (s *Store) InsertMessage(ctx context.Context, m Message) (Message, bool, error) {
	if m.ID == uuid.Nil {
		m.ID = NewID()
	}
	var key *string
	if m.IdempotencyKey != "" {
		key = &m.IdempotencyKey
	}
	out, err := scanMessage(s.db.QueryRow(ctx, `INSERT INTO messages (id, tenant_id, event_type, payload, channels, idempotency_key)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
		RETURNING `+messageCols, m.ID, m.TenantID, m.EventType, m.Payload, orEmpty(m.Channels), key))
	if err == nil {
		return out, false, nil
	}
	if !errors.Is(err, ErrNotFound) || key == nil {
		return Message{}, false, fmt.Errorf("insert message: %w", err)
	}
	out, err = scanMessage(s.db.QueryRow(ctx, `SELECT `+messageCols+` FROM messages
		WHERE tenant_id = $1 AND idempotency_key = $2`, m.TenantID, *key))
	if err != nil {
		return Message{}, false, fmt.Errorf("find message by idempotency key: %w", err)
	}
	return out, true, nil
}

// GetMessage returns ErrNotFound unless the message exists and belongs to tenant.
func (s *Store) GetMessage(ctx context.Context, tenant string, id uuid.UUID) (Message, error) {
	m, err := scanMessage(s.db.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE tenant_id = $1 AND id = $2`,
		tenant, id))
	if err != nil {
		return Message{}, fmt.Errorf("get message %s: %w", id, err)
	}
	return m, nil
}

// MessageFilter narrows a list of messages. Zero fields do not filter.
type MessageFilter struct {
	EventType  string
	Since      time.Time
	Until      time.Time
	EndpointID uuid.UUID // only messages with a delivery to this endpoint
	Status     string    // only messages with a delivery in this status
}

// ListMessages lists a tenant's messages newest first.
func (s *Store) ListMessages(ctx context.Context, tenant string, f MessageFilter, p Page) ([]Message, string, error) {
	after, err := decodeIDCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	var since, until *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	if !f.Until.IsZero() {
		until = &f.Until
	}
	var endpoint *uuid.UUID
	if f.EndpointID != uuid.Nil {
		endpoint = &f.EndpointID
	}
	rows, err := s.db.Query(ctx, `SELECT `+messageCols+` FROM messages m
		WHERE tenant_id = $1
		  AND ($2::uuid IS NULL OR id < $2)
		  AND ($3 = '' OR event_type = $3)
		  AND ($4::timestamptz IS NULL OR created_at >= $4)
		  AND ($5::timestamptz IS NULL OR created_at < $5)
		  AND (($6::uuid IS NULL AND $7 = '') OR EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id
			AND ($6::uuid IS NULL OR d.endpoint_id = $6) AND ($7 = '' OR d.status = $7)))
		ORDER BY id DESC LIMIT $8`, tenant, after, f.EventType, since, until, endpoint, f.Status, p.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list messages: %w", err)
	}
	list, next := pageOf(list, p.Limit, func(m Message) string { return m.ID.String() })
	return list, next, nil
}
