package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The chaos scenario tests hookd's promise under faults: a 202 means the
// message will be delivered, whatever crashes next. It starts its own
// durable Postgres (fsync on) and `hookd serve` as a real process, publishes
// continuously to its receiver on 127.0.0.1, kills hookd with SIGKILL every
// few seconds (restarting it at once) and restarts Postgres in immediate
// mode now and then. When the chaos ends it waits for every accepted
// message and reports what was accepted, delivered, lost and duplicated.

// chaosOptions shape a chaos run.
type chaosOptions struct {
	hookdBin      string        // built from ./cmd/hookd when empty
	duration      time.Duration // how long the chaos lasts
	killEvery     time.Duration // SIGKILL hookd this often
	pgRestarts    int           // immediate Postgres restarts, spread over the run
	publishers    int           // concurrent publishers (closed loop, each paced)
	publishPause  time.Duration // each publisher's pause between publishes
	drainTimeout  time.Duration // after the chaos, how long accepted messages may take
	maxMessages   int           // bound on publishes
	keep          bool          // keep the temp dir (logs, data)
	verifyEvery   int
	payloadBytes  int
	retrySchedule string
}

// chaosReport is what a chaos run found.
type chaosReport struct {
	Accepted   int           `json:"accepted"`
	Refused    int           `json:"refused"` // publishes answered with an error or not at all
	Delivered  int           `json:"delivered"`
	Lost       int           `json:"lost"`
	LostSample []string      `json:"lost_sample,omitempty"`
	Duplicates int           `json:"duplicates"`
	Kills      int           `json:"kills"`
	PGRestarts int           `json:"pg_restarts"`
	SigChecked int           `json:"signatures_checked"`
	SigFailed  int           `json:"signatures_failed"`
	Drain      time.Duration `json:"drain"` // from the end of the chaos until the last accepted message arrived
	Dir        string        `json:"dir,omitempty"`
	Machine    *machineInfo  `json:"machine"`
}

func (r chaosReport) ok() bool { return r.Lost == 0 && r.SigFailed == 0 && r.Accepted > 0 }

func (r chaosReport) writeTable(w io.Writer) error {
	_, err := fmt.Fprintf(w, `chaos: accepted %d (refused %d), delivered %d, lost %d, duplicates %d
chaos: hookd killed %d times, Postgres restarted (immediate) %d times
chaos: signatures verified %d, failed %d; last accepted message arrived %s after the chaos ended
`, r.Accepted, r.Refused, r.Delivered, r.Lost, r.Duplicates, r.Kills, r.PGRestarts, r.SigChecked, r.SigFailed, r.Drain.Round(time.Millisecond))
	if err == nil && len(r.LostSample) > 0 {
		_, err = fmt.Fprintf(w, "chaos: lost, for example: %v\n", r.LostSample)
	}
	r.Machine.write(w)
	return err
}

// chaosHookd is a `hookd serve` process: the one under test in chaos,
// restarted after each kill, or one process of a hookdCluster.
type chaosHookd struct {
	bin, addr, logPath string
	role               string // --role; empty: all
	env                []string
	mu                 sync.Mutex
	cmd                *exec.Cmd
	done               chan struct{}
	waitErr            error // how the last process ended, once done is closed
}

func (h *chaosHookd) start() error {
	logf, err := os.OpenFile(h.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("hookd log: %w", err)
	}
	defer logf.Close()
	role := h.role
	if role == "" {
		role = "all"
	}
	cmd := exec.Command(h.bin, "serve", "--role", role, "--addr", h.addr)
	cmd.Env = h.env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = hookdSysProcAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start hookd serve: %w", err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		h.mu.Lock()
		h.waitErr = err
		h.mu.Unlock()
		close(done)
	}()
	h.mu.Lock()
	h.cmd, h.done = cmd, done
	h.mu.Unlock()
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (h *chaosHookd) kill() {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// stop ends hookd with SIGTERM (SIGKILL after 15 s).
func (h *chaosHookd) stop() {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		h.kill()
	}
}

// runChaos runs the chaos scenario. logw gets progress lines.
func runChaos(ctx context.Context, o chaosOptions, logw io.Writer) (rep chaosReport, err error) {
	dir, err := benchDir("chaos")
	if err != nil {
		return rep, err
	}
	defer func() {
		if o.keep || err != nil || !rep.ok() {
			rep.Dir = dir
			fmt.Fprintf(logw, "hookbench: chaos: logs and data kept in %s\n", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()

	// Postgres, durable: an immediate restart must not lose a commit.
	pg, err := startDurablePostgres(ctx, dir, "hookbench: chaos: ", logw)
	if err != nil {
		return rep, err
	}
	defer func() { _ = pg.Stop() }()

	bin := o.hookdBin
	if bin == "" {
		bin = filepath.Join(dir, "hookd")
		fmt.Fprintf(logw, "hookbench: chaos: building hookd\n")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/hookd/hookd/cmd/hookd").CombinedOutput(); err != nil {
			return rep, fmt.Errorf("build hookd (run from the hookd repo, or give --hookd-bin): %w\n%s", err, out)
		}
	}
	rep.Machine = newMachineInfo(bin)
	rep.Machine.readPostgres(ctx, pg.URL("postgres"))
	defer rep.Machine.finish()
	adminKey, err := newAdminKey()
	if err != nil {
		return rep, err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	addr, err := freeLoopbackAddr()
	if err != nil {
		return rep, err
	}
	h := &chaosHookd{bin: bin, addr: addr, logPath: filepath.Join(dir, "hookd.log"),
		env: append(withoutEnv(os.Environ(), "DATABASE_URL", "HOOKD_ADMIN_KEY", "HOOKD_SECRET_KEY", "HOOKD_ALLOW_NETWORKS", "HOOKD_RETRY_SCHEDULE"),
			"DATABASE_URL="+pg.URL("postgres"), "HOOKD_ADMIN_KEY="+adminKey,
			"HOOKD_SECRET_KEY="+base64.StdEncoding.EncodeToString(secret),
			// The receiver is on loopback; a short schedule retries what
			// failed during an outage soon, as the run is short.
			"HOOKD_ALLOW_NETWORKS=127.0.0.0/8", "HOOKD_RETRY_SCHEDULE="+o.retrySchedule,
			"HOOKD_LOG_LEVEL=info")}
	if err := h.start(); err != nil {
		return rep, err
	}
	defer h.stop()

	client := newHTTPClient(o.publishers)
	defer client.CloseIdleConnections()
	client.Timeout = 10 * time.Second
	api := &apiClient{base: "http://" + addr, key: adminKey, http: client}
	if err := waitUp(ctx, api, 60*time.Second); err != nil {
		return rep, fmt.Errorf("hookd serve never became ready (log: %s): %w", h.logPath, err)
	}
	rcv, err := newReceiver(1, o.maxMessages, o.verifyEvery)
	if err != nil {
		return rep, err
	}
	defer rcv.close()
	const tenant = "chaos"
	if err := setup(ctx, api, config{tenant: tenant, endpoints: 1}, rcv); err != nil {
		return rep, err
	}

	// Publishers: each 202 marks its seq accepted; anything else is refused.
	acked := make([]bool, o.maxMessages)
	var ackMu sync.Mutex
	var next, accepted, refused atomic.Int64
	pubCtx, stopPub := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range o.publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body []byte
			for pubCtx.Err() == nil {
				seq := int(next.Add(1) - 1)
				if seq >= o.maxMessages {
					return
				}
				body = appendPublishBody(body[:0], seq, time.Now().UnixNano(), o.payloadBytes)
				if err := api.publish(pubCtx, tenant, body); err != nil {
					refused.Add(1)
					sleepCtx(pubCtx, 50*time.Millisecond) // hookd is down or Postgres is: try again shortly
					continue
				}
				ackMu.Lock()
				acked[seq] = true
				ackMu.Unlock()
				accepted.Add(1)
				sleepCtx(pubCtx, o.publishPause)
			}
		}()
	}

	// The chaos: kills at a steady pace, Postgres restarts spread between.
	fmt.Fprintf(logw, "hookbench: chaos: %s of publishing, SIGKILL hookd every %s, %d immediate Postgres restart(s)\n",
		o.duration, o.killEvery, o.pgRestarts)
	end := time.Now().Add(o.duration)
	kills := int(o.duration / o.killEvery)
	restartAt := map[int]bool{}
	for i := 1; i <= o.pgRestarts && kills > 0; i++ {
		restartAt[i*kills/(o.pgRestarts+1)] = true
	}
	var chaosErr error
	for i := 0; time.Now().Before(end) && ctx.Err() == nil; i++ {
		sleepCtx(ctx, min(o.killEvery, time.Until(end)))
		if !time.Now().Before(end) {
			break
		}
		if restartAt[i] {
			if err := pg.RestartImmediate(ctx); err != nil {
				chaosErr = fmt.Errorf("restart postgres: %w", err)
				break
			}
			rep.PGRestarts++
			fmt.Fprintf(logw, "hookbench: chaos: Postgres restarted in immediate mode (accepted so far %d)\n", accepted.Load())
			continue
		}
		h.kill()
		rep.Kills++
		if err := h.start(); err != nil {
			chaosErr = err
			break
		}
		fmt.Fprintf(logw, "hookbench: chaos: hookd killed and restarted (%d; accepted so far %d)\n", rep.Kills, accepted.Load())
	}
	stopPub()
	wg.Wait()
	chaosEnd := time.Now()
	if chaosErr != nil {
		return rep, chaosErr
	}

	rep.Accepted, rep.Refused = int(accepted.Load()), int(refused.Load())
	fmt.Fprintf(logw, "hookbench: chaos: over; waiting up to %s for the %d accepted messages\n", o.drainTimeout, rep.Accepted)
	deadline := chaosEnd.Add(o.drainTimeout)
	for ctx.Err() == nil {
		ackMu.Lock()
		lost, _ := rcv.missing(acked, 0)
		ackMu.Unlock()
		if lost == 0 || time.Now().After(deadline) {
			break
		}
		sleepCtx(ctx, 100*time.Millisecond)
	}
	rep.Drain = time.Since(chaosEnd)
	// A moment more, for duplicates still in flight to be counted.
	sleepCtx(ctx, 500*time.Millisecond)
	ackMu.Lock()
	rep.Lost, rep.LostSample = rcv.missing(acked, 10)
	ackMu.Unlock()
	st := rcv.stats()
	rep.Delivered, rep.Duplicates, rep.SigChecked, rep.SigFailed = st.unique, st.duplicates, st.sigChecked, st.sigFailed
	return rep, ctx.Err()
}

// waitUp polls /readyz until it answers 200.
func waitUp(ctx context.Context, api *apiClient, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for !api.ready(ctx) {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		sleepCtx(ctx, 50*time.Millisecond)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// sleepCtx sleeps for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
