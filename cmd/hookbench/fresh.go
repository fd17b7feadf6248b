package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// The fresh scenario (issue 10) measures a brand-new install: hookbench
// starts a hookd dev on a new data dir (new Postgres cluster, tables just
// made by the migrations, no ANALYZE ever run; autovacuum may run one as it
// would for a user) and runs the single-endpoint closed loop for --duration,
// counting deliveries in six windows. Then, on the same hookd and tables,
// once the first phase has drained, it runs as long again ("warm"), and
// reports the first phase's rate as a share of the warm one. A queue left at
// the end of a phase is waited for, so the warm phase starts empty.

// freshReport is the outcome of --scenario fresh.
type freshReport struct {
	Scenario        string       `json:"scenario"`
	Target          string       `json:"target"`
	Concurrency     int          `json:"concurrency"`
	PayloadBytes    int          `json:"payload_bytes"`
	PhaseSeconds    float64      `json:"phase_seconds"`
	WindowSeconds   float64      `json:"window_seconds"`
	Machine         *machineInfo `json:"machine"`
	First           *freshPhase  `json:"first"`
	Warm            *freshPhase  `json:"warm"`
	FirstPctOfWarm  *float64     `json:"first_pct_of_warm"`
	Publishes       int          `json:"publishes"`
	Delivered       int          `json:"delivered"`
	Lost            int          `json:"lost"`
	LostSample      []string     `json:"lost_sample,omitempty"`
	Duplicates      int          `json:"duplicates"`
	Stray           int          `json:"stray_requests"`
	SigVerified     int          `json:"signatures_verified"`
	SigFailures     int          `json:"signature_failures"`
	HookdPeakRSS    *int64       `json:"hookd_peak_rss_bytes"`
	Checks          []check      `json:"checks"`
	Notes           []string     `json:"notes,omitempty"`
	Interrupted     string       `json:"interrupted,omitempty"`
	FirstPublishErr string       `json:"first_publish_error,omitempty"`
}

// freshPhase is one phase: deliveries/s over the phase and in each window.
type freshPhase struct {
	Name             string     `json:"name"`
	DeliveryRate     float64    `json:"deliveries_per_s"` // deliveries that arrived within the phase / its length
	WindowRates      []float64  `json:"window_deliveries_per_s"`
	Publishes        int        `json:"publishes"`
	PublishErrors    int        `json:"publish_errors"`
	PublishRate      float64    `json:"publish_rate_per_s"`
	PublishLatency   latencyMS  `json:"publish_latency_ms"`
	QueuedAtEnd      int        `json:"queued_at_end"` // published in the phase, not yet delivered when it ended
	DrainSeconds     float64    `json:"drain_seconds"` // from the end of the phase to its last delivery
	HookdCPUPer1k    *float64   `json:"hookd_cpu_s_per_1k_deliveries"`
	PostgresCPUPer1k *float64   `json:"postgres_cpu_s_per_1k_deliveries"`
	Cores            *coresUsed `json:"cores_used"`
	LoadBefore       string     `json:"loadavg_before"`
	LoadAfter        string     `json:"loadavg_after"`
}

func (r *freshReport) ok() bool {
	return r.Interrupted == "" && r.Lost == 0 && r.SigFailures == 0 && r.Stray == 0 && r.First != nil && r.Warm != nil &&
		r.First.PublishErrors == 0 && r.Warm.PublishErrors == 0
}

// freshMain runs --scenario fresh and prints its report.
func freshMain(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	rep, err := runFresh(ctx, cfg, stderr)
	return finishMain(cfg.json, rep, err, stdout, stderr)
}

// scenarioReport is a report of a scenario with its own shape.
type scenarioReport interface {
	writeTable(io.Writer) error
	ok() bool
}

// finishMain prints rep (as JSON or a table) and returns the exit code.
func finishMain(asJSON bool, rep scenarioReport, err error, stdout, stderr io.Writer) int {
	write := rep.writeTable
	if asJSON {
		write = func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		}
	}
	if werr := write(stdout); werr != nil {
		fmt.Fprintf(stderr, "hookbench: write report: %v\n", werr)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "hookbench: %v\n", err)
		return 1
	}
	if !rep.ok() {
		return 1
	}
	return 0
}

func runFresh(ctx context.Context, cfg config, logw io.Writer) (*freshReport, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	rep := &freshReport{Scenario: "fresh", Concurrency: cfg.plan.concurrency, PayloadBytes: cfg.payloadBytes,
		PhaseSeconds: cfg.plan.duration.Seconds(), WindowSeconds: (cfg.plan.duration / 6).Seconds()}

	client := newHTTPClient(cfg.plan.concurrency)
	defer client.CloseIdleConnections()
	api := &apiClient{http: client}
	own, err := startOwn(ctx, cfg, api, logw)
	if err != nil {
		return rep, err
	}
	defer own.stop(logw)
	own.watch(ctx, cancel)
	rep.Target, rep.Notes = own.url+" (a brand-new hookd dev: new data dir and Postgres cluster)", own.notes
	rep.Machine = newMachineInfo(own.bin)
	rep.Machine.readPostgres(ctx, own.databaseURL)

	perPhase := cfg.plan.messages
	rcv, err := newReceiver(1, 2*perPhase, cfg.verifyEvery)
	if err != nil {
		return rep, err
	}
	defer rcv.close()
	if err := setup(ctx, api, cfg, rcv); err != nil {
		return rep, fmt.Errorf("setup: %w", err)
	}
	acked := make([]bool, 2*perPhase)
	procs := own.procs()
	for i, name := range []string{"first", "warm"} {
		fmt.Fprintf(logw, "hookbench: fresh: the %s phase, %s\n", name, cfg.plan.duration)
		ph := runFreshPhase(ctx, cfg, api, rcv, name, i*perPhase, acked, procs, own.postmaster, logw)
		if i == 0 {
			rep.First = ph
		} else {
			rep.Warm = ph
		}
		if ctx.Err() != nil {
			break
		}
	}
	rep.Machine.finish()
	if rss, ok := peakRSSes(procs)[procs[0].pid]; ok {
		rep.HookdPeakRSS = &rss
	}
	// Before anything counts as lost, what is still queued after the warm
	// phase's drain wait gets up to five minutes more: a backlog is not a
	// loss (the phases' own drain times are already recorded).
	expected := 0
	for _, ok := range acked {
		if ok {
			expected++
		}
	}
	if ctx.Err() == nil && rcv.unique.Load() < int64(expected) {
		fmt.Fprintf(logw, "hookbench: fresh: %d deliveries still queued; waiting up to 5m before counting any as lost\n",
			int64(expected)-rcv.unique.Load())
		rcv.waitFor(ctx, expected, time.Now().Add(5*time.Minute))
	}
	rep.Lost, rep.LostSample = rcv.missing(acked, 10)
	st := rcv.stats()
	rep.Delivered, rep.Duplicates, rep.Stray, rep.SigVerified, rep.SigFailures = st.unique, st.duplicates, st.stray, st.sigChecked, st.sigFailed
	for _, ok := range acked {
		if ok {
			rep.Publishes++
		}
	}
	if rep.First != nil && rep.Warm != nil && rep.Warm.DeliveryRate > 0 {
		pct := rep.First.DeliveryRate / rep.Warm.DeliveryRate * 100
		rep.FirstPctOfWarm = &pct
		rep.Checks = append(rep.Checks, check{"a fresh install's first minute, one endpoint, as % of the warm rate", "≥ 90 %", pct, "%", pct >= 90})
	}
	if cause := context.Cause(ctx); cause != nil {
		rep.Interrupted = cause.Error()
		return rep, fmt.Errorf("run cut short: %w", cause)
	}
	return rep, nil
}

// runFreshPhase runs the closed loop for cfg.plan.duration with seqs from
// offset, marks what was acknowledged in acked, and waits for the phase's
// deliveries.
func runFreshPhase(ctx context.Context, cfg config, api *apiClient, rcv *receiver, name string, offset int, acked []bool,
	procs []hookdRef, postmaster int, logw io.Writer) *freshPhase {
	ph := &freshPhase{Name: name, LoadBefore: loadAvg()}
	window := cfg.plan.duration / 6
	before := sampleResources(procs, postmaster)
	base := rcv.unique.Load()
	start := time.Now()
	counts := make(chan []int64, 1)
	go func() {
		var c []int64
		for k := 1; k <= 6; k++ {
			sleepCtx(ctx, time.Until(start.Add(time.Duration(k)*window)))
			c = append(c, rcv.unique.Load())
		}
		counts <- c
	}()
	var counters loadCounters
	stopProgress := startProgress(logw, cfg.progress, &counters, rcv)
	publish := func(ctx context.Context, seq int, sentNS int64) error {
		return api.publish(ctx, cfg.tenant, appendPublishBody(nil, offset+seq, sentNS, cfg.payloadBytes))
	}
	load := runLoad(ctx, cfg.plan, publish, &counters)
	c := <-counts
	stopProgress()

	prev := base
	for _, n := range c {
		ph.WindowRates = append(ph.WindowRates, float64(n-prev)/window.Seconds())
		prev = n
	}
	ph.DeliveryRate = float64(prev-base) / cfg.plan.duration.Seconds()
	ph.Publishes, ph.PublishErrors = load.ok, load.failed
	if d := load.end.Sub(load.start); d > 0 {
		ph.PublishRate = float64(load.ok) / d.Seconds()
	}
	ph.PublishLatency = toMS(summarize(load.latencies))
	expected := 0
	for seq, ok := range load.acked {
		acked[offset+seq] = ok
	}
	for _, ok := range acked {
		if ok {
			expected++
		}
	}
	ph.QueuedAtEnd = max(0, expected-int(prev))
	fmt.Fprintf(logw, "hookbench: fresh: %s phase published %d, %d still queued; waiting for them (up to %s)\n", name, load.ok, ph.QueuedAtEnd, cfg.drainTimeout)
	phaseEnd := start.Add(cfg.plan.duration)
	rcv.waitFor(ctx, expected, time.Now().Add(cfg.drainTimeout))
	if last := rcv.stats().last; last.After(phaseEnd) && ph.QueuedAtEnd > 0 {
		ph.DrainSeconds = last.Sub(phaseEnd).Seconds()
	}
	after := sampleResources(procs, postmaster)
	ph.LoadAfter = loadAvg()
	if n := float64(rcv.unique.Load() - base); n > 0 {
		if before.hookdOK && after.hookdOK {
			ph.HookdCPUPer1k = ptr((after.hookdCPU - before.hookdCPU).Seconds() / n * 1000)
		}
		if before.pgOK && after.pgOK {
			ph.PostgresCPUPer1k = ptr((after.pgCPU - before.pgCPU).Seconds() / n * 1000)
		}
	}
	ph.Cores = newCoresUsed(before, after)
	if load.firstErr != nil {
		fmt.Fprintf(logw, "hookbench: fresh: %s phase, first publish error: %v\n", name, load.firstErr)
	}
	return ph
}

func (r *freshReport) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "scenario  fresh: one endpoint, closed loop, concurrency %d, %d-byte payloads; %.0fs first, then %.0fs warm, windows of %.0fs\n",
		r.Concurrency, r.PayloadBytes, r.PhaseSeconds, r.PhaseSeconds, r.WindowSeconds)
	fmt.Fprintf(w, "target    %s\n", r.Target)
	r.Machine.write(w)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "phase\tdeliveries/s\tby window\tpublishes\tpublish p50/p99\tqueued at end (drained in)\thookd / Postgres CPU per 1k\tload average\n")
	for _, ph := range []*freshPhase{r.First, r.Warm} {
		if ph == nil {
			continue
		}
		ws := make([]string, len(ph.WindowRates))
		for i, v := range ph.WindowRates {
			ws[i] = num(v)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d (%d failed)\t%.2f / %.2f ms\t%d (%.1fs)\t%s / %s\t%s → %s\n", ph.Name, num(ph.DeliveryRate), strings.Join(ws, " "),
			ph.Publishes, ph.PublishErrors, ph.PublishLatency.P50, ph.PublishLatency.P99, ph.QueuedAtEnd, ph.DrainSeconds,
			optional(ph.HookdCPUPer1k, "%.3f s", "n/a"), optional(ph.PostgresCPUPer1k, "%.3f s", "n/a"), ph.LoadBefore, ph.LoadAfter)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nfirst as %% of warm  %s\n", optional(r.FirstPctOfWarm, "%.1f %%", "n/a"))
	fmt.Fprintf(w, "deliveries          %d of %d published (%d lost), %d duplicates, %d stray, %d signature failures (%d verified in full)\n",
		r.Delivered, r.Publishes, r.Lost, r.Duplicates, r.Stray, r.SigFailures, r.SigVerified)
	fmt.Fprintf(w, "hookd peak RSS      %s\n", mib(r.HookdPeakRSS))
	if err := writeChecks(w, "targets of issue 10", r.Checks); err != nil {
		return err
	}
	notes := r.Notes
	if r.Lost > 0 {
		notes = append(notes, fmt.Sprintf("%d deliveries lost, among them: %s", r.Lost, strings.Join(r.LostSample, ", ")))
	}
	if r.Interrupted != "" {
		notes = append(notes, "interrupted: "+r.Interrupted)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	return nil
}
