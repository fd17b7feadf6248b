package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// PublishLookups is what a batch of publishes reads before it writes.
type PublishLookups struct {
	// EventTypes are without their Versions, except those named in
	// LookupForPublish's versioned.
	EventTypes map[string]EventType
	Tenants    map[string]bool       // which tenants exist
	Endpoints  map[string][]Endpoint // endpoints by tenant (disabled too: theirs are parked), without custom headers
	// versions are those of the rows read, for a LookupCache; nil when
	// the lookups came with the event types' versions.
	versions *rowVersions
}

// rowVersions are the versions (rowVersion) of the rows a publish's
// lookups read.
type rowVersions struct {
	endpoints map[string][]int64 // by tenant
	types     map[string]int64
}

// rowVersion is a row's version as the lookups and the check of a cached
// publish read it: its xmin, the id of the transaction that wrote the row
// as it stands. An update, or a delete and an insert, makes a row with a
// new one, and a transaction cannot write rows once it has committed, so
// among the rows a filter picks the same versions mean the same rows.
const rowVersion = `xmin::text::bigint`

// LookupForPublish reads the event types, tenants and endpoints a
// batch of publishes needs, pipelined in one round trip. The event types
// named in versioned (publishes that name a version or carry several
// payloads) come with their versions.
func (s *Store) LookupForPublish(ctx context.Context, names, versioned, tenants []string) (PublishLookups, error) {
	b := &pgx.Batch{}
	queueLookups(b, names, versioned, tenants)
	res := s.hotDB().SendBatch(ctx, b)
	defer res.Close()
	return s.readLookups(res, len(versioned) > 0)
}

// queueLookups queues LookupForPublish's statements on b.
func queueLookups(b *pgx.Batch, names, versioned, tenants []string) {
	b.Queue(`SELECT `+eventTypeCols+`, `+rowVersion+` FROM event_types WHERE name = ANY($1)`, names)
	b.Queue(`SELECT id FROM tenants WHERE id = ANY($1)`, tenants)
	b.Queue(`SELECT `+fanoutCols+`, `+rowVersion+` FROM endpoints WHERE tenant_id = ANY($1) ORDER BY id`, tenants)
	if len(versioned) > 0 {
		b.Queue(`SELECT `+versionCols+` FROM event_type_versions WHERE event_type = ANY($1)
			ORDER BY event_type, version`, versioned)
	}
}

// readLookups reads the results of queueLookups' statements from res.
func (s *Store) readLookups(res pgx.BatchResults, versioned bool) (PublishLookups, error) {
	vs := &rowVersions{endpoints: map[string][]int64{}, types: map[string]int64{}}
	out := PublishLookups{EventTypes: map[string]EventType{}, Tenants: map[string]bool{}, Endpoints: map[string][]Endpoint{}}

	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("publish lookups: event types: %w", err)
	}
	type withXmin[T any] struct {
		v       T
		version int64
	}
	types, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (withXmin[EventType], error) {
		var p withXmin[EventType]
		return p, r.Scan(append(eventTypeDest(&p.v), &p.version)...)
	})
	if err != nil {
		return out, fmt.Errorf("publish lookups: event types: %w", err)
	}
	for _, e := range types {
		out.EventTypes[e.v.Name] = e.v
		vs.types[e.v.Name] = e.version
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
	eps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (withXmin[Endpoint], error) {
		var p withXmin[Endpoint]
		var headers string
		if err := r.Scan(append(endpointDest(&p.v, &headers), &p.version)...); err != nil {
			return p, err
		}
		return p, s.openEndpointHeaders(&p.v, headers)
	})
	if err != nil {
		return out, fmt.Errorf("publish lookups: endpoints: %w", mapErr(err))
	}
	for _, e := range eps {
		t := e.v.TenantID
		out.Endpoints[t] = append(out.Endpoints[t], e.v)
		vs.endpoints[t] = append(vs.endpoints[t], e.version)
	}
	if !versioned {
		out.versions = vs
		return out, nil
	}
	rows, err = res.Query()
	if err != nil {
		return out, fmt.Errorf("publish lookups: versions: %w", err)
	}
	by, err := collectVersions(rows)
	if err != nil {
		return out, fmt.Errorf("publish lookups: %w", err)
	}
	for name, vs := range by {
		if e, ok := out.EventTypes[name]; ok {
			e.Versions = vs
			out.EventTypes[name] = e
		}
	}
	return out, nil
}
