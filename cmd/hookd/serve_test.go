package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// TestServeRoles runs an API node and a worker node as separate processes on
// one database: the API node takes the publish, the worker delivers it.
func TestServeRoles(t *testing.T) {
	t.Parallel()
	bin := buildHookd(t)
	dbURL := storetest.URL(t)
	secretKey, err := store.GenerateKey()
	require.NoError(t, err)

	got := make(chan *http.Request, 4)
	bodies := make(chan []byte, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	env := append(devEnv(), "DATABASE_URL="+dbURL, "HOOKD_SECRET_KEY="+secretKey,
		"HOOKD_ALLOW_NETWORKS=127.0.0.0/8") // the receiver is on loopback
	apiNode := startServe(t, bin, env, "api")
	worker := startServe(t, bin, env, "worker")

	// A worker serves only its probes and metrics.
	resp, err := http.Get("http://" + worker.addr + "/api/v1/tenants")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	c := apiClient{base: "http://" + apiNode.addr}
	c.do(t, "POST", "/api/v1/event-types", `{"name":"order.shipped"}`, http.StatusCreated)
	c.do(t, "PUT", "/api/v1/tenants/shop", `{"name":"Shop"}`, http.StatusCreated)
	var ep struct {
		ID string `json:"id"`
	}
	c.decode(t, c.do(t, "POST", "/api/v1/tenants/shop/endpoints", `{"url":"`+receiver.URL+`/hook"}`, http.StatusCreated), &ep)
	var secret struct {
		Secret string `json:"secret"`
	}
	c.decode(t, c.do(t, "GET", "/api/v1/tenants/shop/endpoints/"+ep.ID+"/secret", "", http.StatusOK), &secret)
	c.do(t, "POST", "/api/v1/tenants/shop/messages", `{"event_type":"order.shipped","payload":{"order":7}}`, http.StatusAccepted)

	select {
	case r := <-got:
		body := <-bodies
		require.JSONEq(t, `{"order":7}`, string(body))
		wh, err := standardwebhooks.NewWebhook(secret.Secret)
		require.NoError(t, err)
		require.NoError(t, wh.Verify(body, r.Header))
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery; api node said:\n%s\nworker said:\n%s", apiNode.out.String(), worker.out.String())
	}

	// Both stop cleanly on SIGTERM.
	for _, p := range []*devProcess{apiNode, worker} {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		select {
		case <-p.done:
			require.NoError(t, p.err, "exit after SIGTERM:\n%s", p.out.String())
		case <-time.After(20 * time.Second):
			t.Fatalf("still running 20s after SIGTERM:\n%s", p.out.String())
		}
	}
}

// startServe starts `hookd serve --role role` and waits until it is ready.
func startServe(t *testing.T, bin string, env []string, role string) *devProcess {
	t.Helper()
	return startHookd(t, bin, env, func(addr string) []string {
		return []string{"serve", "--role", role, "--addr", addr}
	})
}
