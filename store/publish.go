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
	// prints are the versions of the rows read ("key:xmin"), for a
	// LookupCache.
	prints lookupPrints
}

// lookupPrints are the versions of the rows a publish's lookups read,
// each "key:xmin" as rowPrint makes it in SQL.
type lookupPrints struct {
	tenants   map[string]string
	endpoints map[string][]string // by tenant
	types     map[string]string
}

// rowPrint is how a row's version is written in the lookups and in the
// check of a cached publish: its key, a colon and its xmin, the id of the
// transaction that wrote the row as it stands. An update or a delete and
// insert makes a new one.
const rowPrint = `%s::text || ':' || xmin::text`

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
	b.Queue(`SELECT `+eventTypeCols+`, `+fmt.Sprintf(rowPrint, "name")+` FROM event_types WHERE name = ANY($1)`, names)
	b.Queue(`SELECT id, `+fmt.Sprintf(rowPrint, "id")+` FROM tenants WHERE id = ANY($1)`, tenants)
	b.Queue(`SELECT `+fanoutCols+`, `+fmt.Sprintf(rowPrint, "id")+` FROM endpoints WHERE tenant_id = ANY($1) ORDER BY id`, tenants)
	if len(versioned) > 0 {
		b.Queue(`SELECT `+versionCols+` FROM event_type_versions WHERE event_type = ANY($1)
			ORDER BY event_type, version`, versioned)
	}
}

// readLookups reads the results of queueLookups' statements from res.
func (s *Store) readLookups(res pgx.BatchResults, versioned bool) (PublishLookups, error) {
	out := PublishLookups{EventTypes: map[string]EventType{}, Tenants: map[string]bool{}, Endpoints: map[string][]Endpoint{},
		prints: lookupPrints{tenants: map[string]string{}, endpoints: map[string][]string{}, types: map[string]string{}}}

	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("publish lookups: event types: %w", err)
	}
	type printed[T any] struct {
		v     T
		print string
	}
	types, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (printed[EventType], error) {
		var p printed[EventType]
		return p, r.Scan(append(eventTypeDest(&p.v), &p.print)...)
	})
	if err != nil {
		return out, fmt.Errorf("publish lookups: event types: %w", err)
	}
	for _, e := range types {
		out.EventTypes[e.v.Name] = e.v
		out.prints.types[e.v.Name] = e.print
	}

	rows, err = res.Query()
	if err != nil {
		return out, fmt.Errorf("publish lookups: tenants: %w", err)
	}
	ids, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (printed[string], error) {
		var p printed[string]
		return p, r.Scan(&p.v, &p.print)
	})
	if err != nil {
		return out, fmt.Errorf("publish lookups: tenants: %w", err)
	}
	for _, id := range ids {
		out.Tenants[id.v] = true
		out.prints.tenants[id.v] = id.print
	}

	rows, err = res.Query()
	if err != nil {
		return out, fmt.Errorf("publish lookups: endpoints: %w", err)
	}
	eps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (printed[Endpoint], error) {
		var p printed[Endpoint]
		var headers string
		if err := r.Scan(append(endpointDest(&p.v, &headers), &p.print)...); err != nil {
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
		out.prints.endpoints[t] = append(out.prints.endpoints[t], e.print)
	}
	if !versioned {
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
