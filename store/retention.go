package store

import (
	"context"
	"fmt"
	"time"
)

// Retention works on three scales (see the README's "History and
// retention"):
//   - whole days: DropExpiredPartitions drops the daily partitions older
//     than the cutoff, in a few milliseconds each;
//   - the legacy partitions (rows from before the history was
//     partitioned) and idempotency keys: DeleteExpired deletes them in
//     batches, as every row was deleted before partitioning;
//   - messages with their own, shorter retention: DeleteExpired deletes
//     them (and what hangs off them) in batches too.

// DeleteExpired deletes, in one batch of at most limit rows each: the
// idempotency keys of messages published before cutoff; from the legacy
// partitions, the attempts made before cutoff and the messages published
// before cutoff with their deliveries and payloads, except messages that
// still have a pending delivery; and the messages whose own retention
// (expires_at) has passed, with their deliveries, attempts and payloads,
// except those with a pending delivery. It returns how many rows it
// deleted; call it until it returns 0. Ids are UUIDv7, so "before cutoff"
// is a range of the primary key.
func (s *Store) DeleteExpired(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	edge := minV7(cutoff)
	tag, err := s.db.Exec(ctx, `DELETE FROM message_keys WHERE (tenant_id, idempotency_key) IN (
		SELECT tenant_id, idempotency_key FROM message_keys WHERE message_id < $1 LIMIT $2)`, edge, limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired idempotency keys: %w", err)
	}
	n := int(tag.RowsAffected())
	legacy, err := s.deleteExpiredLegacy(ctx, edge, limit)
	n += legacy
	if err != nil {
		return n, err
	}
	own, err := s.deleteOwnExpired(ctx, limit)
	return n + own, err
}

// deleteExpiredLegacy is DeleteExpired for the legacy partitions, while
// they exist.
func (s *Store) deleteExpiredLegacy(ctx context.Context, edge any, limit int) (int, error) {
	var hasAttempts, hasMessages bool
	if err := s.db.QueryRow(ctx, `SELECT to_regclass('attempts_legacy') IS NOT NULL,
			to_regclass('messages_legacy') IS NOT NULL AND to_regclass('deliveries_legacy') IS NOT NULL
			AND to_regclass('message_payloads_legacy') IS NOT NULL`).Scan(&hasAttempts, &hasMessages); err != nil {
		return 0, fmt.Errorf("find legacy partitions: %w", err)
	}
	n := 0
	if hasAttempts {
		tag, err := s.db.Exec(ctx, `DELETE FROM attempts_legacy WHERE id IN (
			SELECT id FROM attempts_legacy WHERE id < $1 ORDER BY id LIMIT $2)`, edge, limit)
		if err != nil {
			return 0, fmt.Errorf("delete expired attempts: %w", err)
		}
		n = int(tag.RowsAffected())
	}
	if !hasMessages {
		return n, nil
	}
	var gone int
	err := s.db.QueryRow(ctx, `WITH old AS (
			SELECT m.id FROM messages_legacy m WHERE m.id < $1
			  AND NOT EXISTS (SELECT 1 FROM deliveries_legacy d WHERE d.message_id = m.id AND d.status = 'pending')
			ORDER BY m.id LIMIT $2
		), dels AS (
			DELETE FROM deliveries_legacy WHERE message_id IN (SELECT id FROM old) RETURNING 1
		), pays AS (
			DELETE FROM message_payloads_legacy WHERE message_id IN (SELECT id FROM old) RETURNING 1
		), msgs AS (
			DELETE FROM messages_legacy WHERE id IN (SELECT id FROM old) RETURNING 1
		)
		SELECT (SELECT count(*) FROM dels) + (SELECT count(*) FROM pays) + (SELECT count(*) FROM msgs)`, edge, limit).Scan(&gone)
	if err != nil {
		return n, fmt.Errorf("delete expired messages: %w", err)
	}
	return n + gone, nil
}

// deleteOwnExpired deletes a batch of the messages whose own retention has
// passed. They are few (a publisher asks for it), and every row of theirs
// is found by an index on message_id in each partition newer than the
// message.
func (s *Store) deleteOwnExpired(ctx context.Context, limit int) (int, error) {
	var gone int
	err := s.db.QueryRow(ctx, `WITH old AS (
			SELECT m.id, m.tenant_id, m.idempotency_key FROM messages m WHERE m.expires_at < now()
			  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status = 'pending'
				AND d.id >= hookd_deliveries_from(m.id) AND d.id < hookd_deliveries_to(m.id))
			ORDER BY m.expires_at LIMIT $1
		), edge AS (
			SELECT hookd_v7_at_ms(min(hookd_v7_ms(id)) - 60000) AS id FROM old
		), atts AS (
			DELETE FROM attempts WHERE message_id IN (SELECT id FROM old) AND id >= (SELECT id FROM edge) RETURNING 1
		), dels AS (
			DELETE FROM deliveries d USING old WHERE d.message_id = old.id
			  AND d.id >= hookd_deliveries_from(old.id) AND d.id < hookd_deliveries_to(old.id) RETURNING 1
		), pays AS (
			DELETE FROM message_payloads WHERE message_id IN (SELECT id FROM old) RETURNING 1
		), keys AS (
			DELETE FROM message_keys k USING old WHERE k.tenant_id = old.tenant_id
			  AND k.idempotency_key = old.idempotency_key AND k.message_id = old.id RETURNING 1
		), msgs AS (
			DELETE FROM messages WHERE id IN (SELECT id FROM old) RETURNING 1
		)
		SELECT (SELECT count(*) FROM atts) + (SELECT count(*) FROM dels) + (SELECT count(*) FROM pays)
			+ (SELECT count(*) FROM keys) + (SELECT count(*) FROM msgs)`, limit).Scan(&gone)
	if err != nil {
		return 0, fmt.Errorf("delete messages past their own retention: %w", err)
	}
	return gone, nil
}
