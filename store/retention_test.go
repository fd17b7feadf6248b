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

// idAt is a UUIDv7 of time t, for rows made "in the past".
func idAt(t time.Time) uuid.UUID {
	u := store.NewID()
	ms := uint64(t.UnixMilli())
	for i := range 6 {
		u[i] = byte(ms >> (40 - 8*i))
	}
	return u
}

func TestDeleteExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, nil)
	old := time.Now().Add(-40 * 24 * time.Hour)

	message := func(at time.Time, status string) uuid.UUID {
		m, _, err := st.InsertMessage(ctx, store.Message{ID: idAt(at), TenantID: tn.ID, EventType: "a", Payload: []byte(`{}`)})
		require.NoError(t, err)
		d := storetest.Delivery(t, st, tn.ID, m.ID, ep.ID)
		rec := store.AttemptRecord{Attempt: store.Attempt{ID: idAt(at), TenantID: tn.ID, DeliveryID: d.ID, MessageID: m.ID,
			EndpointID: ep.ID, Trigger: store.TriggerScheduled, Status: store.AttemptFailed, URL: ep.URL, StartedAt: at},
			Status: status}
		require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{rec}))
		return m.ID
	}
	oldDone := message(old, store.DeliveryFailed)
	oldPending := message(old, store.DeliveryPending)
	recent := message(time.Now(), store.DeliveryFailed)

	cutoff := time.Now().Add(-30 * 24 * time.Hour)
	total := 0
	for {
		n, err := st.DeleteExpired(ctx, cutoff, 1)
		require.NoError(t, err)
		if n == 0 {
			break
		}
		total += n
	}
	require.Equal(t, 4, total, "two old attempts, and the finished old message with its delivery")

	_, err := st.GetMessage(ctx, tn.ID, oldDone)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.GetMessage(ctx, tn.ID, oldPending)
	require.NoError(t, err, "a message with a pending delivery is kept")
	ds, err := st.MessageDeliveries(ctx, tn.ID, oldPending)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	_, err = st.GetMessage(ctx, tn.ID, recent)
	require.NoError(t, err)
	as, _, err := st.ListAttempts(ctx, tn.ID, store.AttemptFilter{MessageID: recent}, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, as, 1, "recent attempts stay")
}
