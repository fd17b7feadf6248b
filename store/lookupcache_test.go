package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// cachedPublish caches the lookups of a publish of eventType to tenant
// and returns a one-round-trip publish of them with the message and
// what it writes to every endpoint cached.
func cachedPublish(t *testing.T, st *store.Store, cache *store.LookupCache, tenant, eventType string) (*store.Publishing, store.Message, []store.NewDelivery, []store.ScheduledJob) {
	t.Helper()
	ctx := context.Background()
	names, tenants := []string{eventType}, []string{tenant}
	if _, _, ok := cache.Get(names, tenants); !ok {
		p, look, err := st.BeginPublish(ctx, names, nil, tenants)
		require.NoError(t, err)
		p.Close()
		cache.Put(look)
	}
	look, versions, ok := cache.Get(names, tenants)
	require.True(t, ok, "what a publish read is cached")
	p := st.Checked(versions)
	t.Cleanup(p.Close)
	m := store.Message{ID: store.NewID(), TenantID: tenant, EventType: eventType, Payload: []byte(`{"n": 1}`), Version: 1}
	var ds []store.NewDelivery
	var jobs []store.ScheduledJob
	for _, e := range look.Endpoints[tenant] {
		ds = append(ds, store.NewDelivery{TenantID: tenant, MessageID: m.ID, EndpointID: e.ID})
		args, err := json.Marshal(map[string]any{"delivery_id": store.DeliveryID(m.ID, e.ID)})
		require.NoError(t, err)
		jobs = append(jobs, store.ScheduledJob{Kind: "hookd.deliver", Args: args, Queue: "deliver", MaxAttempts: 10,
			Priority: 1, Metadata: []byte(`{}`), ScheduledAt: time.Now().Add(time.Minute)})
	}
	return p, m, ds, jobs
}

func storedMessages(t *testing.T, pool *pgxpool.Pool, m store.Message) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM messages WHERE id = $1)
		+ (SELECT count(*) FROM deliveries WHERE message_id = $1)`, m.ID).Scan(&n))
	return n
}

// A publish of cached lookups goes in one round trip while the rows they
// came from are as they were. When any of them changed (an endpoint
// added, edited or deleted, the event type edited, the tenant deleted, or
// deleted and made again), it writes nothing and says so, and a publish
// of fresh lookups goes through.
func TestCheckedPublish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.DB(t)
	st := store.New(pool).WithHotPool(pool)
	cache := store.NewLookupCache()

	changes := []struct {
		name   string
		change func(t *testing.T, tenant, eventType string)
	}{
		{"an endpoint added", func(t *testing.T, tenant, _ string) { storetest.Endpoint(t, st, tenant, nil) }},
		{"an endpoint edited", func(t *testing.T, tenant, _ string) {
			_, err := pool.Exec(ctx, `UPDATE endpoints SET description = 'edited' WHERE tenant_id = $1`, tenant)
			require.NoError(t, err)
		}},
		{"an endpoint's health changed", func(t *testing.T, tenant, _ string) {
			_, err := pool.Exec(ctx, `UPDATE endpoints SET failing_since = now() WHERE tenant_id = $1`, tenant)
			require.NoError(t, err)
		}},
		{"an endpoint deleted", func(t *testing.T, tenant, _ string) {
			_, err := pool.Exec(ctx, `DELETE FROM endpoints WHERE id = (SELECT min(id::text)::uuid FROM endpoints WHERE tenant_id = $1)`, tenant)
			require.NoError(t, err)
		}},
		{"the event type edited", func(t *testing.T, _, eventType string) {
			_, err := pool.Exec(ctx, `UPDATE event_types SET schema = '{"type": "object"}' WHERE name = $1`, eventType)
			require.NoError(t, err)
		}},
		{"the tenant deleted", func(t *testing.T, tenant, _ string) {
			require.NoError(t, st.DeleteTenant(ctx, tenant))
		}},
		{"the tenant deleted and made again", func(t *testing.T, tenant, _ string) {
			require.NoError(t, st.DeleteTenant(ctx, tenant))
			require.NoError(t, st.CreateTenants(ctx, []store.Tenant{{ID: tenant, Name: "again"}}))
		}},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			tn := storetest.Tenant(t, st, nil)
			et := storetest.EventType(t, st, nil)
			storetest.Endpoint(t, st, tn.ID, nil)
			storetest.Endpoint(t, st, tn.ID, nil)

			p, m, ds, jobs := cachedPublish(t, st, cache, tn.ID, et.Name)
			pub, err := p.Insert(ctx, []store.Message{m}, ds, jobs)
			require.NoError(t, err, "nothing changed")
			p.Close()
			require.Len(t, pub.Deliveries, 2)
			require.Len(t, pub.Work, 2)
			require.Equal(t, 3, storedMessages(t, pool, m))

			p, m, ds, jobs = cachedPublish(t, st, cache, tn.ID, et.Name)
			c.change(t, tn.ID, et.Name)
			_, err = p.Insert(ctx, []store.Message{m}, ds, jobs)
			require.ErrorIs(t, err, store.ErrLookupsChanged)
			p.Close()
			require.Zero(t, storedMessages(t, pool, m), "nothing of a publish of changed lookups is stored")

			cache.Evict([]string{et.Name}, []string{tn.ID})
			if _, err := st.GetTenant(ctx, tn.ID); err != nil {
				return // deleted: nothing to publish to
			}
			p, m, ds, jobs = cachedPublish(t, st, cache, tn.ID, et.Name)
			_, err = p.Insert(ctx, []store.Message{m}, ds, jobs)
			require.NoError(t, err, "fresh lookups")
			p.Close()
			require.Equal(t, 1+len(ds), storedMessages(t, pool, m))
		})
	}

	t.Run("a tenant without endpoints", func(t *testing.T) {
		tn := storetest.Tenant(t, st, nil)
		et := storetest.EventType(t, st, nil)
		p, m, ds, jobs := cachedPublish(t, st, cache, tn.ID, et.Name)
		require.Empty(t, ds)
		_, err := p.Insert(ctx, []store.Message{m}, ds, jobs)
		require.NoError(t, err)
		p.Close()

		_, err = pool.Exec(ctx, `UPDATE tenants SET name = 'edited' WHERE id = $1`, tn.ID)
		require.NoError(t, err)
		p, m, ds, jobs = cachedPublish(t, st, cache, tn.ID, et.Name)
		_, err = p.Insert(ctx, []store.Message{m}, ds, jobs)
		require.NoError(t, err, "its name does not change what a publish does")
		p.Close()

		p, m, ds, jobs = cachedPublish(t, st, cache, tn.ID, et.Name)
		storetest.Endpoint(t, st, tn.ID, nil)
		_, err = p.Insert(ctx, []store.Message{m}, ds, jobs)
		require.ErrorIs(t, err, store.ErrLookupsChanged, "gains one")
		p.Close()

		tn = storetest.Tenant(t, st, nil)
		p, m, ds, jobs = cachedPublish(t, st, cache, tn.ID, et.Name)
		require.NoError(t, st.DeleteTenant(ctx, tn.ID))
		_, err = p.Insert(ctx, []store.Message{m}, ds, jobs)
		require.ErrorIs(t, err, store.ErrLookupsChanged, "deleted")
		p.Close()
		require.Zero(t, storedMessages(t, pool, m))
	})

	t.Run("only what exists is cached", func(t *testing.T) {
		tn := storetest.Tenant(t, st, nil)
		p, look, err := st.BeginPublish(ctx, []string{"not.declared"}, nil, []string{tn.ID, "no-such-tenant"})
		require.NoError(t, err)
		p.Close()
		cache.Put(look)
		_, _, ok := cache.Get([]string{"not.declared"}, []string{tn.ID})
		require.False(t, ok, "an event type that is not declared")
		_, _, ok = cache.Get(nil, []string{"no-such-tenant"})
		require.False(t, ok, "a tenant that does not exist")
		_, _, ok = cache.Get(nil, []string{tn.ID})
		require.True(t, ok)
	})
}
