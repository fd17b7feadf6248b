package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store/localpg"
	"github.com/hookd/hookd/store/storetest"
)

const testAdminKey = "hk_admin_dev_test_key"

// TestDev runs `hookd dev` as a person would: as a process on a fresh data
// dir, through the REST API, to a real receiver on loopback; then a second
// one on the same data dir, Ctrl-C, and a restart that finds the data.
func TestDev(t *testing.T) {
	t.Parallel()
	if _, err := localpg.FindBinDir(); err != nil {
		if os.Getenv("TEST_DATABASE_URL") != "" {
			t.Skipf("hookd dev needs the Postgres binaries: %v", err)
		}
		t.Fatal(err)
	}
	bin := buildHookd(t)
	dataDir := filepath.Join(t.TempDir(), "data")

	type delivered struct {
		body   []byte
		header http.Header
	}
	got := make(chan delivered, 10)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivered{body: body, header: r.Header.Clone()}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	first := startDev(t, bin, dataDir)
	c := first.client(t)

	// The banner's portal link logs in once, as the demo tenant.
	link := regexp.MustCompile(`http://\S+/portal/login\?token=\S+`).FindString(first.output())
	require.NotEmpty(t, link, "the banner shows a portal link:\n%s", first.output())
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(link)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Contains(t, resp.Header.Get("Set-Cookie"), "hookd_session=")
	resp, err = noRedirect.Get(link)
	require.NoError(t, err)
	resp.Body.Close()
	require.NotEqual(t, http.StatusSeeOther, resp.StatusCode, "a used link does not log in again")

	c.do(t, "POST", "/api/v1/event-types", `{"name":"invoice.paid","description":"An invoice was paid"}`, http.StatusCreated)
	c.do(t, "PUT", "/api/v1/tenants/acme", `{"name":"Acme"}`, http.StatusOK, http.StatusCreated)
	var ep struct {
		ID string `json:"id"`
	}
	c.decode(t, c.do(t, "POST", "/api/v1/tenants/acme/endpoints", `{"url":"`+receiver.URL+`/webhook"}`, http.StatusCreated), &ep)
	require.NotEmpty(t, ep.ID)
	var secret struct {
		Secret string `json:"secret"`
	}
	c.decode(t, c.do(t, "GET", "/api/v1/tenants/acme/endpoints/"+ep.ID+"/secret", "", http.StatusOK), &secret)
	require.True(t, strings.HasPrefix(secret.Secret, "whsec_"), "secret %q", secret.Secret)

	// Keys out of order and a space: the receiver must get these very bytes.
	payload := `{"id":"inv_1","amount": 4200,"currency":"eur","lines":[{"sku":"b"},{"sku":"a"}]}`
	var msg struct {
		ID string `json:"id"`
	}
	c.decode(t, c.do(t, "POST", "/api/v1/tenants/acme/messages", `{"event_type":"invoice.paid","payload":`+payload+`}`, http.StatusAccepted), &msg)
	require.NotEmpty(t, msg.ID)

	select {
	case d := <-got:
		require.Equal(t, payload, string(d.body))
		require.Equal(t, msg.ID, d.header.Get("webhook-id"))
		wh, err := standardwebhooks.NewWebhook(secret.Secret)
		require.NoError(t, err)
		require.NoError(t, wh.Verify(d.body, d.header), "signature of the delivered webhook")
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery within 30s; hookd's output:\n%s", first.output())
	}

	// /metrics counts the attempt once it is recorded.
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + first.addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `hookd_delivery_attempts_total{error_class="",status="succeeded",trigger="scheduled"} 1`) &&
			strings.Contains(string(b), "hookd_messages_published_total 1")
	}, 10*time.Second, 50*time.Millisecond, "metrics of the delivery")

	// A second hookd dev on the same data dir refuses to start.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	second := exec.CommandContext(ctx, bin, "dev", "--addr", freeAddr(t), "--data-dir", dataDir)
	second.Env = devEnv()
	out, err := second.CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "second hookd dev: %s", out)
	require.Contains(t, string(out), "already running")
	require.Contains(t, string(out), dataDir)

	// Ctrl-C stops it cleanly.
	first.interrupt(t)

	// The next hookd dev on the data dir finds the tenant again.
	again := startDev(t, bin, dataDir)
	again.client(t).do(t, "GET", "/api/v1/tenants/acme", "", http.StatusOK)
	again.interrupt(t)
}

// buildHookd builds this command into a temporary directory.
// binDir holds the hookd binary built once for this test run.
var (
	binDir    string
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookd-test-bin-")
	if err != nil {
		panic(err)
	}
	binDir = dir
	code := storetest.Run(m)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// buildHookd builds hookd once per test run and returns the binary's path.
func buildHookd(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("the go command is needed to build hookd: %w", err)
			return
		}
		builtBin = filepath.Join(binDir, "hookd")
		if out, err := exec.Command(goBin, "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	require.NoError(t, buildErr)
	return builtBin
}

// devEnv is the test's environment for hookd dev: no DATABASE_URL (so it
// starts its own Postgres), no other HOOKD_* settings than the test's and
// no OTEL_* (traces go nowhere unless a test says where).
func devEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "DATABASE_URL=") || strings.HasPrefix(kv, "HOOKD_") || strings.HasPrefix(kv, "OTEL_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOOKD_ADMIN_KEY="+testAdminKey, "HOOKD_RETRY_SCHEDULE=1s,1s")
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// devProcess is a running `hookd dev`.
type devProcess struct {
	cmd  *exec.Cmd
	addr string
	out  *syncBuffer
	done chan struct{}
	err  error // set before done is closed
}

// startDev starts hookd dev on dataDir and waits until it is ready and has
// printed its banner.
func startDev(t *testing.T, bin, dataDir string) *devProcess {
	t.Helper()
	p := startHookd(t, bin, devEnv(), func(addr string) []string {
		return []string{"dev", "--addr", addr, "--data-dir", dataDir}
	})
	// The banner is written before hookd serves, but it reaches us through
	// a pipe that exec copies in a goroutine.
	require.Eventually(t, func() bool { return strings.Contains(p.out.String(), "Press Ctrl-C to stop.") },
		10*time.Second, 10*time.Millisecond, "the banner never came:\n%s", p.out.String())
	return p
}

// startHookd runs bin with the arguments args gives for a free loopback
// address, and waits until it answers /readyz. At the test's end it is
// stopped as Ctrl-C does (so that a private Postgres is down before its
// temporary data dir goes), and killed only if that hangs.
func startHookd(t *testing.T, bin string, env []string, args func(addr string) []string) *devProcess {
	t.Helper()
	p := &devProcess{addr: freeAddr(t), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args(p.addr)...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start())
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("%s on %s said:\n%s", strings.Join(p.cmd.Args, " "), p.addr, p.out.String())
		}
	})

	deadline := time.Now().Add(2 * time.Minute)
	for {
		if resp, err := http.Get("http://" + p.addr + "/readyz"); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited before it was ready (%v):\n%s", strings.Join(p.cmd.Args, " "), p.err, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 2 minutes:\n%s", strings.Join(p.cmd.Args, " "), p.out.String())
		}
	}
}

// interrupt sends SIGINT, as Ctrl-C does, and requires a clean exit within
// 20 seconds.
func (p *devProcess) interrupt(t *testing.T) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGINT))
	select {
	case <-p.done:
		require.NoError(t, p.err, "hookd dev exit after SIGINT:\n%s", p.out.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("hookd dev still running 20s after SIGINT:\n%s", p.out.String())
	}
}

func (p *devProcess) output() string { return p.out.String() }

func (p *devProcess) client(t *testing.T) apiClient {
	t.Helper()
	require.Contains(t, p.out.String(), testAdminKey, "the banner shows the admin key")
	return apiClient{base: "http://" + p.addr}
}

// apiClient calls hookd's REST API with the admin key.
type apiClient struct{ base string }

// do sends body (JSON, or nothing when empty) and requires one of the
// wanted statuses. It returns the response body.
func (c apiClient) do(t *testing.T, method, path, body string, want ...int) []byte {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testAdminKey)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Contains(t, want, resp.StatusCode, "%s %s: %s", method, path, b)
	return b
}

func (apiClient) decode(t *testing.T, b []byte, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(b, v), "decode %s", b)
}

// syncBuffer is a bytes.Buffer safe for a process's output and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
