package store_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func TestTenant(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("UpsertCreatesThenUpdates", func(t *testing.T) {
		t.Parallel()
		st := storetest.Store(t)
		got, created, err := st.UpsertTenant(ctx, store.Tenant{ID: "acme", Name: "Acme"})
		require.NoError(t, err)
		require.True(t, created)
		require.JSONEq(t, `{}`, string(got.Metadata))
		got, created, err = st.UpsertTenant(ctx, store.Tenant{ID: "acme", Name: "Acme Inc", Metadata: []byte(`{"plan":"pro"}`)})
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, "Acme Inc", got.Name)
		read, err := st.GetTenant(ctx, "acme")
		require.NoError(t, err)
		require.JSONEq(t, `{"plan":"pro"}`, string(read.Metadata))
	})

	t.Run("DeleteCascades", func(t *testing.T) {
		t.Parallel()
		st := storetest.Store(t)
		tn := storetest.Tenant(t, st, nil)
		ep := storetest.Endpoint(t, st, tn.ID, nil)
		m := storetest.Message(t, st, tn.ID, "a.b")
		storetest.Delivery(t, st, tn.ID, m.ID, ep.ID)
		require.NoError(t, st.DeleteTenant(ctx, tn.ID))
		before := store.NewID()
		_, err := st.GetEndpoint(ctx, tn.ID, ep.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = st.GetTenant(ctx, tn.ID)
		require.ErrorIs(t, err, store.ErrNotFound, "gone at once; its history goes in batches")
		require.ErrorIs(t, st.DeleteTenant(ctx, tn.ID), store.ErrNotFound)

		// Created again at once: what it publishes now is not purged.
		_, _, err = st.UpsertTenant(ctx, store.Tenant{ID: tn.ID})
		require.NoError(t, err)
		again := storetest.Message(t, st, tn.ID, "a.b")
		total := 0
		for {
			n, err := st.PurgeTenant(ctx, tn.ID, before, 1)
			require.NoError(t, err)
			if n == 0 {
				break
			}
			total += n
		}
		require.Equal(t, 2, total, "the message and its delivery")
		_, err = st.GetMessage(ctx, tn.ID, m.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
		ds, err := st.MessageDeliveries(ctx, tn.ID, m.ID)
		require.NoError(t, err)
		require.Empty(t, ds)
		_, err = st.GetMessage(ctx, tn.ID, again.ID)
		require.NoError(t, err)
	})

	t.Run("ListPages", func(t *testing.T) {
		t.Parallel()
		st := storetest.Store(t)
		for range 5 {
			storetest.Tenant(t, st, nil)
		}
		var seen []string
		cursor := ""
		for {
			page, next, err := st.ListTenants(ctx, store.Page{Limit: 2, Cursor: cursor})
			require.NoError(t, err)
			for _, tn := range page {
				seen = append(seen, tn.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		// The shared database may hold other tests' committed tenants, never
		// ours twice.
		counts := map[string]int{}
		for _, id := range seen {
			counts[id]++
			require.Equal(t, 1, counts[id], "tenant %s listed twice", id)
		}
		require.GreaterOrEqual(t, len(seen), 5)
		_, _, err := st.ListTenants(ctx, store.Page{Limit: 2, Cursor: "garbage"})
		require.ErrorIs(t, err, store.ErrBadCursor)
		// A crafted cursor whose key Postgres cannot take as text.
		for _, key := range []string{`a\u0000b`, `\ud800`, "\xff"} {
			crafted := base64.RawURLEncoding.EncodeToString([]byte(`{"t":"2026-01-01T00:00:00Z","k":"` + key + `"}`))
			_, _, err = st.ListTenants(ctx, store.Page{Limit: 2, Cursor: crafted})
			require.ErrorIs(t, err, store.ErrBadCursor, "key %s", key)
		}
	})
}

func TestEventType(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)

	e := storetest.EventType(t, st, &storetest.EventTypeOpts{Name: "invoice.paid"})
	e.Archived = true
	_, err := st.UpdateEventType(ctx, e)
	require.NoError(t, err)
	list, _, err := st.ListEventTypes(ctx, false, store.Page{Limit: 50})
	require.NoError(t, err)
	for _, x := range list {
		require.NotEqual(t, "invoice.paid", x.Name, "archived event types are hidden by default")
	}
	_, err = st.CreateEventType(ctx, store.EventType{Name: "invoice.paid"})
	require.ErrorIs(t, err, store.ErrConflict) // last: it aborts the transaction
}

func TestMessageIdempotency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)

	first, existed, err := st.InsertMessage(ctx, store.Message{TenantID: tn.ID, EventType: "a", Payload: []byte(`{"a":1}`), IdempotencyKey: "k1"})
	require.NoError(t, err)
	require.False(t, existed)
	again, existed, err := st.InsertMessage(ctx, store.Message{TenantID: tn.ID, EventType: "a", Payload: []byte(`{"a":2}`), IdempotencyKey: "k1"})
	require.NoError(t, err)
	require.True(t, existed)
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, `{"a":1}`, string(again.Payload))

	// Exact bytes survive: key order and whitespace are kept.
	raw := []byte(`{ "z": 1,  "a": [1, 2] }`)
	m, _, err := st.InsertMessage(ctx, store.Message{TenantID: tn.ID, EventType: "a", Payload: raw})
	require.NoError(t, err)
	read, err := st.GetMessage(ctx, tn.ID, m.ID)
	require.NoError(t, err)
	require.Equal(t, raw, read.Payload)

	// Another tenant cannot read it.
	other := storetest.Tenant(t, st, nil)
	_, err = st.GetMessage(ctx, other.ID, m.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func TestRecordAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, nil)
	m := storetest.Message(t, st, tn.ID, "a")
	d := storetest.Delivery(t, st, tn.ID, m.ID, ep.ID)

	next := time.Now().Add(time.Minute)
	rec := func(status, dstatus string, code int, at *time.Time) store.AttemptRecord {
		return store.AttemptRecord{Attempt: store.Attempt{TenantID: tn.ID, DeliveryID: d.ID, MessageID: m.ID, EndpointID: ep.ID,
			Trigger: store.TriggerScheduled, Status: status, StatusCode: code, URL: ep.URL, StartedAt: time.Now(),
			ResponseBody: []byte("nope"), ErrorClass: "status"}, Status: dstatus, NextAttemptAt: at}
	}
	require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{rec(store.AttemptFailed, store.DeliveryPending, 500, &next)}))
	require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{rec(store.AttemptSucceeded, store.DeliverySucceeded, 200, nil)}))

	ds, err := st.MessageDeliveries(ctx, tn.ID, m.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, store.DeliverySucceeded, ds[0].Status)
	require.Equal(t, 2, ds[0].Attempts)
	require.Equal(t, 200, *ds[0].LastStatusCode)

	as, _, err := st.ListAttempts(ctx, tn.ID, store.AttemptFilter{MessageID: m.ID}, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, as, 2)
	require.Equal(t, 2, as[0].Attempt, "newest first")
	require.Equal(t, 1, as[1].Attempt)
	require.Equal(t, []byte("nope"), as[1].ResponseBody)

	// A delivery that no longer exists drops its attempt instead of failing the batch.
	gone := rec(store.AttemptFailed, store.DeliveryFailed, 500, nil)
	gone.Attempt.DeliveryID = uuid.New()
	require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{gone}))
}

func TestRotateSecretKeepsOldKeysInGrace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, nil)
	m := storetest.Message(t, st, tn.ID, "a")
	d := storetest.Delivery(t, st, tn.ID, m.ID, ep.ID)

	for i := range 12 {
		require.NoError(t, st.RotateSecret(ctx, tn.ID, ep.ID, "whsec_new"+string(rune('a'+i)), time.Hour))
	}
	require.NoError(t, st.RotateSecret(ctx, tn.ID, ep.ID, "whsec_expired-right-away", time.Hour))
	// No grace: the key it replaces stops signing at once.
	require.NoError(t, st.RotateSecret(ctx, tn.ID, ep.ID, "whsec_current", 0))
	cur, err := st.CurrentSecret(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.Equal(t, "whsec_current", cur.Secret)
	work, err := st.LoadWork(ctx, []uuid.UUID{d.ID})
	require.NoError(t, err)
	keys := work[d.ID].Secrets
	require.Equal(t, "whsec_current", keys[0], "the current key comes first")
	require.Len(t, keys, 11, "the current key and at most 10 old ones")
	require.NotContains(t, keys, "whsec_expired-right-away")
}

func TestMapsErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	_, err := st.CreateEndpoint(ctx, store.Endpoint{TenantID: "no-such-tenant", URL: "http://127.0.0.1:1/"}, "whsec_x")
	require.True(t, errors.Is(err, store.ErrNotFound), "a missing tenant is not found, got %v", err)
}

func TestCreateEndpointWithin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn, other := storetest.Tenant(t, st, nil), storetest.Tenant(t, st, nil)
	e := store.Endpoint{TenantID: tn.ID, URL: "https://example.com/"}
	for range 2 {
		_, err := st.CreateEndpointWithin(ctx, e, storetest.TestSecret, 2)
		require.NoError(t, err)
	}
	_, err := st.CreateEndpointWithin(ctx, e, storetest.TestSecret, 2)
	require.ErrorIs(t, err, store.ErrTooMany)
	list, _, err := st.ListEndpoints(ctx, tn.ID, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 2, "the refused one was not stored")

	e.TenantID = other.ID
	_, err = st.CreateEndpointWithin(ctx, e, storetest.TestSecret, 2)
	require.NoError(t, err, "the limit is per tenant")
	e.TenantID = "no-such-tenant"
	_, err = st.CreateEndpointWithin(ctx, e, storetest.TestSecret, 2)
	require.ErrorIs(t, err, store.ErrNotFound)
}
