package delivery_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// A delivery left pending with no job (as a bug would leave it) is found
// by the sweep and delivered; one whose retry job is waiting is left alone.
func TestSweepEnqueuesStrandedDeliveries(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{SweepInterval: -1, Schedule: delivery.Schedule{time.Hour}})
	ctx := context.Background()
	rc, setHealthy := downReceiver(t, http.StatusInternalServerError)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})

	// Retrying: its job is scheduled an hour from now. Even made overdue
	// in the table, it has a live job, so the sweep leaves it.
	retrying := f.publish(t, tn.ID, "a.b", `{"retrying":true}`)
	require.Eventually(t, func() bool { return len(f.attempts(t, tn.ID, retrying.ID)) == 1 }, 10*time.Second, 10*time.Millisecond)
	setHealthy()
	// Stranded: a delivery with no job at all.
	m := storetest.Message(t, f.st, tn.ID, "a.b")
	d := storetest.Delivery(t, f.st, tn.ID, m.ID, ep.ID)
	_, err := f.st.Pool().Exec(ctx, `UPDATE deliveries SET next_attempt_at = now() - interval '10 minutes'
		WHERE endpoint_id = $1`, ep.ID)
	require.NoError(t, err)

	n, err := f.svc.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the delivery without a job is stranded")
	got := f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	require.Equal(t, d.ID, got.ID)
	require.Len(t, rc.requests(), 2, "the first try of the retrying one, then the stranded one")

	n, err = f.svc.Sweep(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing is stranded any more")
}

// A job left running by a worker that died is given back within seconds
// of its heartbeat going stale, and its delivery goes out.
func TestRescuesJobsOfDeadWorker(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{SweepInterval: -1})
	ctx := context.Background()
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	m := storetest.Message(t, f.st, tn.ID, "a.b")
	d := storetest.Delivery(t, f.st, tn.ID, m.ID, ep.ID)

	// What a process killed mid-attempt leaves: its heartbeat row, gone
	// quiet, and the job it was running.
	pool := f.st.Pool()
	_, err := pool.Exec(ctx, `INSERT INTO workers (id, seen_at) VALUES ('killed-worker', now() - interval '1 minute')`)
	require.NoError(t, err)
	res, err := f.svc.River().Insert(ctx, delivery.DeliverArgs{DeliveryID: d.ID},
		&river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now(),
		attempted_by = ARRAY['killed-worker'] WHERE id = $1`, res.Job.ID)
	require.NoError(t, err)

	start := time.Now()
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	// The live worker judges others once it has beaten for 10 s.
	require.Less(t, time.Since(start), 14*time.Second)
	require.Len(t, rc.requests(), 1)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM workers WHERE id = 'killed-worker'`).Scan(&n))
	require.Equal(t, 1, n, "a dead worker's row stays for an hour, then is cleared")
}
