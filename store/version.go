package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Versioned payloads. An event type has one or more numbered versions,
// each with its schema and example. The latest (the highest number) is
// mirrored in the event type's own Schema, Example and Version, so that
// what reads only the latest reads one row. A message's Payload is of its
// Version; a publish may add the payloads of other versions (Payloads),
// kept in message_payloads. An endpoint may pin a version per event type
// (Endpoint.VersionPins) and is sent that version's payload.

// EventTypeVersion is one version of an event type.
type EventTypeVersion struct {
	Version int
	Schema  []byte // a JSON Schema, or nil
	Example []byte // an example payload, or nil
	// Changes says what changed from the version before, for the catalog.
	Changes string
	// DeprecatedAt, when set, is when the version was (or will be)
	// deprecated: endpoints that pin it are warned.
	DeprecatedAt *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// VersionOf returns version n of e, and whether e has it. It needs
// e.Versions, as GetEventType and ListEventTypes load them.
func (e EventType) VersionOf(n int) (EventTypeVersion, bool) {
	for _, v := range e.Versions {
		if v.Version == n {
			return v, true
		}
	}
	return EventTypeVersion{}, false
}

// latestOf is the number of e's latest version: the highest of Version and
// those in Versions (1 when none is set).
func latestOf(e EventType) int {
	n := max(e.Version, 1)
	for _, v := range e.Versions {
		n = max(n, v.Version)
	}
	return n
}

const versionCols = `event_type, version, schema, example, changes, deprecated_at, created_at, updated_at`

func scanVersion(row pgx.Row) (string, EventTypeVersion, error) {
	var name string
	var v EventTypeVersion
	err := row.Scan(&name, &v.Version, &v.Schema, &v.Example, &v.Changes, &v.DeprecatedAt, &v.CreatedAt, &v.UpdatedAt)
	return name, v, err
}

// writeEventType runs b, whose one statement writes the event type row and
// returns it, with the statements that write e's versions, in one implicit
// transaction. How the versions are written:
//
//   - e.Versions, when set, are written as they are (versions are never
//     removed: one left out is kept), except that the latest takes e.Schema
//     and e.Example, which win.
//   - When e.Versions is nil (a caller that knows nothing of versions),
//     e.Schema and e.Example become the schema and example of the latest
//     version, whose other fields are kept.
func (s *Store) writeEventType(ctx context.Context, b *pgx.Batch, e EventType) (EventType, error) {
	if e.Versions == nil {
		b.Queue(`INSERT INTO event_type_versions (event_type, version, schema, example) VALUES ($1, $2, $3, $4)
			ON CONFLICT (event_type, version) DO UPDATE SET schema = excluded.schema, example = excluded.example,
				updated_at = now()
			WHERE (event_type_versions.schema, event_type_versions.example) IS DISTINCT FROM (excluded.schema, excluded.example)`,
			e.Name, e.Version, e.Schema, e.Example)
	} else {
		n := len(e.Versions)
		nums, schemas, examples, changes, deps := make([]int32, n), make([][]byte, n), make([][]byte, n), make([]string, n),
			make([]*time.Time, n)
		for i, v := range e.Versions {
			if v.Version == e.Version {
				v.Schema, v.Example = e.Schema, e.Example
			}
			nums[i], schemas[i], examples[i], changes[i], deps[i] = int32(v.Version), v.Schema, v.Example, v.Changes, v.DeprecatedAt
		}
		b.Queue(`INSERT INTO event_type_versions (event_type, version, schema, example, changes, deprecated_at)
			SELECT $1, v, s, x, c, d FROM unnest($2::int[], $3::bytea[], $4::bytea[], $5::text[], $6::timestamptz[]) AS t(v, s, x, c, d)
			ON CONFLICT (event_type, version) DO UPDATE SET schema = excluded.schema, example = excluded.example,
				changes = excluded.changes, deprecated_at = excluded.deprecated_at, updated_at = now()
			WHERE (event_type_versions.schema, event_type_versions.example, event_type_versions.changes,
				event_type_versions.deprecated_at)
				IS DISTINCT FROM (excluded.schema, excluded.example, excluded.changes, excluded.deprecated_at)`,
			e.Name, nums, schemas, examples, changes, deps)
	}
	b.Queue(`SELECT `+versionCols+` FROM event_type_versions WHERE event_type = $1 ORDER BY version`, e.Name)
	res := s.db.SendBatch(ctx, b)
	defer res.Close()
	out, err := scanEventType(res.QueryRow())
	if err != nil {
		return EventType{}, err
	}
	if _, err := res.Exec(); err != nil {
		return EventType{}, fmt.Errorf("write versions: %w", mapErr(err))
	}
	rows, err := res.Query()
	if err != nil {
		return EventType{}, fmt.Errorf("read versions: %w", err)
	}
	out.Versions, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventTypeVersion, error) {
		_, v, err := scanVersion(r)
		return v, err
	})
	if err != nil {
		return EventType{}, fmt.Errorf("read versions: %w", err)
	}
	return out, nil
}

// attachVersions fills in the Versions of each event type of list.
func (s *Store) attachVersions(ctx context.Context, list []EventType) error {
	if len(list) == 0 {
		return nil
	}
	names := make([]string, len(list))
	for i, e := range list {
		names[i] = e.Name
	}
	rows, err := s.db.Query(ctx, `SELECT `+versionCols+` FROM event_type_versions WHERE event_type = ANY($1)
		ORDER BY event_type, version`, names)
	if err != nil {
		return fmt.Errorf("versions: %w", err)
	}
	by, err := collectVersions(rows)
	if err != nil {
		return err
	}
	for i := range list {
		list[i].Versions = by[list[i].Name]
	}
	return nil
}

func collectVersions(rows pgx.Rows) (map[string][]EventTypeVersion, error) {
	defer rows.Close()
	out := map[string][]EventTypeVersion{}
	for rows.Next() {
		name, v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("versions: %w", err)
		}
		out[name] = append(out[name], v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("versions: %w", err)
	}
	return out, nil
}

// PinnedEndpoint is an endpoint that pins a version, for the operators.
type PinnedEndpoint struct {
	ID        uuid.UUID
	TenantID  string
	URL       string
	Disabled  bool
	CreatedAt time.Time
}

// VersionEndpoints lists the endpoints, of every tenant, that pin version
// of eventType, oldest first.
func (s *Store) VersionEndpoints(ctx context.Context, eventType string, version int, p Page) ([]PinnedEndpoint, string, error) {
	after, err := decodeIDCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	pin, _ := json.Marshal(map[string]int{eventType: version})
	rows, err := s.db.Query(ctx, `SELECT id, tenant_id, url, disabled, created_at FROM endpoints
		WHERE version_pins <> '{}'::jsonb AND version_pins @> $1::jsonb AND ($2::uuid IS NULL OR id > $2)
		ORDER BY id LIMIT $3`, string(pin), after, p.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("endpoints pinning %s v%d: %w", eventType, version, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (PinnedEndpoint, error) {
		var e PinnedEndpoint
		err := r.Scan(&e.ID, &e.TenantID, &e.URL, &e.Disabled, &e.CreatedAt)
		return e, err
	})
	if err != nil {
		return nil, "", fmt.Errorf("endpoints pinning %s v%d: %w", eventType, version, err)
	}
	list, next := pageOf(list, p.Limit, func(e PinnedEndpoint) string { return e.ID.String() })
	return list, next, nil
}

// insertPayloads stores the payloads of other versions of the messages
// that have them (after the messages themselves, in the same statement
// batch or transaction).
func (s *Store) insertPayloads(ctx context.Context, ms []Message) error {
	var ids []uuid.UUID
	var versions []int32
	var payloads [][]byte
	for _, m := range ms {
		for v, p := range m.Payloads {
			ids, versions, payloads = append(ids, m.ID), append(versions, int32(v)), append(payloads, p)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := s.db.Exec(ctx, `INSERT INTO message_payloads (message_id, version, payload)
		SELECT * FROM unnest($1::uuid[], $2::int[], $3::bytea[])`, ids, versions, payloads)
	if err != nil {
		return fmt.Errorf("insert payloads of other versions: %w", mapErr(err))
	}
	return nil
}

// MessagePayloads returns the payloads of other versions than its own that
// a message was published with (none: an empty map).
func (s *Store) MessagePayloads(ctx context.Context, message uuid.UUID) (map[int][]byte, error) {
	rows, err := s.db.Query(ctx, `SELECT version, payload FROM message_payloads WHERE message_id = $1`, message)
	if err != nil {
		return nil, fmt.Errorf("payloads of %s: %w", message, err)
	}
	defer rows.Close()
	out := map[int][]byte{}
	for rows.Next() {
		var v int
		var p []byte
		if err := rows.Scan(&v, &p); err != nil {
			return nil, fmt.Errorf("payloads of %s: %w", message, err)
		}
		out[v] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("payloads of %s: %w", message, err)
	}
	return out, nil
}

// SetDeliveryVersion makes the deliveries of a message send version,
// whatever their endpoints pin (a test event of a chosen version).
func (s *Store) SetDeliveryVersion(ctx context.Context, message uuid.UUID, version int) error {
	if _, err := s.db.Exec(ctx, `UPDATE deliveries SET version = $2 WHERE message_id = $1`, message, version); err != nil {
		return fmt.Errorf("set version of the deliveries of %s: %w", message, err)
	}
	return nil
}

// pinsJSON is the stored form of an endpoint's version pins.
func pinsJSON(pins map[string]int) []byte {
	if len(pins) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(pins)
	return b
}

// choosePayload decides what a delivery sends: the delivery's own version
// (a test event), else the one the endpoint pins for the message's event
// type, else the message's. pinned is the payload of that version when it
// is not the message's own (nil when the message has none).
func choosePayload(w *Work, delivery *int, pinned []byte) {
	m := w.Message
	want := m.Version
	if delivery != nil {
		want = *delivery
	} else if v, ok := w.Endpoint.VersionPins[m.EventType]; ok {
		want = v
	}
	w.Version = want
	switch {
	case want == m.Version:
		w.Payload = m.Payload
	case pinned != nil:
		w.Payload = pinned
	default:
		w.VersionMissing = true
	}
}

// EventTypesNamed returns the event types of names that exist, with their
// versions, by name.
func (s *Store) EventTypesNamed(ctx context.Context, names []string) (map[string]EventType, error) {
	rows, err := s.db.Query(ctx, `SELECT `+eventTypeCols+` FROM event_types WHERE name = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("event types: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventType, error) { return scanEventType(r) })
	if err != nil {
		return nil, fmt.Errorf("event types: %w", err)
	}
	if err := s.attachVersions(ctx, list); err != nil {
		return nil, fmt.Errorf("event types: %w", err)
	}
	out := make(map[string]EventType, len(list))
	for _, e := range list {
		out[e.Name] = e
	}
	return out, nil
}
