package delivery_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// blackHole accepts connections on loopback and never answers.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/hook"
}

// A black-hole endpoint of one tenant holds at most its share of the
// worker slots: another tenant's delivery goes out at once, not after the
// hung attempts time out.
func TestBlackHoleDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{Workers: 4, MaxInFlight: 2, Sender: delivery.SenderConfig{Timeout: 2 * time.Second},
		Schedule: delivery.Schedule{time.Hour}})
	hole := blackHole(t)
	rc := newReceiver(t, nil)
	a, b := storetest.Tenant(t, f.st, nil), storetest.Tenant(t, f.st, nil)
	storetest.Endpoint(t, f.st, a.ID, &storetest.EndpointOpts{URL: hole})
	ok := storetest.Endpoint(t, f.st, b.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	for range 20 {
		f.publish(t, a.ID, "a.b", `{"hung":true}`)
	}
	time.Sleep(200 * time.Millisecond) // the hung attempts have the slots they can get
	start := time.Now()
	m := f.publish(t, b.ID, "a.b", `{"fine":true}`)
	f.waitStatus(t, b.ID, m.ID, ok.ID, store.DeliverySucceeded)
	// Without the cap, 4 slots of 2 s timeouts for 20 hung messages would
	// hold it for 10 s.
	require.Less(t, time.Since(start), 1500*time.Millisecond, "the other tenant was not held up")
}

// After consecutive failures the circuit opens: deliveries wait without
// attempts; after the cool-down one probe goes, and its success sends the
// backlog.
func TestCircuitOpensProbesAndCloses(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{CircuitThreshold: 3, CircuitCooldown: 1500 * time.Millisecond, MaxInFlight: 1,
		Schedule: delivery.Schedule{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond, time.Hour}})
	ctx := context.Background()
	rc, setHealthy := downReceiver(t, http.StatusServiceUnavailable)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	var ms []store.Message
	for range 5 {
		ms = append(ms, f.publish(t, tn.ID, "a.b", `{}`))
	}
	require.Eventually(t, func() bool {
		e, err := f.st.GetEndpoint(ctx, tn.ID, ep.ID)
		require.NoError(t, err)
		return e.Circuit == store.CircuitOpen
	}, 10*time.Second, 10*time.Millisecond, "the circuit opened")
	e, err := f.st.GetEndpoint(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.Contains(t, e.CircuitReason, "3 consecutive failures")
	n := len(rc.requests())
	time.Sleep(700 * time.Millisecond)
	require.Equal(t, n, len(rc.requests()), "nothing is attempted while the circuit is open")

	setHealthy()
	for _, m := range ms {
		f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	}
	require.Eventually(t, func() bool {
		e, err := f.st.GetEndpoint(ctx, tn.ID, ep.ID)
		require.NoError(t, err)
		return e.Circuit == store.CircuitClosed
	}, 5*time.Second, 10*time.Millisecond, "a successful probe closed it")
	for _, m := range ms {
		for _, a := range f.attempts(t, tn.ID, m.ID) {
			require.LessOrEqual(t, a.Attempt, 4, "waiting in the open circuit used no retries")
		}
	}
}

// A delivery waiting for a slot under its endpoint's in-flight cap keeps
// waiting, however old it gets: only a wait in an open circuit may outlast
// its retry schedule and fail it. (A backlog older than the schedule, as a
// Postgres outage or failover leaves, was failed unsent behind a slow
// attempt.)
func TestCappedDeliveryOutlivesItsSchedule(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{MaxInFlight: 1, Schedule: delivery.Schedule{100 * time.Millisecond}})
	rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header, string) {
		if n == 1 {
			time.Sleep(2 * time.Second) // holds the one slot past the others' schedule
		}
		return http.StatusNoContent, nil, ""
	})
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	var ms []store.Message
	for range 3 {
		ms = append(ms, f.publish(t, tn.ID, "a.b", `{}`))
	}
	for _, m := range ms {
		f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	}
	require.Len(t, rc.requests(), 3)
}

// Every attempt failing for FailingAfter makes an endpoint failing; for
// DisableAfter, disabled, with its retrying deliveries parked. The SaaS is
// told each time, and of the recovery.
func TestEndpointFailingThenDisabledThenParked(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{FailingAfter: 300 * time.Millisecond, DisableAfter: 1200 * time.Millisecond,
		CircuitThreshold: 1000, Schedule: delivery.Schedule{time.Hour}})
	var mu sync.Mutex
	var events []string
	f.svc.OnHealth(func(_ context.Context, event string, e store.Endpoint, reason string) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, event+": "+reason)
		return nil
	})
	ctx := context.Background()
	rc, _ := downReceiver(t, http.StatusInternalServerError)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	m := f.publish(t, tn.ID, "a.b", `{}`)
	require.Eventually(t, func() bool { return len(f.attempts(t, tn.ID, m.ID)) == 1 }, 10*time.Second, 10*time.Millisecond)

	require.Eventually(t, func() bool {
		require.NoError(t, f.svc.CheckHealth(ctx))
		e, err := f.st.GetEndpoint(ctx, tn.ID, ep.ID)
		require.NoError(t, err)
		return e.Health(time.Now(), 300*time.Millisecond) == store.HealthFailing && e.FailingNotified
	}, 5*time.Second, 50*time.Millisecond, "failing after 300 ms of failures")
	e, err := f.st.GetEndpoint(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.Contains(t, e.LastError, "answered 500")

	require.Eventually(t, func() bool {
		require.NoError(t, f.svc.CheckHealth(ctx))
		e, err := f.st.GetEndpoint(ctx, tn.ID, ep.ID)
		require.NoError(t, err)
		return e.Disabled
	}, 5*time.Second, 50*time.Millisecond, "disabled after 1.2 s of failures")
	e, err = f.st.GetEndpoint(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.Contains(t, e.DisabledReason, "every attempt failed for")
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliveryParked)

	mu.Lock()
	got := append([]string(nil), events...)
	mu.Unlock()
	require.Len(t, got, 2, "%v", got)
	require.Contains(t, got[0], delivery.EventEndpointFailing)
	require.Contains(t, got[1], delivery.EventEndpointDisabled)
}
