package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TriggerBackfill is the trigger of the attempts of a backfill: messages
// published before an endpoint asked for them, sent to it afterwards.
const TriggerBackfill = "backfill"

// BackfillFilter selects the messages a backfill sends one endpoint: the
// tenant's messages created since Since that the endpoint's filters match
// and that have no delivery to it yet.
type BackfillFilter struct {
	TenantID   string
	EndpointID uuid.UUID
	Since      time.Time
	// A message matches when its event type is one of EventTypes or starts
	// with one of Prefixes (like "invoice."); both empty match every event
	// type.
	EventTypes []string
	Prefixes   []string
	// Channels: a message matches when it has at least one of them; empty
	// matches every message.
	Channels []string
}

func (f BackfillFilter) where() (string, []any) {
	// Ids are UUIDv7: the bound on the id lets the index skip older
	// messages, with a minute of slack for clock skew (as in deliveries).
	return `m.tenant_id = $1 AND m.created_at >= $2 AND m.id >= $3 AND m.expunged_at IS NULL
		AND ((cardinality($4::text[]) = 0 AND cardinality($5::text[]) = 0) OR m.event_type = ANY($4)
			OR EXISTS (SELECT 1 FROM unnest($5::text[]) p WHERE starts_with(m.event_type, p)))
		AND (cardinality($6::text[]) = 0 OR m.channels && $6)
		AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.endpoint_id = $7
			AND d.id >= hookd_deliveries_from(m.id) AND d.id < hookd_deliveries_to(m.id))`,
		[]any{f.TenantID, f.Since, minV7(f.Since.Add(-time.Minute)), orEmpty(f.EventTypes), orEmpty(f.Prefixes),
			orEmpty(f.Channels), f.EndpointID}
}

// CountBackfill counts the messages f selects.
func (s *Store) CountBackfill(ctx context.Context, f BackfillFilter) (int, error) {
	where, args := f.where()
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM messages m WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count backfill: %w", err)
	}
	return n, nil
}

// BackfillMessages returns up to limit of the messages f selects, oldest
// first, without their payloads.
func (s *Store) BackfillMessages(ctx context.Context, f BackfillFilter, limit int) ([]Message, error) {
	where, args := f.where()
	rows, err := s.db.Query(ctx, `SELECT id, tenant_id, event_type, ''::bytea, channels, coalesce(idempotency_key, ''),
			created_at, coalesce(trace_parent, ''), version, expires_at, expunged_at
		FROM messages m WHERE `+where+` ORDER BY m.id LIMIT $8`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("backfill messages: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
	if err != nil {
		return nil, fmt.Errorf("backfill messages: %w", err)
	}
	return list, nil
}

// ScheduledDelivery is a delivery created to be first attempted at At.
type ScheduledDelivery struct {
	ID        uuid.UUID
	MessageID uuid.UUID
	At        time.Time
}

// InsertScheduledDeliveries creates pending deliveries of messages to one
// endpoint of tenant, the i-th first due at at[i], skipping messages that
// have a delivery to it already, and returns those it created.
func (s *Store) InsertScheduledDeliveries(ctx context.Context, tenant string, endpoint uuid.UUID, messages []uuid.UUID,
	at []time.Time) ([]ScheduledDelivery, error) {
	if len(messages) != len(at) {
		return nil, fmt.Errorf("insert scheduled deliveries: %d messages but %d times", len(messages), len(at))
	}
	ids := make([]uuid.UUID, len(messages))
	for i, m := range messages {
		ids[i] = DeliveryID(m, endpoint)
	}
	rows, err := s.db.Query(ctx, `INSERT INTO deliveries (id, tenant_id, message_id, endpoint_id, next_attempt_at)
		SELECT id, $1, message_id, $2, at FROM unnest($3::uuid[], $4::uuid[], $5::timestamptz[]) AS t(id, message_id, at)
		ON CONFLICT DO NOTHING RETURNING id, message_id, next_attempt_at`,
		tenant, endpoint, ids, messages, at)
	if err != nil {
		return nil, fmt.Errorf("insert scheduled deliveries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ScheduledDelivery, error) {
		var d ScheduledDelivery
		err := r.Scan(&d.ID, &d.MessageID, &d.At)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("insert scheduled deliveries: %w", mapErr(err))
	}
	return out, nil
}
