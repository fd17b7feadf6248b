package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/localpg"
)

// TestServeSurvivesPostgresOutage stops hookd's Postgres under a running
// `hookd serve`: publish answers 503 problem+json with Retry-After and
// /readyz says not ready, nothing is accepted; when Postgres is back, the
// same process takes publishes again and delivers them, with no restart.
func TestServeSurvivesPostgresOutage(t *testing.T) {
	t.Parallel()
	bin := buildHookd(t)
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755)) // postgres runs as its own user when the test is root
	ctx := context.Background()
	pg, err := localpg.Start(ctx, localpg.Options{DataDir: filepath.Join(dir, "pg"), Fast: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pg.Stop() })
	secretKey, err := store.GenerateKey()
	require.NoError(t, err)

	var mu sync.Mutex
	var got []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, string(b))
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)
	received := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, g := range got {
			if strings.Contains(g, s) {
				return true
			}
		}
		return false
	}

	env := append(devEnv(), "DATABASE_URL="+pg.URL("postgres"), "HOOKD_SECRET_KEY="+secretKey,
		"HOOKD_ALLOW_NETWORKS=127.0.0.0/8")
	p := startServe(t, bin, env, "all")
	c := apiClient{base: "http://" + p.addr}
	c.do(t, "POST", "/api/v1/event-types", `{"name":"order.paid"}`, http.StatusCreated)
	c.do(t, "PUT", "/api/v1/tenants/shop", `{"name":"Shop"}`, http.StatusCreated)
	c.do(t, "POST", "/api/v1/tenants/shop/endpoints", `{"url":"`+receiver.URL+`/hook"}`, http.StatusCreated)
	c.do(t, "POST", "/api/v1/tenants/shop/messages", `{"event_type":"order.paid","payload":{"n":"before"}}`, http.StatusAccepted)
	require.Eventually(t, func() bool { return received(`"before"`) }, 20*time.Second, 20*time.Millisecond)

	require.NoError(t, pg.Stop())

	publish := func(n string) *http.Response {
		req, err := http.NewRequest("POST", c.base+"/api/v1/tenants/shop/messages",
			strings.NewReader(`{"event_type":"order.paid","payload":{"n":"`+n+`"}}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testAdminKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		return resp
	}
	resp := publish("during")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "%s", body)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.NotEmpty(t, resp.Header.Get("Retry-After"))
	var prob struct {
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	require.NoError(t, json.Unmarshal(body, &prob))
	require.Equal(t, http.StatusServiceUnavailable, prob.Status)
	require.Contains(t, prob.Detail, "database")

	ready, err := http.Get(c.base + "/readyz")
	require.NoError(t, err)
	ready.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, ready.StatusCode)
	// Reading works the same way: no 5xx other than 503.
	r2, err := http.Get(c.base + "/healthz")
	require.NoError(t, err)
	r2.Body.Close()
	require.Equal(t, http.StatusOK, r2.StatusCode, "the process itself is alive")

	// Postgres comes back on the same port; the same hookd carries on.
	pg2, err := localpg.Start(ctx, localpg.Options{DataDir: filepath.Join(dir, "pg"), Port: pg.Port(), Fast: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = pg2.Stop() })
	require.Eventually(t, func() bool {
		r, err := http.Get(c.base + "/readyz")
		if err != nil {
			return false
		}
		r.Body.Close()
		return r.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "ready again")
	require.Eventually(t, func() bool {
		resp := publish("after")
		resp.Body.Close()
		return resp.StatusCode == http.StatusAccepted
	}, 30*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool { return received(`"after"`) }, 30*time.Second, 20*time.Millisecond,
		"delivered after the outage without a restart")
	require.False(t, received(`"during"`), "what got a 503 was not accepted")

	select {
	case <-p.done:
		t.Fatalf("hookd exited during the outage:\n%s", p.out.String())
	default:
	}
}
