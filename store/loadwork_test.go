package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
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

// Recording attempts on the hot pool's connections (generic plans, no
// sequential scans: HotPoolConfig), on a river_job whose statistics are a
// small table's: a batch without direct attempts (the River path, all of
// a backlog's drain) does not read river_job at all, and one with a
// fallback job deletes it by its primary key, while the table is small
// and once it has grown and been analyzed. Planned on the small table
// without the hot pool's settings, the delete read the whole table, and
// at 200 deliveries/s river_job's pages fill with the dead rows of
// deleted jobs faster than autovacuum comes (26 pages after 30 s).
func TestRecordAttemptsReadsRiverJobByID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A database of its own, whose river_job's statistics are this test's.
	hot, err := pgxpool.NewWithConfig(ctx, store.HotPoolConfig(storetest.DB(t).Config()))
	require.NoError(t, err)
	t.Cleanup(hot.Close)
	tx, err := hot.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	st := store.New(nil).WithTx(tx)
	tn := storetest.Tenant(t, st, nil)
	ep := storetest.Endpoint(t, st, tn.ID, nil)
	m := storetest.Message(t, st, tn.ID, "a")
	d := storetest.Delivery(t, st, tn.ID, m.ID, ep.ID)
	rec := store.AttemptRecord{Attempt: store.Attempt{TenantID: tn.ID, DeliveryID: d.ID, MessageID: m.ID, EndpointID: ep.ID,
		Trigger: store.TriggerScheduled, Status: store.AttemptFailed, StatusCode: 500, URL: ep.URL, StartedAt: time.Now()},
		Status: store.DeliveryPending}
	scans := func() (seq, idx int64) {
		t.Helper()
		require.NoError(t, tx.QueryRow(ctx, `SELECT coalesce(seq_scan, 0), coalesce(idx_scan, 0)
			FROM pg_stat_xact_user_tables WHERE relname = 'river_job'`).Scan(&seq, &idx))
		return seq, idx
	}
	jobs := func(n int) {
		t.Helper()
		_, err := tx.Exec(ctx, `INSERT INTO river_job (kind, args, state, scheduled_at, queue, max_attempts, priority)
			SELECT 'hookd.deliver', jsonb_build_object('n', i), 'scheduled', now() + interval '1 hour', 'deliver', 25, 1
			FROM generate_series(1, $1) i`, n)
		require.NoError(t, err)
		_, err = tx.Exec(ctx, `ANALYZE river_job`)
		require.NoError(t, err)
	}
	// Statistics of a small river_job, where a scan is the cheapest plan.
	jobs(20)
	seq0, idx0 := scans()
	for range 8 {
		require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{rec}))
	}
	seq, idx := scans()
	require.Equal(t, seq0, seq, "river_job was scanned for a batch without fallback jobs")
	require.Equal(t, idx0, idx, "river_job was read for a batch without fallback jobs")

	// A fallback job while river_job is small still goes by its id.
	var small int64
	require.NoError(t, tx.QueryRow(ctx, `SELECT min(id) FROM river_job`).Scan(&small))
	rec.FallbackJob = small
	require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{rec}))
	seq, idx = scans()
	require.Equal(t, seq0, seq, "a small river_job was scanned for its fallback job")
	require.Greater(t, idx, idx0, "the fallback job was not looked up by its id")
	kept := func(id int64) int {
		var n int
		require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE id = $1`, id).Scan(&n))
		return n
	}
	require.Zero(t, kept(small), "the fallback job went with the record")

	// A grown river_job, analyzed: the fallback job goes by its id.
	jobs(20000)
	var job int64
	require.NoError(t, tx.QueryRow(ctx, `SELECT max(id) FROM river_job`).Scan(&job))
	seq0, _ = scans()
	rec.FallbackJob = job
	require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{rec}))
	seq, _ = scans()
	require.Equal(t, seq0, seq, "the fallback job was looked for by a scan")
	require.Zero(t, kept(job), "the fallback job went with the record")

	// The job River ran the attempt in goes with its record while it is
	// running, by its id; one River took back meanwhile (rescued, now
	// retryable) stays, for River to run again.
	var running, rescued int64
	require.NoError(t, tx.QueryRow(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now()
		WHERE id = (SELECT min(id) FROM river_job) RETURNING id`).Scan(&running))
	require.NoError(t, tx.QueryRow(ctx, `UPDATE river_job SET state = 'retryable'
		WHERE id = (SELECT min(id) FROM river_job WHERE state = 'scheduled') RETURNING id`).Scan(&rescued))
	seq0, _ = scans()
	rec.FallbackJob, rec.RunningJob = 0, running
	require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{rec}))
	rec.RunningJob = rescued
	require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{rec}))
	seq, _ = scans()
	require.Equal(t, seq0, seq, "the running job was looked for by a scan")
	require.Zero(t, kept(running), "the running job went with the record")
	require.Equal(t, 1, kept(rescued), "a job River took back was deleted")

	// Both kinds in one batch, each deleted only in its own state: a
	// running job named as a fallback, or a scheduled one as running, stays.
	m2 := storetest.Message(t, st, tn.ID, "a")
	d2 := storetest.Delivery(t, st, tn.ID, m2.ID, ep.ID)
	rec2 := rec
	rec2.Attempt.DeliveryID, rec2.Attempt.MessageID = d2.ID, m2.ID
	var fallback, run, wrongRun, wrongFallback int64
	pick := func(state string) int64 {
		var id int64
		require.NoError(t, tx.QueryRow(ctx, `UPDATE river_job SET state = $1::river_job_state,
				attempt = CASE WHEN $1 = 'running' THEN 1 ELSE 0 END, attempted_at = CASE WHEN $1 = 'running' THEN now() END
			WHERE id = (SELECT min(id) FROM river_job WHERE state = 'scheduled' AND id > $2) RETURNING id`,
			state, max(fallback, run, wrongRun, wrongFallback)).Scan(&id))
		return id
	}
	fallback = pick("scheduled")
	run = pick("running")
	rec.FallbackJob, rec.RunningJob = fallback, 0
	rec2.FallbackJob, rec2.RunningJob = 0, run
	require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{rec, rec2}))
	wrongFallback = pick("running")
	wrongRun = pick("scheduled")
	rec.FallbackJob, rec2.RunningJob = wrongFallback, wrongRun
	require.NoError(t, st.RecordAttempts(ctx, []store.AttemptRecord{rec, rec2}))
	for id, want := range map[int64]int{fallback: 0, run: 0, wrongFallback: 1, wrongRun: 1} {
		require.Equal(t, want, kept(id), "job %d", id)
	}
}

// hookd's pools run without Postgres's JIT (ConfigurePool), unless the
// connection string asks for it.
func TestPoolsRunWithoutJIT(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var jit string
	require.NoError(t, storetest.DB(t).QueryRow(ctx, `SHOW jit`).Scan(&jit))
	require.Equal(t, "off", jit)

	cfg, err := pgxpool.ParseConfig(storetest.URL(t))
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["jit"] = "on" // as "?jit=on" in DATABASE_URL sets it
	store.ConfigurePool(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, pool.QueryRow(ctx, `SHOW jit`).Scan(&jit))
	require.Equal(t, "on", jit, "the connection string's jit wins")
}
