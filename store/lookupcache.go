package store

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// A publish reads its tenants, their endpoints and its event types before
// it writes: BeginPublish spends a round trip on that. LookupCache keeps
// what such reads found with the version of each endpoint and event type
// row (rowVersion), so that a publish whose lookups are all cached can go
// in one round trip (Store.Checked): BEGIN, a statement that checks that
// the tenants still exist and that their endpoints and the event types
// are exactly the cached rows, the writes and COMMIT in one pipeline.
// When any was changed, added or deleted since it was cached, the check
// fails the transaction before anything is written, Insert returns
// ErrLookupsChanged, and the publish is made again from fresh lookups.
//
// The check reads what the lookups would read at that point in the
// transaction, so a checked publish decides as one with fresh lookups
// would. Only what exists is cached: a tenant that does not exist or an
// event type that is not declared is always read. An entry is read again
// after maxCachedAge, well before transaction ids could wrap around to a
// cached version.

// ErrLookupsChanged is Publishing.Insert's error, for a publish begun by
// Store.Checked, when a row its cached lookups came from has changed.
// Nothing of the publish was written.
var ErrLookupsChanged = errors.New("store: a publish's cached lookups have changed")

// maxCached bounds each of LookupCache's maps; past it an entry is dropped
// for each one added. maxCachedAge is how long an entry is used.
const (
	maxCached    = 10000
	maxCachedAge = 10 * time.Minute
)

// LookupCache is a process's cache of publishes' lookups. Its methods are
// safe for concurrent use.
type LookupCache struct {
	mu      sync.Mutex
	tenants map[string]cachedTenant
	types   map[string]cachedType
}

type cachedTenant struct {
	at        time.Time
	endpoints []Endpoint
	versions  []int64 // of the endpoints
}

type cachedType struct {
	at      time.Time
	e       EventType
	version int64
}

// NewLookupCache returns an empty cache.
func NewLookupCache() *LookupCache {
	return &LookupCache{tenants: map[string]cachedTenant{}, types: map[string]cachedType{}}
}

// Put caches what look found, when it was read by BeginPublish or
// LookupForPublish without versions.
func (c *LookupCache) Put(look PublishLookups) {
	vs := look.versions
	if vs == nil {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for t := range look.Tenants {
		dropOne(c.tenants, t)
		c.tenants[t] = cachedTenant{at: now, endpoints: look.Endpoints[t], versions: vs.endpoints[t]}
	}
	for name, v := range vs.types {
		dropOne(c.types, name)
		c.types[name] = cachedType{at: now, e: look.EventTypes[name], version: v}
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
func (c *LookupCache) Get(names, tenants []string) (PublishLookups, LookupVersions, bool) {
	look := PublishLookups{EventTypes: make(map[string]EventType, len(names)), Tenants: make(map[string]bool, len(tenants)),
		Endpoints: make(map[string][]Endpoint, len(tenants))}
	v := LookupVersions{tenants: tenants, names: names, endpoints: []int64{}, types: make([]int64, 0, len(names))}
	old := time.Now().Add(-maxCachedAge)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range tenants {
		ct, ok := c.tenants[t]
		if !ok || ct.at.Before(old) {
			return PublishLookups{}, LookupVersions{}, false
		}
		look.Tenants[t] = true
		look.Endpoints[t] = ct.endpoints
		v.endpoints = append(v.endpoints, ct.versions...)
	}
	for _, n := range names {
		ct, ok := c.types[n]
		if !ok || ct.at.Before(old) {
			return PublishLookups{}, LookupVersions{}, false
		}
		look.EventTypes[n] = ct.e
		v.types = append(v.types, ct.version)
	}
	slices.Sort(v.endpoints) // as the check's ORDER BY
	slices.Sort(v.types)
	return look, v, true
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

// LookupVersions are the versions of the rows that a publish's cached
// lookups came from (LookupCache.Get).
type LookupVersions struct {
	tenants, names   []string
	endpoints, types []int64
}

// checkLookups fails with division_by_zero unless the tenants exist and
// their endpoints and the event types are the rows of the versions given.
// A tenant's own row says only that it exists: its name does not change
// what a publish does.
const checkLookups = `SELECT 1 / coalesce(
		(SELECT count(*) FROM tenants WHERE id = ANY($1)) = cardinality($1::text[])
		AND ARRAY(SELECT ` + rowVersion + ` FROM endpoints WHERE tenant_id = ANY($1) ORDER BY 1) = $2::bigint[]
		AND ARRAY(SELECT ` + rowVersion + ` FROM event_types WHERE name = ANY($3) ORDER BY 1) = $4::bigint[],
		false)::int`

// Checked returns a publish whose lookups are cached: its Insert sends
// BEGIN and the check of v with the writes, in one round trip, and
// acquires its connection then. Only Insert and Close are for it.
func (s *Store) Checked(v LookupVersions) *Publishing {
	return &Publishing{s: s, check: &v}
}
