package delivery_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func TestEndpointRateLimit(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	var mu sync.Mutex
	var arrivals []time.Time
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		return http.StatusNoContent, nil, ""
	})
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	limit := 5
	ep.RateLimit = &limit
	_, err := f.st.UpdateEndpoint(context.Background(), ep)
	require.NoError(t, err)

	var msgs []store.Message
	for range 15 {
		msgs = append(msgs, f.publish(t, tn.ID, "a.b", `{}`))
	}
	for _, m := range msgs {
		d := f.waitStatus(t, tn.ID, m.ID, ep.ID, store.DeliverySucceeded)
		require.Equal(t, 1, d.Attempts, "waiting for the rate limit is not an attempt")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, arrivals, 15)
	first, last := arrivals[0], arrivals[0]
	for _, a := range arrivals {
		if a.Before(first) {
			first = a
		}
		if a.After(last) {
			last = a
		}
	}
	// A burst of 5, then 5 a second: the last 10 take about 2 s.
	require.GreaterOrEqual(t, last.Sub(first), 1600*time.Millisecond, "15 messages at 5/s arrived within %s", last.Sub(first))
}
