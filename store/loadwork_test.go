package store_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// The work a publish reads with its insert (for its direct attempts) is
// what LoadWork reads after it, and only that of the deliveries it asked
// for; a delivery that existed is not made again, and its work is not
// handed out as if it were new.
func TestInsertDeliveriesLoading(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := storetest.Tx(t)
	st := store.New(nil).WithTx(tx).WithCipher(newCipher(t))
	tn := storetest.Tenant(t, st, nil)
	headers := map[string]string{"Authorization": "Bearer tok_e5f6"}
	a := storetest.Endpoint(t, st, tn.ID, &storetest.EndpointOpts{Headers: headers})
	b := storetest.Endpoint(t, st, tn.ID, nil)
	c := storetest.Endpoint(t, st, tn.ID, nil)
	m := storetest.Message(t, st, tn.ID, "invoice.paid")
	existing := storetest.Delivery(t, st, tn.ID, m.ID, c.ID)

	ds := []store.NewDelivery{
		{TenantID: tn.ID, MessageID: m.ID, EndpointID: a.ID},
		{TenantID: tn.ID, MessageID: m.ID, EndpointID: b.ID},
		{TenantID: tn.ID, MessageID: m.ID, EndpointID: c.ID},
	}
	ids, work, err := st.InsertDeliveriesLoading(ctx, ds[:2], 1)
	require.NoError(t, err)
	require.ElementsMatch(t, []uuid.UUID{store.DeliveryID(m.ID, a.ID), store.DeliveryID(m.ID, b.ID)}, ids)
	require.Len(t, work, 1, "only the first delivery's work is read")
	w, ok := work[store.DeliveryID(m.ID, a.ID)]
	require.True(t, ok)

	after, err := st.LoadWork(ctx, []uuid.UUID{store.DeliveryID(m.ID, a.ID)})
	require.NoError(t, err)
	require.Equal(t, after[w.Delivery.ID], w)
	require.Equal(t, headers, w.Endpoint.Headers, "headers come decrypted")
	require.Equal(t, []string{storetest.TestSecret}, w.Secrets, "keys come decrypted")
	require.Equal(t, store.DeliveryPending, w.Delivery.Status)
	require.JSONEq(t, `{"n": 1}`, string(w.Payload))

	// The pair that exists is skipped, though its work is asked for.
	ids, work, err = st.InsertDeliveriesLoading(ctx, ds[2:], 1)
	require.NoError(t, err)
	require.Empty(t, ids)
	require.Contains(t, work, existing.ID, "the load reads what is there")

	// Without a load, nothing is read.
	ids, work, err = st.InsertDeliveriesLoading(ctx, []store.NewDelivery{{TenantID: tn.ID, MessageID: m.ID, EndpointID: a.ID}}, 0)
	require.NoError(t, err)
	require.Empty(t, ids)
	require.Nil(t, work)
}
