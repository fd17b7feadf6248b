package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// EndpointStats is an endpoint's health at a glance: its attempts since a
// time and its latest attempt.
type EndpointStats struct {
	EndpointID     uuid.UUID
	Attempts       int
	Succeeded      int
	LastStatusCode *int       // nil when the latest attempt got no answer, or there was none
	LastAttemptAt  *time.Time // nil when there was no attempt
}

// EndpointStats counts a tenant's endpoint's attempts started since
// `since` and reads its latest attempt. It does not check that the
// endpoint exists: an unknown one has no attempts.
func (s *Store) EndpointStats(ctx context.Context, tenant string, endpoint uuid.UUID, since time.Time) (EndpointStats, error) {
	// Attempt ids are UUIDv7 made when the attempt is recorded, so the
	// (endpoint_id, id DESC) index bounds the scan; started_at, a little
	// earlier than the id's time, makes the count exact.
	floor := uuidFloor(since.Add(-5 * time.Minute))
	out := EndpointStats{EndpointID: endpoint}
	err := s.db.QueryRow(ctx, `SELECT c.n, c.ok, l.status_code, l.started_at
		FROM (SELECT count(*) AS n, count(*) FILTER (WHERE status = 'succeeded') AS ok FROM attempts
			WHERE tenant_id = $1 AND endpoint_id = $2 AND id >= $3 AND started_at >= $4) c
		LEFT JOIN LATERAL (SELECT status_code, started_at FROM attempts
			WHERE tenant_id = $1 AND endpoint_id = $2 ORDER BY id DESC LIMIT 1) l ON true`,
		tenant, endpoint, floor, since).Scan(&out.Attempts, &out.Succeeded, &out.LastStatusCode, &out.LastAttemptAt)
	if err != nil {
		return EndpointStats{}, fmt.Errorf("endpoint stats of %s: %w", endpoint, mapErr(err))
	}
	return out, nil
}

// uuidFloor is the smallest UUIDv7 of the millisecond t: every id made at
// or after t sorts after it.
func uuidFloor(t time.Time) uuid.UUID {
	var id uuid.UUID
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(t.UnixMilli()))
	copy(id[:6], ms[2:])
	return id
}
