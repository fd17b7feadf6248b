package store

import (
	"context"
	"fmt"

	"github.com/google/uuid"
)

// ExpungeMessage removes the content of a tenant's message, for a request
// to erase it: its payloads (of every version) and the response bodies of
// its attempts. Its metadata (event type, times, deliveries, the attempts'
// statuses and headers) stays, with the message and its attempts marked
// expunged. A delivery still pending or parked can send nothing any more
// and fails. Expunging twice changes nothing more. It returns ErrNotFound
// unless the message exists and belongs to tenant.
func (s *Store) ExpungeMessage(ctx context.Context, tenant string, id uuid.UUID) (Message, error) {
	// Every row of the message is found by its id with the bounds that
	// read its partitions only (partition.go).
	var n int
	err := s.db.QueryRow(ctx, `WITH m AS (
			UPDATE messages SET payload = ''::bytea, expunged_at = coalesce(expunged_at, now())
			WHERE tenant_id = $1 AND id = $2 RETURNING id
		), p AS (
			DELETE FROM message_payloads WHERE message_id = $2 AND EXISTS (SELECT 1 FROM m)
		), a AS (
			UPDATE attempts SET response_body = NULL, expunged_at = coalesce(expunged_at, now())
			WHERE message_id = $2 AND id >= hookd_deliveries_from($2) AND EXISTS (SELECT 1 FROM m)
		), d AS (
			UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, updated_at = now()
			WHERE message_id = $2 AND id >= hookd_deliveries_from($2) AND id < hookd_deliveries_to($2)
			  AND status IN ('pending', 'parked') AND EXISTS (SELECT 1 FROM m)
		)
		SELECT count(*) FROM m`, tenant, id).Scan(&n)
	if err != nil {
		return Message{}, fmt.Errorf("expunge message %s: %w", id, err)
	}
	if n == 0 {
		return Message{}, fmt.Errorf("expunge message %s: %w", id, ErrNotFound)
	}
	return s.GetMessage(ctx, tenant, id)
}
