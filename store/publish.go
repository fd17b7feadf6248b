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
}

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
	b.Queue(`SELECT `+eventTypeCols+` FROM event_types WHERE name = ANY($1)`, names)
	b.Queue(`SELECT id FROM tenants WHERE id = ANY($1)`, tenants)
	b.Queue(`SELECT `+fanoutCols+` FROM endpoints WHERE tenant_id = ANY($1) ORDER BY id`, tenants)
	if len(versioned) > 0 {
		b.Queue(`SELECT `+versionCols+` FROM event_type_versions WHERE event_type = ANY($1)
			ORDER BY event_type, version`, versioned)
	}
}

// readLookups reads the results of queueLookups' statements from res.
func (s *Store) readLookups(res pgx.BatchResults, versioned bool) (PublishLookups, error) {
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
	eps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Endpoint, error) { return s.scanEndpoint(r) })
	if err != nil {
		return out, fmt.Errorf("publish lookups: endpoints: %w", err)
	}
	for _, e := range eps {
		out.Endpoints[e.TenantID] = append(out.Endpoints[e.TenantID], e)
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
