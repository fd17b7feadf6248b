package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func TestBackfillSelectsWhatTheEndpointMissed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := storetest.Tx(t)
	st := store.New(nil).WithTx(tx)
	tn := storetest.Tenant(t, st, nil)
	other := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, nil)

	old := storetest.Message(t, st, tn.ID, "invoice.paid")
	_, err := tx.Exec(ctx, `UPDATE messages SET created_at = now() - interval '2 hours' WHERE id = $1`, old.ID)
	require.NoError(t, err)
	paid := storetest.Message(t, st, tn.ID, "invoice.paid")
	sent := storetest.Message(t, st, tn.ID, "invoice.paid")
	storetest.Delivery(t, st, tn.ID, sent.ID, ep.ID)
	voided := storetest.Message(t, st, tn.ID, "invoice.voided")
	user := storetest.Message(t, st, tn.ID, "user.created")
	storetest.Message(t, st, other.ID, "invoice.paid")

	ids := func(ms []store.Message) []uuid.UUID {
		out := make([]uuid.UUID, len(ms))
		for i, m := range ms {
			out[i] = m.ID
		}
		return out
	}
	since := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name string
		f    store.BackfillFilter
		want []uuid.UUID
	}{
		{"every event type", store.BackfillFilter{}, []uuid.UUID{paid.ID, voided.ID, user.ID}},
		{"one event type", store.BackfillFilter{EventTypes: []string{"invoice.voided"}}, []uuid.UUID{voided.ID}},
		{"a prefix", store.BackfillFilter{Prefixes: []string{"invoice."}}, []uuid.UUID{paid.ID, voided.ID}},
		{"a prefix or a name", store.BackfillFilter{EventTypes: []string{"user.created"}, Prefixes: []string{"invoice."}},
			[]uuid.UUID{paid.ID, voided.ID, user.ID}},
		{"a channel no message has", store.BackfillFilter{Channels: []string{"eu"}}, []uuid.UUID{}},
	} {
		f := tc.f
		f.TenantID, f.EndpointID, f.Since = tn.ID, ep.ID, since
		got, err := st.BackfillMessages(ctx, f, 100)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.want, ids(got), tc.name)
		n, err := st.CountBackfill(ctx, f)
		require.NoError(t, err, tc.name)
		require.Equal(t, len(tc.want), n, tc.name)
	}

	// Oldest first, up to the limit; older than since is left out.
	f := store.BackfillFilter{TenantID: tn.ID, EndpointID: ep.ID, Since: since}
	got, err := st.BackfillMessages(ctx, f, 2)
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{paid.ID, voided.ID}, ids(got))
	require.Empty(t, got[0].Payload, "no payloads are read")
	f.Since = time.Now().Add(-3 * time.Hour)
	n, err := st.CountBackfill(ctx, f)
	require.NoError(t, err)
	require.Equal(t, 4, n, "the old message too, from further back")
}

func TestInsertScheduledDeliveries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, nil)
	a := storetest.Message(t, st, tn.ID, "a.b")
	b := storetest.Message(t, st, tn.ID, "a.b")
	storetest.Delivery(t, st, tn.ID, b.ID, ep.ID)

	at := time.Now().Add(time.Minute).Truncate(time.Microsecond)
	out, err := st.InsertScheduledDeliveries(ctx, tn.ID, ep.ID, []uuid.UUID{a.ID, b.ID}, []time.Time{at, at})
	require.NoError(t, err)
	require.Len(t, out, 1, "the message that has a delivery already is skipped")
	require.Equal(t, a.ID, out[0].MessageID)
	require.True(t, at.Equal(out[0].At), "due at %s, not %s", at, out[0].At)
	ds, err := st.MessageDeliveries(ctx, tn.ID, a.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, store.DeliveryPending, ds[0].Status)
	require.True(t, at.Equal(*ds[0].NextAttemptAt))

	_, err = st.InsertScheduledDeliveries(ctx, tn.ID, ep.ID, []uuid.UUID{a.ID}, nil)
	require.Error(t, err, "a time for each message")
}

func TestOperationalTenantIsNotListed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	require.NoError(t, st.EnsureOperationalTenant(ctx))
	require.NoError(t, st.EnsureOperationalTenant(ctx), "a second time changes nothing")
	got, err := st.GetTenant(ctx, store.OperationalTenant)
	require.NoError(t, err)
	require.Equal(t, "Operational webhooks", got.Name)
	mine := storetest.Tenant(t, st, nil)
	list, _, err := st.ListTenants(ctx, store.Page{Limit: 250})
	require.NoError(t, err)
	var listed []string
	for _, tn := range list {
		listed = append(listed, tn.ID)
	}
	require.Contains(t, listed, mine.ID)
	require.NotContains(t, listed, store.OperationalTenant)
}
