package store

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// A publish reads its tenants, their endpoints and its event types before
// it writes: BeginPublish spends a round trip on that. LookupCache keeps
// what such reads found with the version of each row (its key and xmin),
// so that a publish whose lookups are all cached can go in one round trip
// (Store.Checked): BEGIN, a statement that checks that exactly those rows
// are there, unchanged, the writes and COMMIT in one pipeline. When any
// row was changed, added or deleted since it was cached, the check fails
// the transaction before anything is written, Insert returns
// ErrLookupsChanged, and the publish is made again from fresh lookups.
//
// The check reads what the lookups would read at that point in the
// transaction, so a checked publish decides as one with fresh lookups
// would. Only what exists is cached: a tenant that does not exist or an
// event type that is not declared is always read.

// ErrLookupsChanged is Publishing.Insert's error, for a publish begun by
// Store.Checked, when a row its cached lookups came from has changed.
// Nothing of the publish was written.
var ErrLookupsChanged = errors.New("store: a publish's cached lookups have changed")

// maxCached bounds each of LookupCache's maps; past it an entry is dropped
// for each one added.
const maxCached = 10000

// LookupCache is a process's cache of publishes' lookups. Its methods are
// safe for concurrent use.
type LookupCache struct {
	mu      sync.Mutex
	tenants map[string]cachedTenant
	types   map[string]cachedType
}

type cachedTenant struct {
	print     string
	endpoints []Endpoint
	prints    []string // of the endpoints
}

type cachedType struct {
	e     EventType
	print string
}

// NewLookupCache returns an empty cache.
func NewLookupCache() *LookupCache {
	return &LookupCache{tenants: map[string]cachedTenant{}, types: map[string]cachedType{}}
}

// Put caches what look found, when it was read by BeginPublish or
// LookupForPublish without versions.
func (c *LookupCache) Put(look PublishLookups) {
	if look.prints.tenants == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for t, print := range look.prints.tenants {
		dropOne(c.tenants, t)
		c.tenants[t] = cachedTenant{print: print, endpoints: look.Endpoints[t], prints: look.prints.endpoints[t]}
	}
	for name, print := range look.prints.types {
		e := look.EventTypes[name]
		if e.Versions != nil {
			continue // read with its versions: not what a publish without them reads
		}
		dropOne(c.types, name)
		c.types[name] = cachedType{e: e, print: print}
	}
}

// dropOne makes room in m for k.
func dropOne[V any](m map[string]V, k string) {
	if _, ok := m[k]; ok || len(m) < maxCached {
		return
	}
	for old := range m {
		delete(m, old)
		return
	}
}

// Get returns the cached lookups of a publish of names to tenants, when
// all of them are cached, and the versions that Checked checks.
func (c *LookupCache) Get(names, tenants []string) (PublishLookups, LookupPrints, bool) {
	look := PublishLookups{EventTypes: make(map[string]EventType, len(names)), Tenants: make(map[string]bool, len(tenants)),
		Endpoints: make(map[string][]Endpoint, len(tenants))}
	pr := LookupPrints{tenants: tenants, names: names, tenantPrints: []string{}, endpointPrints: []string{}, typePrints: []string{}}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range tenants {
		ct, ok := c.tenants[t]
		if !ok {
			return PublishLookups{}, LookupPrints{}, false
		}
		look.Tenants[t] = true
		look.Endpoints[t] = ct.endpoints
		pr.tenantPrints = append(pr.tenantPrints, ct.print)
		pr.endpointPrints = append(pr.endpointPrints, ct.prints...)
	}
	for _, n := range names {
		ct, ok := c.types[n]
		if !ok {
			return PublishLookups{}, LookupPrints{}, false
		}
		look.EventTypes[n] = ct.e
		pr.typePrints = append(pr.typePrints, ct.print)
	}
	for _, p := range [][]string{pr.tenantPrints, pr.endpointPrints, pr.typePrints} {
		slices.Sort(p) // as the check's ORDER BY ... COLLATE "C": by bytes
	}
	return look, pr, true
}

// Evict drops the cached lookups of names and tenants.
func (c *LookupCache) Evict(names, tenants []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range tenants {
		delete(c.tenants, t)
	}
	for _, n := range names {
		delete(c.types, n)
	}
}

// LookupPrints are the versions of the rows that a publish's cached
// lookups came from (LookupCache.Get).
type LookupPrints struct {
	tenants, names                           []string
	tenantPrints, endpointPrints, typePrints []string
}

// checkLookups fails with division_by_zero unless the tenants, their
// endpoints and the event types are exactly the rows printed.
var checkLookups = fmt.Sprintf(`SELECT 1 / coalesce(
		ARRAY(SELECT p FROM (SELECT %s AS p FROM tenants WHERE id = ANY($1)) r ORDER BY p COLLATE "C") = $2::text[]
		AND ARRAY(SELECT p FROM (SELECT %s AS p FROM endpoints WHERE tenant_id = ANY($1)) r ORDER BY p COLLATE "C") = $3::text[]
		AND ARRAY(SELECT p FROM (SELECT %s AS p FROM event_types WHERE name = ANY($4)) r ORDER BY p COLLATE "C") = $5::text[],
		false)::int`, fmt.Sprintf(rowPrint, "id"), fmt.Sprintf(rowPrint, "id"), fmt.Sprintf(rowPrint, "name"))

// Checked returns a publish whose lookups are cached: its Insert sends
// BEGIN and the check of pr with the writes, in one round trip, and
// acquires its connection then. Only Insert and Close are for it.
func (s *Store) Checked(pr LookupPrints) *Publishing {
	return &Publishing{s: s, check: &pr}
}
