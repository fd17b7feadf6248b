package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// TestServeEncryptsHeadersOfAnOlderDatabase starts serve on a database from
// before migration 0004, whose endpoint kept a bearer token in plain text
// and whose attempt log shows it: serve migrates, encrypts the headers,
// scrubs the log, and still sends the token to the receiver.
func TestServeEncryptsHeadersOfAnOlderDatabase(t *testing.T) {
	t.Parallel()
	bin := buildHookd(t)
	dbURL := storetest.URL(t)
	secretKey, err := store.GenerateKey()
	require.NoError(t, err)
	ctx := context.Background()

	got := make(chan http.Header, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got <- r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	// The schema as it was before 0004, with the data an older hookd wrote
	// (no key set yet: the signing secret is in plain text too).
	conn, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `
		ALTER TABLE endpoints DROP COLUMN secret_headers;
		ALTER TABLE endpoints ALTER COLUMN headers DROP DEFAULT;
		ALTER TABLE endpoints ALTER COLUMN headers TYPE jsonb USING headers::jsonb;
		ALTER TABLE endpoints ALTER COLUMN headers SET DEFAULT '{}';
		DELETE FROM hookd_migrations WHERE version = '0004_header_secrets';
		INSERT INTO tenants (id, name) VALUES ('shop', 'Shop');
		INSERT INTO event_types (name) VALUES ('order.shipped');`)
	require.NoError(t, err)
	ep, secretID, attempt := store.NewID(), store.NewID(), store.NewID()
	_, err = conn.Exec(ctx, `INSERT INTO endpoints (id, tenant_id, url, headers) VALUES ($1, 'shop', $2, $3)`,
		ep, receiver.URL+"/hook", `{"Authorization": "Bearer tok_legacy_5e1", "X-Team": "billing"}`)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO endpoint_secrets (id, endpoint_id, tenant_id, secret) VALUES ($1, $2, 'shop', $3)`,
		secretID, ep, storetest.TestSecret)
	require.NoError(t, err)
	_, err = conn.Exec(ctx, `INSERT INTO attempts (id, tenant_id, delivery_id, message_id, endpoint_id, attempt, trigger,
			status, url, started_at, request_headers)
		VALUES ($1, 'shop', $1, $1, $2, 1, 'scheduled', 'succeeded', $3, now(), $4)`, attempt, ep, receiver.URL+"/hook",
		`{"Authorization": ["Bearer tok_legacy_5e1"], "X-Team": ["billing"], "X-Session-Token": ["tok_sess_7a2"]}`)
	require.NoError(t, err)

	env := append(devEnv(), "DATABASE_URL="+dbURL, "HOOKD_SECRET_KEY="+secretKey, "HOOKD_ALLOW_NETWORKS=127.0.0.0/8")
	p := startServe(t, bin, env, "all")
	require.Contains(t, p.output(), "encrypted the custom headers of endpoints stored in plain text")

	var stored, logged string
	require.NoError(t, conn.QueryRow(ctx, `SELECT headers FROM endpoints WHERE id = $1`, ep).Scan(&stored))
	require.True(t, strings.HasPrefix(stored, "enc:v1:"), stored)
	require.NotContains(t, stored, "tok_legacy_5e1")
	require.NoError(t, conn.QueryRow(ctx, `SELECT request_headers::text FROM attempts WHERE id = $1`, attempt).Scan(&logged))
	require.NotContains(t, logged, "tok_legacy_5e1")
	require.NotContains(t, logged, "tok_sess_7a2")
	require.Contains(t, logged, "billing", "other headers stay in the log")

	c := apiClient{base: "http://" + p.addr}
	var e struct {
		Headers map[string]string `json:"headers"`
	}
	c.decode(t, c.do(t, "GET", "/api/v1/tenants/shop/endpoints/"+ep.String(), "", http.StatusOK), &e)
	require.Equal(t, map[string]string{"Authorization": "[redacted]", "X-Team": "billing"}, e.Headers)

	c.do(t, "POST", "/api/v1/tenants/shop/messages", `{"event_type":"order.shipped","payload":{"order":7}}`, http.StatusAccepted)
	select {
	case h := <-got:
		require.Equal(t, "Bearer tok_legacy_5e1", h.Get("Authorization"), "the receiver gets the real value")
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery; hookd said:\n%s", p.output())
	}
}

// TestSlowRequestBodies sends requests whose body trickles in, a byte
// every 200 ms, over a real TCP connection: without a key the answer is a
// 401 at once, without waiting for the body; with a key the server stops
// reading at HOOKD_READ_TIMEOUT and answers 408.
func TestSlowRequestBodies(t *testing.T) {
	t.Parallel()
	e, err := loadEnv(mapEnv(map[string]string{"HOOKD_READ_TIMEOUT": "2s"}), io.Discard)
	require.NoError(t, err)
	const key = "hk_admin_slow_client_test"
	srv, _, err := newServer(storetest.DB(t), nil, e, nil, key, roleAll, nil)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	// trickle sends headers announcing a 100000-byte body, then the body a
	// byte at a time; it returns the answer and how long it took.
	trickle := func(t *testing.T, auth string, every time.Duration) (*http.Response, time.Duration) {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = conn.Close() })
		head := "POST /api/v1/tenants/slow/messages HTTP/1.1\r\nHost: hookd\r\nContent-Type: application/json\r\n" +
			"Content-Length: 100000\r\n"
		if auth != "" {
			head += "Authorization: Bearer " + auth + "\r\n"
		}
		start := time.Now()
		_, err = io.WriteString(conn, head+"\r\n{")
		require.NoError(t, err)
		stop := make(chan struct{})
		t.Cleanup(func() { close(stop) })
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(every):
					if _, err := conn.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(15*time.Second)))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err, "an answer, not a connection held open")
		took := time.Since(start)
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res, took
	}

	t.Run("without a key: 401 before the body is read", func(t *testing.T) {
		t.Parallel()
		res, took := trickle(t, "", 200*time.Millisecond)
		require.Equal(t, http.StatusUnauthorized, res.StatusCode)
		require.Less(t, took, time.Second)
		require.True(t, res.Close, "the connection closes rather than wait for the body")
	})
	t.Run("with a key: cut off at the read timeout", func(t *testing.T) {
		t.Parallel()
		res, took := trickle(t, key, 200*time.Millisecond)
		require.Equal(t, http.StatusRequestTimeout, res.StatusCode)
		require.Greater(t, took, 1500*time.Millisecond)
		require.Less(t, took, 5*time.Second)
	})
}
