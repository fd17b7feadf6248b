package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
	// DeliveryParked waits for its disabled endpoint to be enabled and
	// asked to send what it missed.
	DeliveryParked = "parked"
)

// Delivery is one (message, endpoint) pair that fan-out decided on.
type Delivery struct {
	ID             uuid.UUID
	TenantID       string
	MessageID      uuid.UUID
	EndpointID     uuid.UUID
	Status         string
	Attempts       int
	NextAttemptAt  *time.Time
	LastStatusCode *int
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const deliveryCols = `id, tenant_id, message_id, endpoint_id, status, attempts, next_attempt_at, last_status_code,
	created_at, updated_at`

func scanDelivery(row pgx.Row) (Delivery, error) {
	var d Delivery
	err := row.Scan(&d.ID, &d.TenantID, &d.MessageID, &d.EndpointID, &d.Status, &d.Attempts, &d.NextAttemptAt,
		&d.LastStatusCode, &d.CreatedAt, &d.UpdatedAt)
	return d, mapErr(err)
}

// NewDelivery names one delivery to create.
type NewDelivery struct {
	TenantID   string
	MessageID  uuid.UUID
	EndpointID uuid.UUID
}

// InsertDeliveries creates pending deliveries, of one message or several,
// in one statement, skipping pairs that exist, and returns the ids of those
// it created.
func (s *Store) InsertDeliveries(ctx context.Context, ds []NewDelivery) ([]uuid.UUID, error) {
	ids, _, err := s.InsertDeliveriesLoading(ctx, ds, 0)
	return ids, err
}

// InsertDeliveriesLoading is InsertDeliveries that also loads the work
// (LoadWork) of the first load of ds, pipelined in the same round trip and
// read in the same transaction: a publish whose process attempts those
// deliveries itself (delivery/direct.go) needs no read after its commit.
func (s *Store) InsertDeliveriesLoading(ctx context.Context, ds []NewDelivery, load int) ([]uuid.UUID, map[uuid.UUID]Work, error) {
	n := len(ds)
	ids, args := deliveriesArgs(ds)
	if load <= 0 {
		rows, err := s.db.Query(ctx, insertDeliveries, args...)
		if err != nil {
			return nil, nil, fmt.Errorf("insert deliveries: %w", err)
		}
		made, err := collectIDs(rows)
		return made, nil, err
	}
	// The statements of a batch run in order in one transaction, so the
	// load sees the rows the insert made.
	want := ids[:min(load, n)]
	lo, hi := idRange(want)
	b := &pgx.Batch{}
	b.Queue(insertDeliveries, args...)
	b.Queue(workQuery, want, lo, hi)
	res := s.db.SendBatch(ctx, b)
	defer res.Close()
	rows, err := res.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("insert deliveries: %w", err)
	}
	made, err := collectIDs(rows)
	if err != nil {
		return nil, nil, err
	}
	rows, err = res.Query()
	if err != nil {
		return nil, nil, fmt.Errorf("load work: %w", err)
	}
	work, err := s.scanWork(rows, len(want))
	if err != nil {
		return nil, nil, err
	}
	return made, work, nil
}

// insertDeliveries creates pending deliveries from deliveriesArgs,
// skipping those that exist. No conflict target: (message_id, endpoint_id)
// is unique in each partition (partition.go), which DO NOTHING without one
// consults.
const insertDeliveries = newDeliveries + `id`

// newDeliveries is insertDeliveries without what it returns.
const newDeliveries = `INSERT INTO deliveries (id, tenant_id, message_id, endpoint_id, next_attempt_at)
	SELECT id, tenant_id, message_id, endpoint_id, now()
	FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::uuid[]) AS t(id, tenant_id, message_id, endpoint_id)
	ON CONFLICT DO NOTHING RETURNING `

// deliveriesArgs are insertDeliveries' arguments for ds, and the ids of
// ds (DeliveryID), in order.
func deliveriesArgs(ds []NewDelivery) ([]uuid.UUID, []any) {
	n := len(ds)
	ids, tenants, messages, endpoints := make([]uuid.UUID, n), make([]string, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
	for i, d := range ds {
		ids[i], tenants[i], messages[i], endpoints[i] = DeliveryID(d.MessageID, d.EndpointID), d.TenantID, d.MessageID, d.EndpointID
	}
	return ids, []any{ids, tenants, messages, endpoints}
}

func collectIDs(rows pgx.Rows) ([]uuid.UUID, error) {
	out, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("insert deliveries: %w", mapErr(err))
	}
	return out, nil
}

// MessageDeliveries returns the deliveries of one message, oldest first.
func (s *Store) MessageDeliveries(ctx context.Context, tenant string, message uuid.UUID) ([]Delivery, error) {
	// The bounds on the id read the message's partition alone.
	rows, err := s.db.Query(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE tenant_id = $1 AND message_id = $2
		AND id >= hookd_deliveries_from($2) AND id < hookd_deliveries_to($2) ORDER BY created_at, id`, tenant, message)
	if err != nil {
		return nil, fmt.Errorf("message deliveries: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("message deliveries: %w", err)
	}
	return list, nil
}

// ResetDeliveries makes deliveries pending again for a manual re-send and
// returns their ids. Ids of other tenants, and deliveries of a message
// whose content was expunged, are ignored.
func (s *Store) ResetDeliveries(ctx context.Context, tenant string, ids []uuid.UUID) ([]uuid.UUID, error) {
	// A delivery still retrying keeps its next scheduled attempt: a manual
	// re-send comes on top of the retries it is owed, not instead of them.
	lo, hi := idRange(ids)
	rows, err := s.db.Query(ctx, `UPDATE deliveries SET status = 'pending',
		next_attempt_at = CASE WHEN status = 'pending' THEN next_attempt_at ELSE now() END, updated_at = now()
		WHERE ($1 = '' OR tenant_id = $1) AND id = ANY($2) AND id BETWEEN $3 AND $4
		  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = message_id AND m.expunged_at IS NOT NULL)
		RETURNING id`, tenant, ids, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("reset deliveries: %w", err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("reset deliveries: %w", err)
	}
	return list, nil
}

// DeliveryFilter selects deliveries for recover and bulk replay. Zero
// fields do not filter; Since/Until bound the delivery's creation time.
type DeliveryFilter struct {
	TenantID   string
	MessageID  uuid.UUID
	EndpointID uuid.UUID
	EventType  string
	Status     string
	Since      time.Time
	Until      time.Time
}

func (f DeliveryFilter) where(first int) (string, []any) {
	var endpoint, message *uuid.UUID
	if f.EndpointID != uuid.Nil {
		endpoint = &f.EndpointID
	}
	if f.MessageID != uuid.Nil {
		message = &f.MessageID
	}
	var since, until *time.Time
	// Ids are UUIDv7, ordered by creation time: a lower bound on the id
	// lets the primary key skip older deliveries. A minute of slack covers
	// clock skew between the app (ids) and Postgres (created_at).
	minID := uuid.Nil
	if !f.Since.IsZero() {
		since = &f.Since
		minID = minV7(f.Since.Add(-time.Minute))
	}
	if !f.Until.IsZero() {
		until = &f.Until
	}
	n := func(i int) string { return fmt.Sprintf("$%d", first+i) }
	where := `(` + n(0) + ` = '' OR d.tenant_id = ` + n(0) + `)
		AND (` + n(1) + `::uuid IS NULL OR d.endpoint_id = ` + n(1) + `)
		AND (` + n(2) + ` = '' OR EXISTS (SELECT 1 FROM messages m WHERE m.id = d.message_id AND m.event_type = ` + n(2) + `))
		AND (` + n(3) + ` = '' OR d.status = ` + n(3) + `)
		AND (` + n(4) + `::timestamptz IS NULL OR d.created_at >= ` + n(4) + `)
		AND (` + n(5) + `::timestamptz IS NULL OR d.created_at < ` + n(5) + `)
		AND d.id >= ` + n(6) + `
		AND (` + n(7) + `::uuid IS NULL OR d.message_id = ` + n(7) + `)`
	return where, []any{f.TenantID, endpoint, f.EventType, f.Status, since, until, minID, message}
}

// minV7 is the smallest UUIDv7 of the millisecond t.
func minV7(t time.Time) uuid.UUID {
	var u uuid.UUID
	ms := uint64(max(t.UnixMilli(), 0))
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	u[6] = 0x70 // version 7
	u[8] = 0x80 // RFC 4122 variant
	return u
}

// CountDeliveries counts the deliveries that match f.
func (s *Store) CountDeliveries(ctx context.Context, f DeliveryFilter) (int, error) {
	where, args := f.where(1)
	var n int
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM deliveries d WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count deliveries: %w", err)
	}
	return n, nil
}

// FindDeliveries returns up to limit deliveries matching f with ids after
// after (uuid.Nil = from the start), oldest first, for batched replays.
func (s *Store) FindDeliveries(ctx context.Context, f DeliveryFilter, after uuid.UUID, limit int) ([]Delivery, error) {
	where, args := f.where(3)
	rows, err := s.db.Query(ctx, `SELECT `+deliveryCols+` FROM deliveries d WHERE d.id > $1 AND `+where+`
		ORDER BY d.id LIMIT $2`, append([]any{after, limit}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("find deliveries: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return nil, fmt.Errorf("find deliveries: %w", err)
	}
	return list, nil
}

// Work is everything one delivery attempt needs, loaded in one query.
type Work struct {
	Delivery Delivery
	Message  Message
	Endpoint Endpoint
	Secrets  []string // the current key first, then unexpired rotated-out keys
	// SecretsErr is set (wrapping ErrSecretKey) when the keys or the
	// endpoint's custom headers are encrypted and the Store's [Cipher]
	// cannot decrypt them; Secrets and Endpoint.Headers are then empty.
	// It is per delivery so that one unreadable row does not fail a batch.
	SecretsErr error
	// Version is the version of the event type this attempt sends, and
	// Payload its exact bytes: the message's own, unless the endpoint pins
	// another version (or the delivery is a test event of one); see
	// version.go. VersionMissing is set, and Payload nil, when the message
	// was published without a payload of that version.
	Version        int
	Payload        []byte
	VersionMissing bool
}

// LoadWork loads the work for many deliveries in one round trip. Deliveries
// that no longer exist, or whose message's content was expunged, are
// absent from the map.
func (s *Store) LoadWork(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]Work, error) {
	// The range prunes the partitions of deliveries; each message is found
	// by a pruned probe of its id.
	lo, hi := idRange(ids)
	rows, err := s.hotDB().Query(ctx, workQuery, ids, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("load work: %w", err)
	}
	return s.scanWork(rows, len(ids))
}

// secretsOfE are the signing keys of the endpoint e: the current one
// first, then the unexpired rotated-out ones.
const secretsOfE = `ARRAY(SELECT s.secret FROM endpoint_secrets s WHERE s.endpoint_id = e.id
	AND (s.expires_at IS NULL OR s.expires_at > now()) ORDER BY s.expires_at DESC NULLS FIRST)`

// workQuery loads the work of the deliveries $1, whose ids are between $2
// and $3.
var workQuery = `SELECT
		d.id, d.tenant_id, d.message_id, d.endpoint_id, d.status, d.attempts, d.next_attempt_at, d.last_status_code,
		d.created_at, d.updated_at,
		m.id, m.tenant_id, m.event_type, m.payload, m.channels, coalesce(m.idempotency_key, ''), m.created_at,
		coalesce(m.trace_parent, ''), m.version,
		` + prefixed("e.", endpointCols) + `,
		` + secretsOfE + `,
		d.version,
		-- Another version's payload, read only when the delivery or the
		-- endpoint asks for a version (see version.go).
		(SELECT p.payload FROM message_payloads p
			WHERE (d.version IS NOT NULL OR e.version_pins <> '{}'::jsonb) AND p.message_id = m.id
			  AND p.version = coalesce(d.version, (e.version_pins ->> m.event_type)::int) AND p.version <> m.version)
	FROM deliveries d
	JOIN messages m ON m.id = d.message_id
	JOIN endpoints e ON e.id = d.endpoint_id
	WHERE d.id = ANY($1) AND d.id BETWEEN $2 AND $3 AND m.expunged_at IS NULL`

// openWork decrypts w's endpoint headers (stored as headers) and keys,
// or sets w.SecretsErr.
func (s *Store) openWork(w *Work, headers string) {
	e := &w.Endpoint
	if err := s.openEndpointHeaders(e, headers); err != nil {
		w.Secrets, w.SecretsErr = nil, fmt.Errorf("load work: %w", err)
		return
	}
	for i, v := range w.Secrets {
		plain, err := s.cipher.open(v, e.ID.String())
		if err != nil {
			w.Secrets, w.SecretsErr = nil, fmt.Errorf("keys of endpoint %s: %w", e.ID, err)
			return
		}
		w.Secrets[i] = plain
	}
}

// scanWork reads workQuery's rows, and decrypts their keys and headers.
func (s *Store) scanWork(rows pgx.Rows, n int) (map[uuid.UUID]Work, error) {
	defer rows.Close()
	out := make(map[uuid.UUID]Work, n)
	for rows.Next() {
		var w Work
		d, m, e := &w.Delivery, &w.Message, &w.Endpoint
		var headers string
		var version *int
		var pinned []byte
		dest := []any{&d.ID, &d.TenantID, &d.MessageID, &d.EndpointID, &d.Status, &d.Attempts, &d.NextAttemptAt,
			&d.LastStatusCode, &d.CreatedAt, &d.UpdatedAt,
			&m.ID, &m.TenantID, &m.EventType, &m.Payload, &m.Channels, &m.IdempotencyKey, &m.CreatedAt, &m.TraceParent,
			&m.Version}
		dest = append(append(dest, endpointDest(e, &headers)...), &w.Secrets, &version, &pinned)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("load work: %w", err)
		}
		choosePayload(&w, version, pinned)
		s.openWork(&w, headers)
		out[d.ID] = w
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load work: %w", err)
	}
	return out, nil
}
