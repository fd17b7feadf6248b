package delivery_test

// Receiver-controlled delivery and throttling, against real receivers on
// loopback.

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func TestReceiverDisablesEndpoint(t *testing.T) {
	t.Parallel()
	// A long step keeps the first message pending while the second is sent.
	f := setup(t, delivery.Config{Schedule: delivery.Schedule{time.Hour}})
	var rc *receiver
	rc = newReceiver(t, func(n int, r *http.Request) (int, http.Header, string) {
		body := string(rc.requests()[n-1].body)
		switch {
		case r.URL.Path == "/other":
			return http.StatusOK, nil, ""
		case strings.Contains(body, "first"):
			return http.StatusInternalServerError, nil, "try later"
		default:
			return http.StatusServiceUnavailable, http.Header{"Webhook-Delivery": {"disable"}}, "go away"
		}
	})
	tn := storetest.Tenant(t, f.st, nil)
	ctx := context.Background()
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/hook"})
	other := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/other"})

	m1 := f.publish(t, tn.ID, "a.b", `{"n":"first"}`)
	require.Eventually(t, func() bool {
		return f.waitStatus(t, tn.ID, m1.ID, ep.ID, store.DeliveryPending).Attempts == 1
	}, 10*time.Second, 10*time.Millisecond, "the first message failed once and waits an hour")

	// The second message is answered with webhook-delivery: disable.
	m2 := f.publish(t, tn.ID, "a.b", `{"n":"second"}`)
	d2 := f.waitStatus(t, tn.ID, m2.ID, ep.ID, store.DeliveryFailed)
	require.Equal(t, 1, d2.Attempts, "not retried")
	f.waitStatus(t, tn.ID, m2.ID, other.ID, store.DeliverySucceeded)
	require.Eventually(t, func() bool {
		e, err := f.st.GetEndpoint(ctx, tn.ID, ep.ID)
		require.NoError(t, err)
		return e.Disabled
	}, 5*time.Second, 10*time.Millisecond)
	e, err := f.st.GetEndpoint(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.Equal(t, delivery.ReasonReceiverDisable, e.DisabledReason, "the reason is recorded")
	d1 := f.waitStatus(t, tn.ID, m1.ID, ep.ID, store.DeliveryParked)
	require.Equal(t, 1, d1.Attempts, "its retrying delivery is parked, not sent")
	require.Nil(t, d1.NextAttemptAt)

	o, err := f.st.GetEndpoint(ctx, tn.ID, other.ID)
	require.NoError(t, err)
	require.False(t, o.Disabled, "only the endpoint that asked is disabled")

	// Nothing more is sent to it: what comes is parked for it.
	m3 := f.publish(t, tn.ID, "a.b", `{"n":"third"}`)
	ds, err := f.st.MessageDeliveries(ctx, tn.ID, m3.ID)
	require.NoError(t, err)
	require.Len(t, ds, 2)
	for _, d := range ds {
		if d.EndpointID == ep.ID {
			require.Equal(t, store.DeliveryParked, d.Status)
		}
	}
	as := f.attempts(t, tn.ID, m2.ID)
	for _, a := range as {
		if a.EndpointID == ep.ID {
			require.Equal(t, "disable", a.ResponseHeaders.Get("Webhook-Delivery"), "the answer is in the attempt log")
		}
	}
}

func TestReceiverAbortsMessage(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	rc := newReceiver(t, func(_ int, r *http.Request) (int, http.Header, string) {
		if r.URL.Query().Get("m") == "abort" {
			return http.StatusUnprocessableEntity, http.Header{"Webhook-Delivery": {"abort-message"}}, "cannot use this one"
		}
		return http.StatusOK, nil, ""
	})
	tn := storetest.Tenant(t, f.st, nil)
	ctx := context.Background()
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/?m=abort"})
	m1 := f.publish(t, tn.ID, "a.b", `{}`)
	d := f.waitStatus(t, tn.ID, m1.ID, ep.ID, store.DeliveryFailed)
	require.Equal(t, 1, d.Attempts, "the message is not retried although the schedule has steps left")

	e, err := f.st.GetEndpoint(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.False(t, e.Disabled, "abort-message stops the message, not the endpoint")
	e.URL = rc.srv.URL + "/?m=ok"
	_, err = f.st.UpdateEndpoint(ctx, e)
	require.NoError(t, err)
	m2 := f.publish(t, tn.ID, "a.b", `{}`)
	f.waitStatus(t, tn.ID, m2.ID, ep.ID, store.DeliverySucceeded)
	time.Sleep(300 * time.Millisecond) // would the aborted message come back?
	require.Len(t, rc.requests(), 2)
}

func TestThrottledStatusesAreRetried(t *testing.T) {
	t.Parallel()
	// A 1s timeout: plenty for a loopback answer even on a loaded machine.
	f := setup(t, delivery.Config{Sender: delivery.SenderConfig{Timeout: time.Second}})
	var mu sync.Mutex
	seen := map[string]int{}
	rc := newReceiver(t, func(_ int, r *http.Request) (int, http.Header, string) {
		mu.Lock()
		seen[r.URL.Path]++
		n := seen[r.URL.Path]
		mu.Unlock()
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return http.StatusOK, nil, ""
		}
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if n == 1 {
			return code, http.Header{"Retry-After": {"0"}}, "slow down"
		}
		return http.StatusOK, nil, ""
	})
	tn := storetest.Tenant(t, f.st, nil)
	ctx := context.Background()

	// 502, 503 and 504 are failures retried on the schedule.
	eps := map[int]store.Endpoint{}
	for _, code := range []int{502, 503, 504, 429} {
		eps[code] = storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/" + strconv.Itoa(code)})
	}
	slow := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/slow"})
	m := f.publish(t, tn.ID, "a.b", `{}`)
	for _, code := range []int{502, 503, 504} {
		d := f.waitStatus(t, tn.ID, m.ID, eps[code].ID, store.DeliverySucceeded)
		require.Equal(t, 2, d.Attempts, "%d is retried", code)
	}

	// A 429 and a timeout are retried too, but not for a minute.
	for _, ep := range []store.Endpoint{eps[429], slow} {
		var d store.Delivery
		require.Eventually(t, func() bool {
			d = f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliveryPending)
			return d.Attempts == 1
		}, 10*time.Second, 10*time.Millisecond)
		require.NotNil(t, d.NextAttemptAt)
		require.Greater(t, time.Until(*d.NextAttemptAt), 55*time.Second, "%s waits at least 60s", ep.URL)
	}
	as, _, err := f.st.ListAttempts(ctx, tn.ID, store.AttemptFilter{EndpointID: slow.ID}, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, as, 1)
	require.Equal(t, delivery.ClassTimeout, as[0].ErrorClass)
	time.Sleep(300 * time.Millisecond) // no early retry
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, seen["/429"])
}

func TestRedirectIsRetriedNotFollowed(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	rc := newReceiver(t, func(n int, r *http.Request) (int, http.Header, string) {
		if r.URL.Path == "/hook" && n == 1 {
			return http.StatusFound, http.Header{"Location": {"/moved"}}, ""
		}
		return http.StatusOK, nil, ""
	})
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/hook"})
	m := f.publish(t, tn.ID, "a.b", `{}`)
	d := f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
	require.Equal(t, 2, d.Attempts, "the 302 is a failure, retried on the schedule")
	for _, r := range rc.requests() {
		require.Equal(t, "/hook", r.path, "the redirect was not followed")
	}
	as := f.attempts(t, tn.ID, m.ID)
	require.Equal(t, delivery.ClassRedirect, as[1].ErrorClass)
	require.Contains(t, as[1].Error, "redirects are not followed")
	require.Equal(t, "/moved", as[1].ResponseHeaders.Get("Location"))
}
