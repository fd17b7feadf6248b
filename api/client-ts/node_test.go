// Package clientts_test runs the TypeScript client's tests (test/*.test.mjs)
// under Node against a real hookd: a fresh database, the API and its
// delivery workers in this process, and a receiver, all on loopback.
package clientts_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// adminKey is the test server's bootstrap admin key.
const adminKey = "hk_admin_test_client_ts_5d0c9e21"

// minNode is the oldest Node the client supports (global fetch,
// AbortSignal.any, node --test).
const minNode = 20

func TestNodeClient(t *testing.T) {
	t.Parallel()
	node := nodeBinary(t)

	var received atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.Header.Get("webhook-id") != "" && r.Header.Get("webhook-signature") != "" {
			received.Add(1)
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(receiver.Close)

	hookd := startHookd(t)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec",
		"test/coverage.test.mjs", "test/retry.test.mjs", "test/e2e.test.mjs")
	cmd.Env = append(os.Environ(),
		"HOOKD_URL="+hookd,
		"HOOKD_ADMIN_KEY="+adminKey,
		"RECEIVER_URL="+receiver.URL+"/webhook",
		"NO_COLOR=1",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		t.Fatalf("node --test failed (%v):\n%s", err, out.String())
	}
	t.Logf("node --test:\n%s", out.String())
	// The deliveries came to this receiver, signed: the client's publish
	// reached hookd's pipeline, not only its API.
	require.GreaterOrEqual(t, received.Load(), int64(3), "deliveries received")
}

// nodeBinary finds node and checks its version. A missing or old node fails
// the test: the client is part of hookd and CI installs Node.
func nodeBinary(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH: the TypeScript client's tests need Node %d+ (Debian/Ubuntu: apt-get install nodejs)", minNode)
	}
	v, err := exec.Command(node, "--version").Output()
	require.NoError(t, err, "node --version")
	version := strings.TrimSpace(string(v))
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(version, "v"), ".", 2)[0])
	require.NoError(t, err, "node --version said %q", version)
	if major < minNode {
		t.Fatalf("node %s is too old: the TypeScript client needs Node %d+", version, minNode)
	}
	return node
}

// startHookd serves hookd's API on loopback, over a fresh database, with
// delivery workers that may reach loopback receivers. It returns its URL.
func startHookd(t *testing.T) string {
	t.Helper()
	pool := storetest.DB(t)
	st := store.New(pool)
	svc, err := delivery.New(pool, st, delivery.Config{
		RunWorkers:        true,
		Schedule:          delivery.Schedule{50 * time.Millisecond, 50 * time.Millisecond},
		FetchPollInterval: 20 * time.Millisecond,
		Sender:            delivery.SenderConfig{Timeout: 5 * time.Second},
		AllowNetworks:     delivery.LoopbackNetworks(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, svc.Start(ctx))
	srv := httptest.NewServer(api.New(api.Config{Store: st, Delivery: svc, AdminKey: adminKey, Version: "test"}))
	t.Cleanup(func() {
		srv.Close()
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = svc.Stop(stopCtx)
		cancel()
	})
	return srv.URL
}
