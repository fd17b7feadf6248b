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

func TestRetentionDeletesOldMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.DB(t)
	st := store.New(pool)
	tn := storetest.Tenant(t, st, nil)
	old := store.NewID()
	ms := uint64(time.Now().Add(-3 * 24 * time.Hour).UnixMilli())
	for i := range 6 {
		old[i] = byte(ms >> (40 - 8*i))
	}
	_, _, err := st.InsertMessage(ctx, store.Message{ID: old, TenantID: tn.ID, EventType: "a", Payload: []byte(`{}`)})
	require.NoError(t, err)
	recent := storetest.Message(t, st, tn.ID, "a")

	svc, err := delivery.New(pool, st, delivery.Config{RunWorkers: true, Retention: 24 * time.Hour,
		FetchPollInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, svc.Start(ctx))
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Stop(stopCtx)
	})

	// River's leader runs the clean-up when it starts, then every hour.
	require.Eventually(t, func() bool {
		_, err := st.GetMessage(ctx, tn.ID, old)
		return err != nil
	}, 30*time.Second, 50*time.Millisecond, "the 3-day-old message outlived a 24 h retention")
	_, err = st.GetMessage(ctx, tn.ID, recent.ID)
	require.NoError(t, err)
}
