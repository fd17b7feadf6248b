package delivery_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func startService(t *testing.T, st *store.Store, cfg delivery.Config) *delivery.Service {
	t.Helper()
	ctx := context.Background()
	cfg.RunWorkers, cfg.FetchPollInterval = true, 20*time.Millisecond
	svc, err := delivery.New(st.Pool(), st, cfg)
	require.NoError(t, err)
	require.NoError(t, svc.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Stop(stopCtx)
	})
	return svc
}

// TestPartitionsAhead: the periodic job makes the partitions of the days
// ahead when they are missing (as on a node that was down for days).
func TestPartitionsAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.DB(t)
	st := store.New(pool)
	day := time.Now().UTC().AddDate(0, 0, store.PartitionDaysAhead).Format("20060102")
	for _, table := range []string{"attempts", "deliveries", "message_payloads", "messages"} {
		_, err := pool.Exec(ctx, `DROP TABLE `+table+`_p`+day)
		require.NoError(t, err)
	}
	startService(t, st, delivery.Config{})
	require.Eventually(t, func() bool {
		parts, err := st.Partitions(ctx)
		require.NoError(t, err)
		n := 0
		for _, p := range parts {
			if p.Name == p.Table+"_p"+day {
				n++
			}
		}
		return n == 4
	}, 30*time.Second, 50*time.Millisecond, "the partitions of %s were not made again", day)
}

// TestDeleteTenantPurgesHistory: a deleted tenant is gone at once, and a
// job deletes its history right after.
func TestDeleteTenantPurgesHistory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := store.New(storetest.DB(t))
	svc := startService(t, st, delivery.Config{})
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, nil)
	var ms []store.Message
	for range 3 {
		m := storetest.Message(t, st, tn.ID, "a")
		storetest.Delivery(t, st, tn.ID, m.ID, ep.ID)
		ms = append(ms, m)
	}
	require.NoError(t, svc.DeleteTenant(ctx, tn.ID))
	_, err := st.GetTenant(ctx, tn.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, svc.DeleteTenant(ctx, tn.ID), store.ErrNotFound)
	require.Eventually(t, func() bool {
		for _, m := range ms {
			if _, err := st.GetMessage(ctx, tn.ID, m.ID); err == nil {
				return false
			}
			ds, err := st.MessageDeliveries(ctx, tn.ID, m.ID)
			require.NoError(t, err)
			if len(ds) > 0 {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "the deleted tenant's history is still there")
}
