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

// RecordAttempts updates a day's deliveries in their partition, and only
// when all of them are of that day and it exists.
func TestRecordAttemptsNamesTheDaysPartition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.DB(t)
	st := store.New(pool)
	now := time.Now().UTC()
	today := store.MinV7(now)
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	inTx := st.WithTx(tx)
	require.Equal(t, "deliveries", inTx.DeliveriesTable(ctx, today, store.NewID()), "listed in a caller's transaction")
	require.Equal(t, "deliveries_p"+now.Format("20060102"), st.DeliveriesTable(ctx, today, store.NewID()))
	require.Equal(t, "deliveries_p"+now.Format("20060102"), inTx.DeliveriesTable(ctx, today, store.NewID()), "a transaction's Store uses what its pool's Store listed")
	require.Equal(t, "deliveries", st.DeliveriesTable(ctx, store.MinV7(now.Add(-48*time.Hour)), today), "two days")
	require.Equal(t, "deliveries", st.DeliveriesTable(ctx, store.MinV7(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)), store.MinV7(time.Date(2001, 1, 1, 1, 0, 0, 0, time.UTC))), "a day without a partition")
	v4 := uuid.New()
	require.Equal(t, "deliveries", st.DeliveriesTable(ctx, v4, v4), "not a UUIDv7")
}

// A day's partition dropped after the Store listed it: the record goes
// through the partitioned table (its attempts, of deliveries gone, with
// them), and the name is forgotten.
func TestRecordAttemptsAfterItsPartitionWasDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.DB(t)
	st := store.New(pool)
	day := time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := st.EnsurePartitions(ctx, day, 1)
	require.NoError(t, err)
	id := store.MinV7(day.Add(time.Hour))
	require.Equal(t, "deliveries_p20900101", st.DeliveriesTable(ctx, id, id))
	_, err = pool.Exec(ctx, `DROP TABLE deliveries_p20900101`)
	require.NoError(t, err)

	rec := store.AttemptRecord{Attempt: store.Attempt{ID: store.MinV7(day.Add(2 * time.Hour)), TenantID: "t", DeliveryID: id,
		MessageID: id, EndpointID: id, Trigger: store.TriggerScheduled, Status: store.AttemptFailed, StatusCode: 500,
		URL: "http://127.0.0.1:1/", StartedAt: time.Now()}, Status: store.DeliveryPending}
	require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{rec}))
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM attempts WHERE delivery_id = $1`, id).Scan(&n))
	require.Zero(t, n, "an attempt of a delivery that no longer exists was recorded")
	require.Equal(t, "deliveries", st.DeliveriesTable(ctx, id, id), "the dropped partition is still named")
}
