package delivery_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// deliverJobs counts the River jobs (in any state, completed ones
// included: River keeps them for minutes) of the message's deliveries.
func deliverJobs(t *testing.T, f fixture, message string) int {
	t.Helper()
	var n int
	require.NoError(t, f.st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM river_job j
		JOIN deliveries d ON j.args @> jsonb_build_object('delivery_id', d.id)
		WHERE j.kind = 'hookd.deliver' AND d.message_id = $1`, message).Scan(&n))
	return n
}

// A delivery published by a process that runs workers is attempted by
// that process at once, and its fallback job goes with the attempt's
// record: no River job is left, not even a completed one.
func TestDirectAttemptLeavesNoJob(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})

	m := f.publish(t, tn.ID, "a.b", `{"direct":true}`)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	require.Len(t, rc.requests(), 1)
	require.Zero(t, rc.badSig)
	require.Len(t, f.attempts(t, tn.ID, m.ID), 1)
	require.Zero(t, deliverJobs(t, f, m.ID.String()), "the fallback job was deleted with the record")
}

// With direct attempts off, the same publish goes through River (its
// job is available at once; only River's fetch runs it), and that job,
// running, goes with the attempt's record as well: River's completion of
// it finds no row, so no completed job is left either.
func TestNoDirectGoesThroughRiver(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{NoDirect: true})
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})

	m := f.publish(t, tn.ID, "a.b", `{"direct":false}`)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	require.Len(t, rc.requests(), 1)
	as := f.attempts(t, tn.ID, m.ID)
	require.Len(t, as, 1)
	require.Equal(t, store.TriggerScheduled, as[0].Trigger, "a job's args without a trigger are a scheduled attempt")
	require.Zero(t, deliverJobs(t, f, m.ID.String()), "River's job was deleted with the record")
}

// A direct attempt that fails leaves its retry to River, in the retry
// lane, and the fallback job is gone: exactly the schedule's attempts go
// out, no more. While River runs the retry, its job is the only one; its
// record deletes it.
func TestDirectAttemptFailureRetries(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	inRetry, release := make(chan struct{}), make(chan struct{})
	rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header, string) {
		if n == 1 {
			return http.StatusInternalServerError, nil, "down"
		}
		close(inRetry)
		<-release
		return http.StatusOK, nil, "ok"
	})
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})

	m := f.publish(t, tn.ID, "a.b", `{"retry":true}`)
	jobs := func() []string {
		var queues []string
		rows, err := f.st.Pool().Query(context.Background(), `SELECT j.queue || ' ' || j.state FROM river_job j
			JOIN deliveries d ON j.args @> jsonb_build_object('delivery_id', d.id) WHERE d.message_id = $1`, m.ID)
		require.NoError(t, err)
		for rows.Next() {
			var q string
			require.NoError(t, rows.Scan(&q))
			queues = append(queues, q)
		}
		require.NoError(t, rows.Err())
		return queues
	}
	select {
	case <-inRetry:
	case <-time.After(15 * time.Second):
		t.Fatal("the retry never came")
	}
	require.Equal(t, []string{delivery.QueueRetry + " running"}, jobs(), "only the retry's job, which River runs")
	close(release)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	require.Len(t, rc.requests(), 2)
	require.Len(t, f.attempts(t, tn.ID, m.ID), 2)
	require.Empty(t, jobs(), "the retry's job went with its record")
}

// The fallback job of a direct attempt whose process died (its heartbeat
// gone quiet) is made available by a live worker's rescue, not left for
// its scheduled time.
func TestRescuesFallbackJobsOfDeadWorker(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{SweepInterval: -1})
	ctx := context.Background()
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	m := storetest.Message(t, f.st, tn.ID, "a.b")
	d := storetest.Delivery(t, f.st, tn.ID, m.ID, ep.ID)

	// What a process killed after its publish committed leaves: a quiet
	// heartbeat and a fallback job scheduled well ahead, marked with it.
	pool := f.st.Pool()
	_, err := pool.Exec(ctx, `INSERT INTO workers (id, seen_at) VALUES ('killed-direct', now() - interval '1 minute')`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, scheduled_at, max_attempts, metadata)
		VALUES ('hookd.deliver', jsonb_build_object('delivery_id', $1::uuid), 'deliver', 'scheduled',
			now() + interval '1 hour', 25, jsonb_build_object($2::text, 'killed-direct'))`, d.ID, store.DirectJobKey)
	require.NoError(t, err)

	start := time.Now()
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	require.Less(t, time.Since(start), 14*time.Second, "rescued after the live worker's first 10 s")
	require.Len(t, rc.requests(), 1)
}
