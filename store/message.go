package store

import (
	"context"
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
	// TraceParent is the W3C traceparent of the span that published the
	// message ("" = none), which the spans of its fan-out and attempts
	// link to.
	TraceParent string
	// Version is the version of the event type that Payload is (0 is
	// stored as 1). Payloads holds the payloads of other versions when it
	// was published with several (version.go); only InsertMessages' answer
	// and MessagePayloads fill it in.
	Version  int
	Payloads map[int][]byte
	// ExpiresAt is when the message's own retention, shorter than the
	// global one, ends (nil: the global one applies). The retention job
	// deletes it then, with its deliveries and attempts.
	ExpiresAt *time.Time
	// ExpungedAt is when the message's content (its payloads and its
	// attempts' response bodies) was removed ([Store.ExpungeMessage]); its
	// metadata stays. nil: it was not.
	ExpungedAt *time.Time
}

const messageCols = `id, tenant_id, event_type, payload, channels, coalesce(idempotency_key, ''), created_at,
	coalesce(trace_parent, ''), version, expires_at, expunged_at`

func scanMessage(row pgx.Row) (Message, error) {
	var m Message
	err := row.Scan(&m.ID, &m.TenantID, &m.EventType, &m.Payload, &m.Channels, &m.IdempotencyKey, &m.CreatedAt,
		&m.TraceParent, &m.Version, &m.ExpiresAt, &m.ExpungedAt)
	return m, mapErr(err)
}

// InsertMessage stores m. When m has an idempotency key that the tenant
// already used, it stores nothing and returns the first message with
// existed = true. It is InsertMessages for one message.
func (s *Store) InsertMessage(ctx context.Context, m Message) (Message, bool, error) {
	out, existed, err := s.InsertMessages(ctx, []Message{m})
	if err != nil {
		return Message{}, false, err
	}
	return out[0], existed[0], nil
}

// InsertMessages stores messages in one statement. For each input it
// returns the stored message, or, when the tenant already used the
// message's idempotency key (before or earlier in the same batch), the
// first message with existed[i] = true.
func (s *Store) InsertMessages(ctx context.Context, ms []Message) ([]Message, []bool, error) {
	n := len(ms)
	sql, args, keys := insertMessages(ms)
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("insert messages: %w", err)
	}
	stored, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, nil, fmt.Errorf("insert messages: %w", mapErr(err))
	}
	byID := make(map[uuid.UUID]Message, len(stored))
	for _, m := range stored {
		byID[m.ID] = m
	}
	out, existed := make([]Message, n), make([]bool, n)
	var lookTenants, lookKeys []string
	var versioned []Message
	for i, m := range ms {
		if got, ok := byID[m.ID]; ok {
			got.Payloads = m.Payloads
			out[i] = got
			if len(m.Payloads) > 0 {
				versioned = append(versioned, m)
			}
			continue
		}
		if keys[i] == nil {
			return nil, nil, fmt.Errorf("insert messages: message %s was not stored", m.ID)
		}
		existed[i] = true
		lookTenants, lookKeys = append(lookTenants, m.TenantID), append(lookKeys, m.IdempotencyKey)
	}
	if err := s.insertPayloads(ctx, versioned); err != nil {
		return nil, nil, err
	}
	if len(lookKeys) == 0 {
		return out, existed, nil
	}
	rows, err = s.db.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE id IN (SELECT message_id FROM message_keys
		WHERE (tenant_id, idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[])))`, lookTenants, lookKeys)
	if err != nil {
		return nil, nil, fmt.Errorf("find messages by idempotency key: %w", err)
	}
	firsts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, nil, fmt.Errorf("find messages by idempotency key: %w", err)
	}
	byKey := make(map[[2]string]Message, len(firsts))
	for _, m := range firsts {
		byKey[[2]string{m.TenantID, m.IdempotencyKey}] = m
	}
	for i, m := range ms {
		if existed[i] {
			first, ok := byKey[[2]string{m.TenantID, m.IdempotencyKey}]
			if !ok {
				return nil, nil, fmt.Errorf("find message by idempotency key %q: %w", m.IdempotencyKey, ErrNotFound)
			}
			out[i] = first
		}
	}
	return out, existed, nil
}

// insertMessages is the statement that stores ms (giving those without
// an id a new one), its arguments, and each message's idempotency key (nil
// when it has none). A key is taken in message_keys (messages is
// partitioned and cannot hold a unique index without the id): a message
// with a key is stored only when its key row was, by this statement.
func insertMessages(ms []Message) (string, []any, []*string) {
	n := len(ms)
	ids, tenants, types, keys := make([]uuid.UUID, n), make([]string, n), make([]string, n), make([]*string, n)
	payloads, traces, versions, expires := make([][]byte, n), make([]*string, n), make([]int32, n), make([]*time.Time, n)
	channels := make([]string, n) // text[] per row, as array literals
	for i := range ms {
		if ms[i].ID == uuid.Nil {
			ms[i].ID = NewID()
		}
		m := ms[i]
		ids[i], tenants[i], types[i], payloads[i], versions[i] = m.ID, m.TenantID, m.EventType, m.Payload, int32(max(m.Version, 1))
		expires[i] = m.ExpiresAt
		if m.IdempotencyKey != "" {
			k := m.IdempotencyKey
			keys[i] = &k
		}
		channels[i] = arrayLiteral(m.Channels)
		if m.TraceParent != "" {
			tp := m.TraceParent
			traces[i] = &tp
		}
	}
	return `WITH input AS (
			SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::text[], $7::text[],
				$8::int[], $9::timestamptz[])
			AS t(id, tenant_id, event_type, payload, channels, idempotency_key, trace_parent, version, expires_at)
		), keys AS (
			INSERT INTO message_keys (tenant_id, idempotency_key, message_id)
			SELECT tenant_id, idempotency_key, id FROM input WHERE idempotency_key IS NOT NULL
			ON CONFLICT DO NOTHING RETURNING message_id
		)
		INSERT INTO messages (id, tenant_id, event_type, payload, channels, idempotency_key, trace_parent, version,
			expires_at)
		SELECT id, tenant_id, event_type, payload, channels::text[], idempotency_key, trace_parent, version, expires_at
		FROM input WHERE idempotency_key IS NULL OR id IN (SELECT message_id FROM keys)
		RETURNING ` + messageCols, []any{ids, tenants, types, payloads, channels, keys, traces, versions, expires}, keys
}

// arrayLiteral writes a text[] literal, quoting every element.
func arrayLiteral(ss []string) string {
	b := []byte{'{'}
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		for j := 0; j < len(s); j++ {
			if s[j] == '"' || s[j] == '\\' {
				b = append(b, '\\')
			}
			b = append(b, s[j])
		}
		b = append(b, '"')
	}
	return string(append(b, '}'))
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
	Channel    string    // only messages published on this channel
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
			AND d.id >= hookd_deliveries_from(m.id) AND d.id < hookd_deliveries_to(m.id)
			AND ($6::uuid IS NULL OR d.endpoint_id = $6) AND ($7 = '' OR d.status = $7)))
		  AND ($9 = '' OR $9 = ANY (channels))
		ORDER BY id DESC LIMIT $8`, tenant, after, f.EventType, since, until, endpoint, f.Status, p.Limit+1, f.Channel)
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
