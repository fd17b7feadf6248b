package main

import (
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// An endpoint's rate_limit holds across worker processes: two `serve
// --role worker` nodes together send it no more than the limit.
func TestRateLimitAcrossWorkers(t *testing.T) {
	t.Parallel()
	bin := buildHookd(t)
	secretKey, err := store.GenerateKey()
	require.NoError(t, err)
	var mu sync.Mutex
	var at []time.Time
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	env := append(devEnv(), "DATABASE_URL="+storetest.URL(t), "HOOKD_SECRET_KEY="+secretKey,
		"HOOKD_ALLOW_NETWORKS=127.0.0.0/8")
	apiNode := startServe(t, bin, env, "api")
	startServe(t, bin, env, "worker")
	startServe(t, bin, env, "worker")

	const limit, messages = 10, 60
	c := apiClient{base: "http://" + apiNode.addr}
	c.do(t, "POST", "/api/v1/event-types", `{"name":"tick"}`, http.StatusCreated)
	c.do(t, "PUT", "/api/v1/tenants/metered", `{"name":"Metered"}`, http.StatusCreated)
	c.do(t, "POST", "/api/v1/tenants/metered/endpoints",
		`{"url":"`+receiver.URL+`/hook","rate_limit":`+strconv.Itoa(limit)+`}`, http.StatusCreated)
	for i := range messages {
		c.do(t, "POST", "/api/v1/tenants/metered/messages", `{"event_type":"tick","payload":{"n":`+strconv.Itoa(i)+`}}`,
			http.StatusAccepted)
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(at) >= messages
	}, 30*time.Second, 50*time.Millisecond, "every message arrives")

	mu.Lock()
	got := append([]time.Time(nil), at...)
	mu.Unlock()
	sort.Slice(got, func(i, j int) bool { return got[i].Before(got[j]) })
	// In any window of a whole second, at most the limit (plus the one
	// that may sit on the window's far edge).
	for i := range got {
		n := 0
		for j := i; j < len(got) && got[j].Sub(got[i]) < time.Second; j++ {
			n++
		}
		require.LessOrEqual(t, n, limit+1, "%d deliveries within one second from %s", n, got[i].Format(time.StampMilli))
	}
	rate := float64(len(got)-1) / got[len(got)-1].Sub(got[0]).Seconds()
	require.LessOrEqual(t, rate, float64(limit)*1.1, "average rate %.1f/s", rate)
	t.Logf("%d deliveries at %.1f/s with a limit of %d/s across two workers", len(got), rate, limit)
}
