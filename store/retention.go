package store

import (
	"context"
	"fmt"
	"time"
)

// DeleteExpired deletes, in one batch of at most limit rows each, the
// attempts made before cutoff and the messages published before cutoff
// with their deliveries, except messages that still have a pending
// delivery. It returns how many rows it deleted; call it until it returns
// 0. Ids are UUIDv7, so "before cutoff" is a range of the primary key.
func (s *Store) DeleteExpired(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	edge := minV7(cutoff)
	tag, err := s.db.Exec(ctx, `DELETE FROM attempts WHERE id IN (
		SELECT id FROM attempts WHERE id < $1 ORDER BY id LIMIT $2)`, edge, limit)
	if err != nil {
		return 0, fmt.Errorf("delete expired attempts: %w", err)
	}
	n := int(tag.RowsAffected())
	var gone int
	err = s.db.QueryRow(ctx, `WITH old AS (
			SELECT m.id FROM messages m WHERE m.id < $1
			  AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status = 'pending')
			ORDER BY m.id LIMIT $2
		), dels AS (
			DELETE FROM deliveries WHERE message_id IN (SELECT id FROM old) RETURNING 1
		), pays AS (
			DELETE FROM message_payloads WHERE message_id IN (SELECT id FROM old) RETURNING 1
		), msgs AS (
			DELETE FROM messages WHERE id IN (SELECT id FROM old) RETURNING 1
		)
		SELECT (SELECT count(*) FROM dels) + (SELECT count(*) FROM pays) + (SELECT count(*) FROM msgs)`, edge, limit).Scan(&gone)
	if err != nil {
		return n, fmt.Errorf("delete expired messages: %w", err)
	}
	return n + gone, nil
}
