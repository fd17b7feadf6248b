package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// publishing stores one message to two endpoints through a Publishing:
// what a direct publish writes in its second round trip.
func publishing(t *testing.T, st *store.Store, tenant string, eps []store.Endpoint, kind string) (*store.Publishing, store.Message, []store.NewDelivery, []store.ScheduledJob) {
	t.Helper()
	p, look, err := st.BeginPublish(context.Background(), []string{"invoice.paid"}, nil, []string{tenant})
	require.NoError(t, err)
	t.Cleanup(p.Close)
	require.True(t, look.Tenants[tenant], "the lookups are read in the first round trip")
	require.Len(t, look.Endpoints[tenant], len(eps))
	m := store.Message{ID: store.NewID(), TenantID: tenant, EventType: "invoice.paid", Payload: []byte(`{"n": 1}`), Version: 1}
	var ds []store.NewDelivery
	var jobs []store.ScheduledJob
	for _, e := range eps {
		ds = append(ds, store.NewDelivery{TenantID: tenant, MessageID: m.ID, EndpointID: e.ID})
		args, err := json.Marshal(map[string]any{"delivery_id": store.DeliveryID(m.ID, e.ID)})
		require.NoError(t, err)
		jobs = append(jobs, store.ScheduledJob{Kind: kind, Args: args, Queue: "deliver", MaxAttempts: 10, Priority: 1,
			Metadata: []byte(`{"direct": "w1"}`), ScheduledAt: time.Now().Add(time.Minute)})
	}
	return p, m, ds, jobs
}

// A publish in two round trips stores its message, deliveries and River
// jobs (scheduled, in River's shape) together, and hands back the
// deliveries' work as LoadWork reads it after the commit.
func TestPublishingInsert(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.DB(t)
	st := store.New(pool).WithHotPool(pool).WithCipher(newCipher(t))
	tn := storetest.Tenant(t, st, nil)
	headers := map[string]string{"Authorization": "Bearer tok_a1b2"}
	a := storetest.Endpoint(t, st, tn.ID, &storetest.EndpointOpts{Headers: headers})
	b := storetest.Endpoint(t, st, tn.ID, nil)
	_, err := pool.Exec(ctx, `UPDATE endpoints SET version_pins = '{"invoice.paid": 2}' WHERE id = $1`, b.ID)
	require.NoError(t, err)

	p, m, ds, jobs := publishing(t, st, tn.ID, []store.Endpoint{a, b}, "hookd.deliver")
	pub, err := p.Insert(ctx, []store.Message{m}, ds, jobs)
	require.NoError(t, err)
	p.Close()

	require.Len(t, pub.Messages, 1)
	require.Equal(t, m.ID, pub.Messages[0].ID)
	require.ElementsMatch(t, []uuid.UUID{store.DeliveryID(m.ID, a.ID), store.DeliveryID(m.ID, b.ID)}, pub.Deliveries)
	require.Len(t, pub.Jobs, 2)

	var ids []uuid.UUID
	ids = append(ids, pub.Deliveries...)
	after, err := st.LoadWork(ctx, ids)
	require.NoError(t, err)
	require.Len(t, after, 2)
	for id, w := range pub.Work {
		want := after[id]
		require.Equal(t, want.Delivery, w.Delivery)
		require.Equal(t, want.Endpoint, w.Endpoint)
		require.Equal(t, want.Secrets, w.Secrets)
		require.Equal(t, want.Version, w.Version)
		require.Equal(t, want.Payload, w.Payload)
		require.Equal(t, want.VersionMissing, w.VersionMissing)
		require.Equal(t, want.Message.Payload, w.Message.Payload)
		require.Equal(t, want.Message.CreatedAt, w.Message.CreatedAt)
	}
	require.Equal(t, headers, pub.Work[store.DeliveryID(m.ID, a.ID)].Endpoint.Headers, "headers come decrypted")
	require.Equal(t, []string{storetest.TestSecret}, pub.Work[store.DeliveryID(m.ID, a.ID)].Secrets, "keys come decrypted")
	require.True(t, pub.Work[store.DeliveryID(m.ID, b.ID)].VersionMissing, "a pin to a version that was not published")

	for i, id := range pub.Jobs {
		var state, kind, queue, delivery string
		var prio, maxAttempts int
		var meta []byte
		require.NoError(t, pool.QueryRow(ctx, `SELECT state::text, kind, queue, priority, max_attempts, metadata,
			args->>'delivery_id' FROM river_job WHERE id = $1`, id).Scan(&state, &kind, &queue, &prio, &maxAttempts, &meta, &delivery))
		require.Equal(t, store.DeliveryID(m.ID, ds[i].EndpointID).String(), delivery, "the ids come back in the order given")
		require.Equal(t, "scheduled", state)
		require.Equal(t, "hookd.deliver", kind)
		require.Equal(t, "deliver", queue)
		require.Equal(t, 1, prio)
		require.Equal(t, 10, maxAttempts)
		require.JSONEq(t, `{"direct": "w1"}`, string(meta))
	}
}

// When any statement of the second round trip fails, nothing of the
// publish is stored: the message was written first and is gone too.
func TestPublishingInsertAllOrNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.DB(t)
	st := store.New(pool).WithHotPool(pool)
	tn := storetest.Tenant(t, st, nil)
	a := storetest.Endpoint(t, st, tn.ID, nil)

	// River's table refuses an empty kind: the job, written after the
	// message and the delivery, fails the whole.
	p, m, ds, jobs := publishing(t, st, tn.ID, []store.Endpoint{a}, "")
	_, err := p.Insert(ctx, []store.Message{m}, ds, jobs)
	require.Error(t, err)
	p.Close()
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM messages WHERE id = $1)
		+ (SELECT count(*) FROM deliveries WHERE message_id = $1)`, m.ID).Scan(&n))
	require.Zero(t, n)

	// The connection went back to the pool usable: the next publish works.
	p, m, ds, jobs = publishing(t, st, tn.ID, []store.Endpoint{a}, "hookd.deliver")
	_, err = p.Insert(ctx, []store.Message{m}, ds, jobs)
	require.NoError(t, err)

	// A publish that writes through Tx and is closed without Commit
	// leaves nothing either.
	p, m, _, _ = publishing(t, st, tn.ID, []store.Endpoint{a}, "hookd.deliver")
	_, _, err = st.WithTx(p.Tx()).InsertMessages(ctx, []store.Message{m})
	require.NoError(t, err)
	p.Close()
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE id = $1`, m.ID).Scan(&n))
	require.Zero(t, n)
}
