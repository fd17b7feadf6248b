package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The statements in this file serve publishes in batches: many concurrent
// publishes share one transaction, and each statement handles all of them.

// InsertMessages stores messages in one statement. For each input it
// returns the stored message, or, when the tenant already used the
// message's idempotency key (before or earlier in the same batch), the
// first message with existed[i] = true.
func (s *Store) InsertMessages(ctx context.Context, ms []Message) ([]Message, []bool, error) {
	n := len(ms)
	ids, tenants, types, keys := make([]uuid.UUID, n), make([]string, n), make([]string, n), make([]*string, n)
	payloads := make([][]byte, n)
	channels := make([]string, n) // text[] per row, as array literals
	for i := range ms {
		if ms[i].ID == uuid.Nil {
			ms[i].ID = NewID()
		}
		m := ms[i]
		ids[i], tenants[i], types[i], payloads[i] = m.ID, m.TenantID, m.EventType, m.Payload
		if m.IdempotencyKey != "" {
			k := m.IdempotencyKey
			keys[i] = &k
		}
		channels[i] = arrayLiteral(m.Channels)
	}
	rows, err := s.db.Query(ctx, `INSERT INTO messages (id, tenant_id, event_type, payload, channels, idempotency_key)
		SELECT id, tenant_id, event_type, payload, channels::text[], idempotency_key
		FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::text[])
			AS t(id, tenant_id, event_type, payload, channels, idempotency_key)
		ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
		RETURNING `+messageCols, ids, tenants, types, payloads, channels, keys)
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
	for i, m := range ms {
		if got, ok := byID[m.ID]; ok {
			out[i] = got
			continue
		}
		if keys[i] == nil {
			return nil, nil, fmt.Errorf("insert messages: message %s was not stored", m.ID)
		}
		existed[i] = true
		lookTenants, lookKeys = append(lookTenants, m.TenantID), append(lookKeys, m.IdempotencyKey)
	}
	if len(lookKeys) == 0 {
		return out, existed, nil
	}
	rows, err = s.db.Query(ctx, `SELECT `+messageCols+` FROM messages
		WHERE (tenant_id, idempotency_key) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, lookTenants, lookKeys)
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

// NewDelivery names one delivery to create.
type NewDelivery struct {
	TenantID   string
	MessageID  uuid.UUID
	EndpointID uuid.UUID
}

// InsertDeliveriesMany creates pending deliveries of several messages in one
// statement, skipping pairs that exist, and returns their ids.
func (s *Store) InsertDeliveriesMany(ctx context.Context, ds []NewDelivery) ([]uuid.UUID, error) {
	n := len(ds)
	ids, tenants, messages, endpoints := make([]uuid.UUID, n), make([]string, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
	for i, d := range ds {
		ids[i], tenants[i], messages[i], endpoints[i] = NewID(), d.TenantID, d.MessageID, d.EndpointID
	}
	rows, err := s.db.Query(ctx, `INSERT INTO deliveries (id, tenant_id, message_id, endpoint_id, next_attempt_at)
		SELECT id, tenant_id, message_id, endpoint_id, now()
		FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[]) AS t(id, tenant_id, message_id, endpoint_id)
		ON CONFLICT (message_id, endpoint_id) DO NOTHING RETURNING id`, ids, tenants, messages, endpoints)
	if err != nil {
		return nil, fmt.Errorf("insert deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("insert deliveries: %w", mapErr(err))
	}
	return out, nil
}

// PublishLookups is what a batch of publishes reads before it writes.
type PublishLookups struct {
	EventTypes map[string]EventType
	Tenants    map[string]bool       // which tenants exist
	Endpoints  map[string][]Endpoint // enabled endpoints by tenant
}

// LookupForPublish reads the event types, tenants and enabled endpoints a
// batch of publishes needs, pipelined in one round trip.
func (s *Store) LookupForPublish(ctx context.Context, names, tenants []string) (PublishLookups, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT `+eventTypeCols+` FROM event_types WHERE name = ANY($1)`, names)
	b.Queue(`SELECT id FROM tenants WHERE id = ANY($1)`, tenants)
	b.Queue(`SELECT `+endpointCols+` FROM endpoints WHERE tenant_id = ANY($1) AND NOT disabled ORDER BY id`, tenants)
	res := s.db.SendBatch(ctx, b)
	defer res.Close()
	out := PublishLookups{EventTypes: map[string]EventType{}, Tenants: map[string]bool{}, Endpoints: map[string][]Endpoint{}}

	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("publish lookups: event types: %w", err)
	}
	types, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventType, error) { return scanEventType(r) })
	if err != nil {
		return out, fmt.Errorf("publish lookups: event types: %w", err)
	}
	for _, e := range types {
		out.EventTypes[e.Name] = e
	}

	rows, err = res.Query()
	if err != nil {
		return out, fmt.Errorf("publish lookups: tenants: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return out, fmt.Errorf("publish lookups: tenants: %w", err)
	}
	for _, id := range ids {
		out.Tenants[id] = true
	}

	rows, err = res.Query()
	if err != nil {
		return out, fmt.Errorf("publish lookups: endpoints: %w", err)
	}
	eps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Endpoint, error) { return scanEndpoint(r) })
	if err != nil {
		return out, fmt.Errorf("publish lookups: endpoints: %w", err)
	}
	for _, e := range eps {
		out.Endpoints[e.TenantID] = append(out.Endpoints[e.TenantID], e)
	}
	return out, nil
}
