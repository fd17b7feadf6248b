package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// hookdOptions say how to start a hookd of our own (--start).
type hookdOptions struct {
	bin          string        // hookd binary; empty: build ./cmd/hookd
	keep         bool          // keep the temp dir (data and log) afterwards
	readyTimeout time.Duration // how long to wait for /readyz
}

// hookdProc is a `hookd dev` that hookbench started, with its own Postgres
// in a temp dir, on a free loopback port.
type hookdProc struct {
	cmd         *exec.Cmd
	bin         string
	pid         int
	url         string
	adminKey    string
	dir         string // temp dir: hookd binary, data dir, log
	dataDir     string
	logPath     string
	databaseURL string // from <data-dir>/postgres.url, when hookd wrote it
	done        chan struct{}
	waitErr     error // set before done is closed
	keep        bool
}

// startHookd builds hookd unless a binary is given, starts `hookd dev`,
// points client at it and waits until it is ready. logw gets progress lines.
func startHookd(ctx context.Context, opts hookdOptions, client *apiClient, logw io.Writer) (_ *hookdProc, err error) {
	dir, err := os.MkdirTemp("", "hookbench-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	h := &hookdProc{dir: dir, dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "hookd.log"), keep: opts.keep, done: make(chan struct{})}
	defer func() {
		if err != nil {
			h.stop(logw)
		}
	}()

	bin, err := hookdBinary(ctx, opts.bin, dir, logw)
	if err != nil {
		return nil, err
	}
	h.bin = bin
	if h.adminKey, err = newAdminKey(); err != nil {
		return nil, err
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		return nil, err
	}
	h.url = "http://" + addr
	client.base, client.key = h.url, h.adminKey

	logf, err := os.Create(h.logPath)
	if err != nil {
		return nil, fmt.Errorf("hookd log: %w", err)
	}
	defer logf.Close() // the child has its own copy

	h.cmd = exec.Command(bin, "dev", "--data-dir", h.dataDir, "--addr", addr)
	// Without DATABASE_URL, hookd dev runs a private Postgres in the data dir.
	// The fan-out scenario may want more endpoints than hookd lets a tenant
	// have by default.
	h.cmd.Env = append(withoutEnv(os.Environ(), "DATABASE_URL", "HOOKD_ADMIN_KEY", "HOOKD_MAX_ENDPOINTS_PER_TENANT"),
		"HOOKD_ADMIN_KEY="+h.adminKey, fmt.Sprintf("HOOKD_MAX_ENDPOINTS_PER_TENANT=%d", maxEndpoints))
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	h.cmd.SysProcAttr = hookdSysProcAttr()
	fmt.Fprintf(logw, "hookbench: starting %s dev --data-dir %s --addr %s (log: %s)\n", bin, h.dataDir, addr, h.logPath)
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start hookd: %w", err)
	}
	h.pid = h.cmd.Process.Pid
	go func() {
		h.waitErr = h.cmd.Wait()
		close(h.done)
	}()

	if err := h.waitReady(ctx, client, opts.readyTimeout); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(h.dataDir, "postgres.url")); err == nil {
		h.databaseURL = strings.TrimSpace(string(b))
	}
	return h, nil
}

// hookdBinary returns bin, or builds hookd into dir when bin is empty.
func hookdBinary(ctx context.Context, bin, dir string, logw io.Writer) (string, error) {
	if bin != "" {
		return bin, nil
	}
	bin = filepath.Join(dir, "hookd")
	fmt.Fprintf(logw, "hookbench: building hookd (go build ./cmd/hookd)\n")
	bctx, bcancel := context.WithTimeout(ctx, maxDuration)
	defer bcancel()
	build := exec.CommandContext(bctx, "go", "build", "-o", bin, "github.com/hookd/hookd/cmd/hookd")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build hookd (run hookbench from the hookd repo, or give --hookd-bin): %w\n%s", err, out)
	}
	return bin, nil
}

// waitReady polls GET /readyz until it answers 200.
func (h *hookdProc) waitReady(ctx context.Context, client *apiClient, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		reqCtx, cancel := context.WithTimeout(ctx, time.Second)
		ok := client.ready(reqCtx)
		cancel()
		if ok {
			return nil
		}
		select {
		case <-h.done:
			return fmt.Errorf("hookd exited before it was ready (%v); its log:\n%s", h.waitErr, h.logTail())
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("hookd not ready after %s (GET %s/readyz); its log:\n%s", timeout, h.url, h.logTail())
		}
	}
}

// exited is closed when the hookd process has ended.
func (h *hookdProc) exited() <-chan struct{} { return h.done }

// stop asks hookd to shut down with SIGINT, as Ctrl-C would, kills it after
// 30 s, and removes the temp dir unless it is to be kept.
func (h *hookdProc) stop(logw io.Writer) {
	stopped := true
	if h.cmd != nil && h.cmd.Process != nil {
		select {
		case <-h.done:
		default:
			_ = h.cmd.Process.Signal(os.Interrupt)
			select {
			case <-h.done:
			case <-time.After(30 * time.Second):
				fmt.Fprintf(logw, "hookbench: hookd did not stop within 30s of SIGINT; killing it\n")
				_ = h.cmd.Process.Kill()
				select {
				case <-h.done:
				case <-time.After(5 * time.Second):
				}
				stopped = false // its Postgres may still run on the data dir
			}
		}
	}
	if h.keep || !stopped {
		fmt.Fprintf(logw, "hookbench: kept %s (hookd data and log)\n", h.dir)
		return
	}
	if err := os.RemoveAll(h.dir); err != nil {
		fmt.Fprintf(logw, "hookbench: remove %s: %v\n", h.dir, err)
	}
}

// logTail is the end of hookd's log, for error messages.
func (h *hookdProc) logTail() string {
	b, err := os.ReadFile(h.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

// newAdminKey makes a random admin key for the hookd that hookbench starts.
func newAdminKey() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("admin key: %w", err)
	}
	return "hk_" + hex.EncodeToString(b), nil
}

// freeLoopbackAddr finds a free TCP port on 127.0.0.1. Another process could
// take it before hookd binds it; then hookd fails to start and says so.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	return addr, nil
}

// withoutEnv drops the named variables from env.
func withoutEnv(env []string, names ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// errHookdExited cancels a run whose hookd died under it.
var errHookdExited = errors.New("hookd exited during the run")
