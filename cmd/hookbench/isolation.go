package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// The isolation scenario (issue 8) measures whether one endpoint's trouble
// stays its own. --tenants tenants (iso-<run>-<t>) each have
// --endpoints-per-tenant endpoints, and every message of a tenant goes to
// all of them. Of each tenant's endpoints the first 10 % (at least one)
// are black holes, a loopback listener that accepts the connection and
// never answers, so that every attempt runs into hookd's 15 s delivery
// timeout; the next 10 % answer 500; the rest are healthy and measured.
// Messages are published in an open loop, message i to tenant
// i mod --tenants.
//
// The same load runs twice: first with every endpoint healthy (the bad
// ones' places answer 204 and are counted, not measured), then with the
// bad endpoints. Both halves measure the same endpoints: publish→receive
// latency and deliveries/s of the healthy ones. The all-healthy half goes
// first because the other leaves work behind that outlives it (attempts
// hung on black holes for up to 15 s, snoozed and retrying jobs), which
// would weigh on a baseline run after it on the same hookd (--target).
// With --start each half gets a fresh hookd dev and Postgres, so neither
// inherits anything from the other; the order is the same.

// isoOptions shape --scenario isolation.
type isoOptions struct {
	tenants     int
	perTenant   int
	onlyHealthy bool // --baseline
	onlyBad     bool // --no-baseline
	runID       string
}

// bad is how many endpoints of each tenant are black holes, and how many
// answer 500: 10 %, at least one.
func (o isoOptions) bad() int { return max(1, o.perTenant/10) }

// measured is how many endpoints of each tenant are healthy in both halves.
func (o isoOptions) measured() int { return o.perTenant - 2*o.bad() }

// Halves of the scenario.
const (
	halfHealthy = "healthy" // every endpoint healthy
	halfBad     = "bad"     // with black holes and 500s
)

// tenantID is tenant t of a half.
func (o isoOptions) tenantID(half string, t int) string {
	return fmt.Sprintf("iso-%s-%s-%d", o.runID, half, t)
}

// endpointURL is where endpoint j of tenant t points in a half. hole is
// nil in the all-healthy half.
func (o isoOptions) endpointURL(t, j int, rcv *receiver, hole *blackHole) string {
	n := t*o.perTenant + j
	switch {
	case j >= 2*o.bad():
		return rcv.endpointURL(t*o.measured() + j - 2*o.bad())
	case hole == nil:
		return rcv.okURL(n)
	case j < o.bad():
		return hole.url(n)
	default:
		return rcv.failURL(n)
	}
}

// runIsolation runs the halves that cfg asks for, all-healthy first, and
// compares them.
func runIsolation(ctx context.Context, cfg config, logw io.Writer) (*isoReport, error) {
	rep := newIsoReport(cfg)
	rep.Machine = newMachineInfo(cfg.hookd.bin)
	defer rep.Machine.finish()
	if !cfg.iso.onlyBad {
		h, err := runIsoHalf(ctx, cfg, rep.Machine, false, logw)
		rep.Healthy = h
		if err != nil {
			return rep, fmt.Errorf("all-healthy run: %w", err)
		}
	}
	if !cfg.iso.onlyHealthy {
		h, err := runIsoHalf(ctx, cfg, rep.Machine, true, logw)
		rep.Bad = h
		if err != nil {
			return rep, fmt.Errorf("run with bad endpoints: %w", err)
		}
	}
	rep.compare()
	return rep, nil
}

// runIsoHalf runs one half: its own hookd dev with --start, its tenants,
// the open loop and the wait for the healthy deliveries. It returns what
// it measured whenever the load phase was reached.
func runIsoHalf(ctx context.Context, cfg config, machine *machineInfo, withBad bool, logw io.Writer) (*isoHalf, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	o := cfg.iso
	half := halfHealthy
	if withBad {
		half = halfBad
	}
	fmt.Fprintf(logw, "hookbench: isolation: the %s run\n", halfTitle(half))

	client := newHTTPClient(cfg.plan.concurrency)
	defer client.CloseIdleConnections()
	api := &apiClient{base: cfg.target, key: cfg.adminKey, http: client}
	res := &isoHalf{Run: halfTitle(half), Target: cfg.target}
	hookdPID, postgresPID, dbURL := cfg.hookdPID, cfg.postgresPID, cfg.databaseURL
	if cfg.start {
		h, err := startHookd(ctx, cfg.hookd, api, logw)
		if err != nil {
			return nil, err
		}
		defer h.stop(logw)
		res.Target = h.url + " (its own hookd dev)"
		hookdPID = h.pid
		if dbURL == "" {
			dbURL = h.databaseURL
		}
		if postgresPID == 0 {
			postgresPID = findPostmaster(h.dataDir)
		}
		go func() {
			select {
			case <-h.exited():
				cancel(fmt.Errorf("%w (log: %s)", errHookdExited, h.logPath))
			case <-ctx.Done():
			}
		}()
	}
	if postgresPID == 0 {
		res.Notes = append(res.Notes, "no postmaster pid: Postgres CPU counts every postgres process")
	}

	rcv, err := newGroupedReceiver(o.tenants, o.measured(), cfg.plan.total(), cfg.verifyEvery)
	if err != nil {
		return nil, err
	}
	defer rcv.close()
	var hole *blackHole
	if withBad {
		if hole, err = newBlackHole(); err != nil {
			return nil, err
		}
		defer hole.close() // before hookd stops: its hung attempts end at once
	}

	fmt.Fprintf(logw, "hookbench: isolation: setting up %d tenants × %d endpoints on %s\n", o.tenants, o.perTenant, rcv.base)
	tenants, err := isoSetup(ctx, api, o, half, rcv, hole)
	if !cfg.start {
		defer deleteTenants(context.WithoutCancel(ctx), api, tenants, logw)
	}
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}

	if machine.Postgres == nil {
		machine.readPostgres(ctx, dbURL)
	}
	var queue *queueSampler
	if dbURL != "" {
		pg, err := openPGStats(ctx, dbURL)
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("no River queue counts: %v", err))
		} else {
			defer pg.close(context.WithoutCancel(ctx))
			queue = startQueueSampler(ctx, pg, 2*time.Second)
		}
	} else {
		res.Notes = append(res.Notes, "no database URL: no River queue counts (give --database-url)")
	}

	res.LoadBefore = loadAvg()
	before := sampleResources(targetProcs(hookdPID), postgresPID)
	var counters loadCounters
	stopProgress := startIsoProgress(logw, cfg.progress, &counters, rcv, hole, queue)
	fmt.Fprintf(logw, "hookbench: isolation: publishing (%s across %d tenants)\n", describePlan(cfg.plan), o.tenants)
	publish := func(ctx context.Context, seq int, sentNS int64) error {
		return api.publish(ctx, tenants[seq%len(tenants)], appendPublishBody(nil, seq, sentNS, cfg.payloadBytes))
	}
	load := runLoad(ctx, cfg.plan, publish, &counters)
	expected := load.ok * o.measured()
	fmt.Fprintf(logw, "hookbench: isolation: published %d; waiting for %d healthy deliveries (up to %s)\n", load.ok, expected, cfg.drainTimeout)
	drained := rcv.waitFor(ctx, expected, load.end.Add(cfg.drainTimeout))
	stopProgress()
	after := sampleResources(targetProcs(hookdPID), postgresPID)
	res.LoadAfter = loadAvg()
	res.fill(load, rcv, expected, drained)
	res.cpu(before, after)
	if hookdPID > 0 {
		if rss, err := peakRSS(hookdPID); err == nil {
			res.HookdPeakRSSBytes = &rss
		}
	}
	if hole != nil {
		res.BlackHoleConnections = int(hole.accepted.Load())
	}
	if queue != nil {
		res.Queue = queue.stop()
	}
	if cause := context.Cause(ctx); cause != nil {
		res.Interrupted = cause.Error()
		return res, fmt.Errorf("run cut short: %w", cause)
	}
	return res, nil
}

func halfTitle(half string) string {
	if half == halfBad {
		return "with bad endpoints"
	}
	return "all healthy"
}

// isoSetup creates the tenants of a half and their endpoints, a few at a
// time, and gives the receiver the measured endpoints' secrets. It returns
// the tenant ids, also those made before a failure (to delete them).
func isoSetup(ctx context.Context, api *apiClient, o isoOptions, half string, rcv *receiver, hole *blackHole) ([]string, error) {
	if err := api.ensureEventType(ctx); err != nil {
		return nil, err
	}
	tenants := make([]string, o.tenants)
	for t := range tenants {
		tenants[t] = o.tenantID(half, t)
	}
	secrets := make([]string, o.tenants*o.measured())
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for t := range next {
				if err := isoTenant(ctx, api, o, t, tenants[t], rcv, hole, secrets); err != nil {
					cancel(fmt.Errorf("tenant %s: %w", tenants[t], err))
				}
			}
		})
	}
	for t := range tenants {
		select {
		case next <- t:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return tenants, err
	}
	return tenants, rcv.setSecrets(secrets)
}

// isoTenant creates tenant t and its endpoints, and writes the secrets of
// its measured endpoints into secrets.
func isoTenant(ctx context.Context, api *apiClient, o isoOptions, t int, id string, rcv *receiver, hole *blackHole, secrets []string) error {
	if err := api.putTenant(ctx, id); err != nil {
		return err
	}
	for j := range o.perTenant {
		epID, err := api.createEndpoint(ctx, id, o.endpointURL(t, j, rcv, hole))
		if err != nil {
			return err
		}
		if j < 2*o.bad() {
			continue
		}
		if secrets[t*o.measured()+j-2*o.bad()], err = api.endpointSecret(ctx, id, epID); err != nil {
			return err
		}
	}
	return nil
}

// deleteTenants removes a half's tenants from a --target hookd.
func deleteTenants(ctx context.Context, api *apiClient, tenants []string, logw io.Writer) {
	for _, t := range tenants {
		dctx, cancel := context.WithTimeout(ctx, requestTimeout)
		err := api.deleteTenant(dctx, t)
		cancel()
		if err != nil {
			fmt.Fprintf(logw, "hookbench: delete tenant %s: %v\n", t, err)
		}
	}
}

// queueSampler counts River's unfinished delivery jobs every interval and
// keeps the largest count of each queue and state.
type queueSampler struct {
	stopped chan struct{}
	done    chan struct{}
	mu      sync.Mutex
	peaks   map[string]int
	last    map[string]int
	errs    int
}

func startQueueSampler(ctx context.Context, pg *pgStats, interval time.Duration) *queueSampler {
	q := &queueSampler{stopped: make(chan struct{}), done: make(chan struct{}), peaks: map[string]int{}}
	go func() {
		defer close(q.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			sctx, cancel := context.WithTimeout(ctx, interval)
			counts, err := pg.riverJobs(sctx)
			cancel()
			q.mu.Lock()
			if err != nil {
				q.errs++
			} else {
				q.last = counts
				for k, n := range counts {
					q.peaks[k] = max(q.peaks[k], n)
				}
			}
			q.mu.Unlock()
			select {
			case <-q.stopped:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return q
}

// current is the last count of key ("deliver/running"), -1 before any.
func (q *queueSampler) current(key string) int {
	if q == nil {
		return -1
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.last == nil {
		return -1
	}
	return q.last[key]
}

// stop ends the sampling and returns the peaks.
func (q *queueSampler) stop() *queuePeaks {
	close(q.stopped)
	<-q.done
	q.mu.Lock()
	defer q.mu.Unlock()
	return &queuePeaks{
		DeliverRunning:   q.peaks["deliver/running"],
		DeliverAvailable: q.peaks["deliver/available"],
		DeliverScheduled: q.peaks["deliver/scheduled"],
		RetryRunning:     q.peaks["deliver_retry/running"],
		RetryAvailable:   q.peaks["deliver_retry/available"],
		RetryScheduled:   q.peaks["deliver_retry/scheduled"] + q.peaks["deliver_retry/retryable"],
		FailedSamples:    q.errs,
	}
}

// startIsoProgress prints a progress line every interval until the
// returned func is called.
func startIsoProgress(w io.Writer, interval time.Duration, c *loadCounters, rcv *receiver, hole *blackHole, q *queueSampler) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			var b strings.Builder
			fmt.Fprintf(&b, "hookbench: %4.0fs  published %d (%d failed)  healthy delivered %d", time.Since(start).Seconds(),
				c.ok.Load(), c.failed.Load(), rcv.unique.Load())
			if hole != nil {
				fmt.Fprintf(&b, "  500s %d  black-hole connections open %d", rcv.failed.Load(), hole.open())
			}
			if n := q.current("deliver/running"); n >= 0 {
				fmt.Fprintf(&b, "  deliver jobs running %d, available %d, scheduled %d", n, q.current("deliver/available"), q.current("deliver/scheduled"))
			}
			fmt.Fprintln(w, b.String())
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// loadAvg is the first three fields of /proc/loadavg, "" where there is none.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
