package delivery_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
	path   string
}

// receiver is a real HTTP server on loopback that verifies every request's
// signature with the Standard Webhooks library and answers from a script.
type receiver struct {
	t      testing.TB
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	badSig int
	answer func(n int, r *http.Request) (int, http.Header, string) // n is 1-based
}

func newReceiver(t testing.TB, answer func(n int, r *http.Request) (int, http.Header, string)) *receiver {
	rc := &receiver{t: t, answer: answer}
	wh, err := standardwebhooks.NewWebhook(storetest.TestSecret)
	require.NoError(t, err)
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, path: r.URL.Path})
		n := len(rc.got)
		if wh.Verify(body, r.Header) != nil {
			rc.badSig++
		}
		rc.mu.Unlock()
		code, h, text := http.StatusNoContent, http.Header(nil), ""
		if rc.answer != nil {
			code, h, text = rc.answer(n, r)
		}
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

type fixture struct {
	st  *store.Store
	svc *delivery.Service
}

// setup starts a delivery service on a fresh database. Unless cfg says
// otherwise, the private-address guard lets loopback through, as `hookd
// dev` does, so that the test receivers get deliveries.
func setup(t *testing.T, cfg delivery.Config) fixture {
	t.Helper()
	if cfg.Sender.Guard == nil && cfg.AllowNetworks == nil {
		cfg.AllowNetworks = delivery.LoopbackNetworks()
	}
	return start(t, cfg, nil)
}

// start starts a delivery service on a fresh database with cfg as given
// (the guard as the service defaults it) and a store encrypting secrets
// with cipher (nil: plaintext).
func start(t *testing.T, cfg delivery.Config, cipher *store.Cipher) fixture {
	t.Helper()
	pool := storetest.DB(t)
	st := store.New(pool).WithCipher(cipher)
	cfg.RunWorkers = true
	if cfg.Schedule == nil {
		cfg.Schedule = delivery.Schedule{100 * time.Millisecond, 100 * time.Millisecond, 100 * time.Millisecond}
	}
	cfg.FetchPollInterval = 20 * time.Millisecond
	svc, err := delivery.New(pool, st, cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, svc.Start(ctx))
	t.Cleanup(func() {
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = svc.Stop(stopCtx)
		cancel()
	})
	return fixture{st: st, svc: svc}
}

func (f fixture) publish(t *testing.T, tenant, eventType, payload string, channels ...string) store.Message {
	t.Helper()
	m, _, err := f.svc.Publish(context.Background(), store.Message{TenantID: tenant, EventType: eventType,
		Payload: []byte(payload), Channels: channels}, nil)
	require.NoError(t, err)
	return m
}

// deliveryOf waits until the message's delivery to endpoint reaches status.
func (f fixture) waitStatus(t *testing.T, tenant string, m uuid.UUID, endpoint uuid.UUID, status string) store.Delivery {
	t.Helper()
	var last store.Delivery
	require.Eventually(t, func() bool {
		ds, err := f.st.MessageDeliveries(context.Background(), tenant, m)
		require.NoError(t, err)
		for _, d := range ds {
			if d.EndpointID == endpoint {
				last = d
				return d.Status == status
			}
		}
		return false
	}, 15*time.Second, 10*time.Millisecond, "delivery never reached %s (last: %+v)", status, last)
	return last
}

func (f fixture) attempts(t *testing.T, tenant string, m uuid.UUID) []store.Attempt {
	t.Helper()
	as, _, err := f.st.ListAttempts(context.Background(), tenant, store.AttemptFilter{MessageID: m}, store.Page{Limit: 100})
	require.NoError(t, err)
	return as
}

func TestDeliverSignedExactBytes(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/hook",
		Headers: map[string]string{"X-Team": "billing", "webhook-id": "forged"}})

	payload := `{ "z":1, "a" : [1,2],"unicode":"é" }`
	m := f.publish(t, tn.ID, "invoice.paid", payload)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)

	got := rc.requests()
	require.Len(t, got, 1)
	require.Equal(t, payload, string(got[0].body), "the body is the published bytes exactly")
	require.Equal(t, 0, rc.badSig, "the signature verifies with the Standard Webhooks library")
	require.Equal(t, m.ID.String(), got[0].header.Get("webhook-id"), "custom headers cannot override webhook-id")
	require.Equal(t, "billing", got[0].header.Get("X-Team"))
	require.Equal(t, "application/json", got[0].header.Get("content-type"))
	require.Contains(t, got[0].header.Get("user-agent"), "hookd/")

	as := f.attempts(t, tn.ID, m.ID)
	require.Len(t, as, 1)
	require.Equal(t, store.AttemptSucceeded, as[0].Status)
	require.Equal(t, 204, as[0].StatusCode)
	require.Equal(t, store.TriggerScheduled, as[0].Trigger)
	require.Equal(t, "[redacted]", as[0].RequestHeaders.Get("webhook-signature"))
}

func TestRetriesOnScheduleThenSucceeds(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header, string) {
		if n < 3 {
			return 500, nil, "broken " + string(rune('0'+n))
		}
		return 200, nil, "ok"
	})
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	m := f.publish(t, tn.ID, "a.b", `{"x":1}`)
	d := f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	require.Equal(t, 3, d.Attempts)

	got := rc.requests()
	require.Len(t, got, 3)
	for _, r := range got {
		require.Equal(t, m.ID.String(), r.header.Get("webhook-id"), "the same webhook-id on every attempt")
	}
	as := f.attempts(t, tn.ID, m.ID)
	require.Len(t, as, 3)
	require.Equal(t, "broken 1", string(as[2].ResponseBody))
	require.Equal(t, delivery.ClassStatus, as[2].ErrorClass)
	require.Equal(t, 1, as[2].Attempt)
	require.Equal(t, 3, as[0].Attempt)
}

func TestFailsAfterScheduleThenReplays(t *testing.T) {
	t.Parallel()
	// A threshold the test cannot reach keeps the circuit closed: this is
	// about the schedule (circuit_test.go is about the circuit).
	f := setup(t, delivery.Config{Schedule: delivery.Schedule{50 * time.Millisecond, 50 * time.Millisecond}, CircuitThreshold: 100})
	rc, setHealthy := downReceiver(t, 503)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	m1 := f.publish(t, tn.ID, "a.b", `{"n":1}`)
	m2 := f.publish(t, tn.ID, "a.b", `{"n":2}`)
	d := f.waitStatus(t, tn.ID, m1.ID, ep.ID, store.DeliveryFailed)
	require.Equal(t, 3, d.Attempts, "one try and two retries")
	f.waitStatus(t, tn.ID, m2.ID, ep.ID, store.DeliveryFailed)

	ctx := context.Background()
	filter := delivery.ReplayFilter{TenantID: tn.ID, Status: store.DeliveryFailed, Since: time.Now().Add(-time.Hour)}
	n, err := f.svc.CountReplay(ctx, filter)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	setHealthy()
	r, err := f.svc.StartReplay(ctx, "test", filter)
	require.NoError(t, err)
	require.Equal(t, 2, r.Matched)
	f.waitStatus(t, tn.ID, m1.ID, ep.ID, store.DeliverySucceeded)
	f.waitStatus(t, tn.ID, m2.ID, ep.ID, store.DeliverySucceeded)
	require.Eventually(t, func() bool {
		r, err = f.st.GetReplay(ctx, r.ID)
		require.NoError(t, err)
		return r.Status == store.ReplayFinished && r.Done == 2
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, 2, r.Enqueued)

	as := f.attempts(t, tn.ID, m1.ID)
	require.Equal(t, store.TriggerManual, as[0].Trigger, "a replay's attempt is manual")
	require.Equal(t, r.ID, as[0].ReplayID)
	got := rc.requests()
	// The two replays run concurrently, so either may arrive last.
	replayed := []string{got[len(got)-2].header.Get("webhook-id"), got[len(got)-1].header.Get("webhook-id")}
	require.ElementsMatch(t, []string{m1.ID.String(), m2.ID.String()}, replayed, "a replay keeps the webhook-id")
}

func TestGoneDisablesEndpoint(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) { return http.StatusGone, nil, "bye" })
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	m := f.publish(t, tn.ID, "a.b", `{}`)
	d := f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliveryFailed)
	require.Equal(t, 1, d.Attempts, "410 is not retried")
	require.Eventually(t, func() bool {
		e, err := f.st.GetEndpoint(context.Background(), tn.ID, ep.ID)
		require.NoError(t, err)
		return e.Disabled && e.DisabledReason != ""
	}, 5*time.Second, 10*time.Millisecond)
	// Nothing more goes to a disabled endpoint: it is parked for it.
	m2 := f.publish(t, tn.ID, "a.b", `{}`)
	ds, err := f.st.MessageDeliveries(context.Background(), tn.ID, m2.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, store.DeliveryParked, ds[0].Status)
	require.Len(t, rc.requests(), 1)
}

func TestFanoutFilters(t *testing.T) {
	t.Parallel()
	for _, inline := range []int{0, -1} { // in the publish transaction, and through the fan-out job
		t.Run(map[int]string{0: "Inline", -1: "Job"}[inline], func(t *testing.T) {
			t.Parallel()
			f := setup(t, delivery.Config{InlineFanout: inline})
			rc := newReceiver(t, nil)
			tn := storetest.Tenant(t, f.st, nil)
			all := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/all"})
			invoices := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/invoices", EventTypes: []string{"invoice.*"}})
			users := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/users", EventTypes: []string{"user.created"}})
			eu := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/eu", Channels: []string{"eu"}})
			other := storetest.Tenant(t, f.st, nil)
			storetest.Endpoint(t, f.st, other.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/other-tenant"})

			m := f.publish(t, tn.ID, "invoice.paid", `{"id":"inv_1"}`, "us")
			f.waitStatus(t, tn.ID, m.ID, all.ID, store.DeliverySucceeded)
			f.waitStatus(t, tn.ID, m.ID, invoices.ID, store.DeliverySucceeded)
			ds, err := f.st.MessageDeliveries(context.Background(), tn.ID, m.ID)
			require.NoError(t, err)
			require.Len(t, ds, 2, "neither user.created nor the eu channel matches")

			m2 := f.publish(t, tn.ID, "user.created", `{}`, "eu")
			f.waitStatus(t, tn.ID, m2.ID, users.ID, store.DeliverySucceeded)
			f.waitStatus(t, tn.ID, m2.ID, eu.ID, store.DeliverySucceeded)
			f.waitStatus(t, tn.ID, m2.ID, all.ID, store.DeliverySucceeded)
			paths := map[string]int{}
			for _, r := range rc.requests() {
				paths[r.path]++
			}
			require.Equal(t, map[string]int{"/all": 2, "/invoices": 1, "/users": 1, "/eu": 1}, paths)
		})
	}
}

func TestIdempotentPublishDeliversOnce(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	ctx := context.Background()
	m1, existed, err := f.svc.Publish(ctx, store.Message{TenantID: tn.ID, EventType: "a", Payload: []byte(`{}`), IdempotencyKey: "k"}, nil)
	require.NoError(t, err)
	require.False(t, existed)
	m2, existed, err := f.svc.Publish(ctx, store.Message{TenantID: tn.ID, EventType: "a", Payload: []byte(`{}`), IdempotencyKey: "k"}, nil)
	require.NoError(t, err)
	require.True(t, existed)
	require.Equal(t, m1.ID, m2.ID)
	f.waitStatus(t, tn.ID, m1.ID, ep.ID, store.DeliverySucceeded)
	time.Sleep(200 * time.Millisecond) // would a second delivery arrive?
	require.Len(t, rc.requests(), 1)
}

func TestResendAndRecover(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{Schedule: delivery.Schedule{}})
	var mu sync.Mutex
	code := 500
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		mu.Lock()
		defer mu.Unlock()
		return code, nil, ""
	})
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	ctx := context.Background()
	m := f.publish(t, tn.ID, "a", `{"r":1}`)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliveryFailed)

	// A manual re-send that fails again stays failed, with one more attempt.
	r, err := f.svc.Resend(ctx, "test:resend", tn.ID, m.ID, uuid.Nil)
	require.NoError(t, err)
	require.Equal(t, 1, r.Enqueued)
	require.Equal(t, store.ReplayFinished, r.Status)
	require.Eventually(t, func() bool { return len(f.attempts(t, tn.ID, m.ID)) == 2 }, 10*time.Second, 10*time.Millisecond)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliveryFailed)

	mu.Lock()
	code = 200
	mu.Unlock()
	r, err = f.svc.Recover(ctx, "test:recover", tn.ID, ep.ID, time.Now().Add(-time.Hour), time.Time{})
	require.NoError(t, err)
	require.Equal(t, 1, r.Enqueued)
	require.Equal(t, 1, r.Matched)
	f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	as := f.attempts(t, tn.ID, m.ID)
	require.Len(t, as, 3)
	require.Equal(t, store.TriggerManual, as[0].Trigger)
	require.Equal(t, m.ID.String(), rc.requests()[2].header.Get("webhook-id"))

	// Another tenant cannot resend it.
	other := storetest.Tenant(t, f.st, nil)
	_, err = f.svc.Resend(ctx, "test", other.ID, m.ID, uuid.Nil)
	require.ErrorIs(t, err, store.ErrNotFound)

	// Both re-sends are on the record: who, the filter, how many; and their
	// attempts count as done.
	list, _, err := f.st.ListReplays(ctx, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "test:recover", list[0].CreatedBy)
	require.Contains(t, string(list[0].Filter), ep.ID.String())
	require.Equal(t, "test:resend", list[1].CreatedBy)
	require.Contains(t, string(list[1].Filter), m.ID.String())
	require.Equal(t, 1, list[1].Done)
}

func TestResendDoesNotCancelOwedRetries(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{Schedule: delivery.Schedule{1500 * time.Millisecond}})
	rc, setHealthy := downReceiver(t, 500)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	ctx := context.Background()
	m := f.publish(t, tn.ID, "a", `{}`)
	require.Eventually(t, func() bool { return len(f.attempts(t, tn.ID, m.ID)) == 1 }, 10*time.Second, 10*time.Millisecond)

	// While the retry waits, a manual re-send fails too: the delivery is
	// still pending, its retry still owed.
	_, err := f.svc.Resend(ctx, "test", tn.ID, m.ID, uuid.Nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(f.attempts(t, tn.ID, m.ID)) == 2 }, 10*time.Second, 10*time.Millisecond)
	ds, err := f.st.MessageDeliveries(ctx, tn.ID, m.ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryPending, ds[0].Status)
	require.NotNil(t, ds[0].NextAttemptAt)

	setHealthy()
	d := f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	require.Equal(t, 3, d.Attempts, "scheduled, manual, then the owed retry")
	as := f.attempts(t, tn.ID, m.ID)
	require.Equal(t, store.TriggerScheduled, as[0].Trigger)
	require.Equal(t, store.TriggerManual, as[1].Trigger)
}

// downReceiver answers code until setHealthy is called, then 200.
func downReceiver(t *testing.T, code int) (rc *receiver, setHealthy func()) {
	var mu sync.Mutex
	healthy := false
	rc = newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		mu.Lock()
		defer mu.Unlock()
		if healthy {
			return 200, nil, ""
		}
		return code, nil, "down"
	})
	return rc, func() {
		mu.Lock()
		healthy = true
		mu.Unlock()
	}
}
