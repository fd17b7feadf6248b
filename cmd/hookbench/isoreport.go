package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// isoReport is the outcome of --scenario isolation: its shape, each half
// that ran, and the comparison with issue 8's targets when both did.
type isoReport struct {
	Scenario           string  `json:"scenario"`
	RunID              string  `json:"run_id"` // tenants are iso-<run_id>-healthy-<t> and iso-<run_id>-bad-<t>
	Tenants            int     `json:"tenants"`
	EndpointsPerTenant int     `json:"endpoints_per_tenant"`
	BlackHolesPerT     int     `json:"black_holes_per_tenant"`
	Answer500PerT      int     `json:"answering_500_per_tenant"`
	MeasuredPerTenant  int     `json:"measured_per_tenant"`
	Rate               float64 `json:"messages_per_s"`
	DurationSeconds    float64 `json:"duration_s"`
	Messages           int     `json:"messages"`
	PayloadBytes       int     `json:"payload_bytes"`
	Concurrency        int     `json:"concurrency"`
	Order              string  `json:"order"`
	// OfferedHealthyRate is the healthy deliveries/s the load asks for: a
	// half that delivers less did not keep up.
	OfferedHealthyRate float64 `json:"offered_healthy_deliveries_per_s"`

	Healthy *isoHalf `json:"all_healthy,omitempty"`
	Bad     *isoHalf `json:"with_bad_endpoints,omitempty"`

	// Bad ÷ healthy, when both halves ran.
	P50Ratio        *float64 `json:"healthy_p50_ratio,omitempty"`
	P99Ratio        *float64 `json:"healthy_p99_ratio,omitempty"`
	ThroughputRatio *float64 `json:"healthy_throughput_ratio,omitempty"`
	Checks          []check  `json:"checks,omitempty"`
	Notes           []string `json:"notes,omitempty"`

	Machine *machineInfo `json:"machine"`
}

// isoHalf is what one half measured. "Healthy" deliveries are those to the
// endpoints that are healthy in both halves.
type isoHalf struct {
	Run    string `json:"run"`
	Target string `json:"target"`

	Publishes         int       `json:"publishes"`
	PublishErrors     int       `json:"publish_errors"`
	PublishNotSent    int       `json:"publish_not_sent"`
	FirstPublishError string    `json:"first_publish_error,omitempty"`
	StoppedEarly      string    `json:"stopped_early,omitempty"`
	PublishSeconds    float64   `json:"publish_seconds"`
	PublishRate       float64   `json:"publish_rate_per_s"`
	PublishLatency    latencyMS `json:"publish_latency_ms"`

	HealthyExpected int       `json:"healthy_deliveries_expected"`
	HealthyReceived int       `json:"healthy_deliveries_received"`
	HealthyMissing  int       `json:"healthy_deliveries_missing"`
	MissingSample   []string  `json:"missing_sample,omitempty"`
	DrainTimedOut   bool      `json:"drain_timed_out"`
	HealthySeconds  float64   `json:"healthy_delivery_seconds"` // first publish to last healthy delivery
	HealthyRate     float64   `json:"healthy_deliveries_per_s"`
	HealthyLatency  latencyMS `json:"healthy_publish_to_receive_ms"`

	Duplicates            int    `json:"duplicates"`
	Stray                 int    `json:"stray_requests"`
	SignaturesVerified    int    `json:"signatures_verified"`
	SignatureFailures     int    `json:"signature_failures"`
	FirstSignatureFailure string `json:"first_signature_failure,omitempty"`

	// The other endpoints: in the all-healthy half they answer 204 and are
	// counted; with bad endpoints they answer 500 or hold the connection.
	UnmeasuredAnswered204 int `json:"unmeasured_answered_204"`
	Answered500           int `json:"answered_500"`
	BlackHoleConnections  int `json:"black_hole_connections"`

	// Where the time went, over the load and the wait for deliveries.
	WallSeconds       float64     `json:"wall_seconds"`
	HookdCPUSeconds   *float64    `json:"hookd_cpu_s"`
	PostgresCPUSecs   *float64    `json:"postgres_cpu_s"`
	BenchCPUSeconds   *float64    `json:"hookbench_cpu_s"`
	HookdPeakRSSBytes *int64      `json:"hookd_peak_rss_bytes"`
	Queue             *queuePeaks `json:"river_jobs_peak,omitempty"`
	LoadBefore        string      `json:"loadavg_before"`
	LoadAfter         string      `json:"loadavg_after"`

	Notes       []string `json:"notes,omitempty"`
	Interrupted string   `json:"interrupted,omitempty"`
}

// queuePeaks are the most unfinished delivery jobs River held at once, by
// state, sampled every 2 s: running jobs were fetched into worker slots
// (HOOKD_WORKERS, a quarter of it for retries; River marks a job completed
// in batches, after its slot is free, so the count can pass the slots when
// the writes lag), available ones wait for a slot or River's fetch,
// scheduled ones are snoozed or wait for their retry.
type queuePeaks struct {
	DeliverRunning   int `json:"deliver_running"`
	DeliverAvailable int `json:"deliver_available"`
	DeliverScheduled int `json:"deliver_scheduled"`
	RetryRunning     int `json:"retry_running"`
	RetryAvailable   int `json:"retry_available"`
	RetryScheduled   int `json:"retry_scheduled"`
	FailedSamples    int `json:"failed_samples,omitempty"`
}

func newIsoReport(cfg config) *isoReport {
	o := cfg.iso
	order := "all healthy first, then with bad endpoints, each on a fresh hookd dev of its own"
	if !cfg.start {
		order = "all healthy first, then with bad endpoints, on the same hookd: the bad run leaves hung attempts and snoozed jobs behind"
	}
	switch {
	case o.onlyHealthy:
		order = "all healthy only (--baseline)"
	case o.onlyBad:
		order = "with bad endpoints only (--no-baseline)"
	}
	return &isoReport{
		Scenario: "isolation", RunID: o.runID, Tenants: o.tenants, EndpointsPerTenant: o.perTenant,
		BlackHolesPerT: o.bad(), Answer500PerT: o.bad(), MeasuredPerTenant: o.measured(),
		Rate: cfg.plan.rate, DurationSeconds: cfg.plan.duration.Seconds(), Messages: cfg.plan.total(),
		PayloadBytes: cfg.payloadBytes, Concurrency: cfg.plan.concurrency, Order: order,
		OfferedHealthyRate: cfg.plan.rate * float64(o.measured()),
	}
}

// fill takes the numbers of the load and of the receiver.
func (h *isoHalf) fill(load loadResult, rcv *receiver, expected int, drained bool) {
	st := rcv.stats()
	h.Publishes, h.PublishErrors, h.PublishNotSent = load.ok, load.failed, load.notSent
	h.PublishLatency = toMS(summarize(load.latencies))
	if load.firstErr != nil {
		h.FirstPublishError = load.firstErr.Error()
	}
	if load.stopped != nil {
		h.StoppedEarly = load.stopped.Error()
	}
	if d := load.end.Sub(load.start); d > 0 {
		h.PublishSeconds, h.PublishRate = d.Seconds(), float64(load.ok)/d.Seconds()
	}
	h.HealthyExpected, h.HealthyReceived = expected, st.unique
	h.HealthyMissing, h.MissingSample = rcv.missing(load.acked, 10)
	h.DrainTimedOut = !drained
	if st.unique > 0 {
		if d := st.last.Sub(load.start); d > 0 {
			h.HealthySeconds, h.HealthyRate = d.Seconds(), float64(st.unique)/d.Seconds()
		}
	}
	h.HealthyLatency = toMS(summarize(st.latencies))
	h.Duplicates, h.Stray = st.duplicates, st.stray
	h.SignaturesVerified, h.SignatureFailures, h.FirstSignatureFailure = st.sigChecked, st.sigFailed, st.firstSigErr
	h.UnmeasuredAnswered204, h.Answered500 = int(rcv.okAnswered.Load()), int(rcv.failed.Load())
}

// cpu takes the CPU used between two readings.
func (h *isoHalf) cpu(before, after resources) {
	h.WallSeconds = after.at.Sub(before.at).Seconds()
	if before.hookdOK && after.hookdOK {
		h.HookdCPUSeconds = ptr((after.hookdCPU - before.hookdCPU).Seconds())
	}
	if before.pgOK && after.pgOK {
		h.PostgresCPUSecs = ptr((after.pgCPU - before.pgCPU).Seconds())
	}
	if before.benchOK && after.benchOK {
		h.BenchCPUSeconds = ptr((after.benchCPU - before.benchCPU).Seconds())
	}
}

// ok reports whether the half was correct: every message published, and
// every healthy delivery arrived once or more, with valid signatures.
func (h *isoHalf) ok() bool {
	return h.Interrupted == "" && h.StoppedEarly == "" && h.PublishErrors == 0 && h.HealthyMissing == 0 &&
		h.SignatureFailures == 0 && h.Stray == 0
}

// ok reports whether every half that ran was correct. Targets are not
// part of it.
func (r *isoReport) ok() bool {
	return (r.Healthy != nil || r.Bad != nil) && (r.Healthy == nil || r.Healthy.ok()) && (r.Bad == nil || r.Bad.ok())
}

// keptUp is the share of the offered healthy deliveries/s below which a
// half is said not to have kept up.
const keptUp = 0.95

// compare sets the ratios and checks of issue 8 when both halves ran, and
// says so when the all-healthy half could not carry the load: then its
// latency is time in a queue, and the ratios compare two backlogs.
func (r *isoReport) compare() {
	h, b := r.Healthy, r.Bad
	if h != nil && h.HealthyRate < keptUp*r.OfferedHealthyRate {
		r.Notes = append(r.Notes, fmt.Sprintf("the all-healthy run did not keep up: %s of the %s healthy deliveries/s offered; "+
			"its latency is mostly queueing, so the ratios compare backlogs (lower --rate until it keeps up)",
			num(h.HealthyRate), num(r.OfferedHealthyRate)))
	}
	if h == nil || b == nil {
		return
	}
	if h.HealthyLatency.N > 0 && b.HealthyLatency.N > 0 && h.HealthyLatency.P50 > 0 && h.HealthyLatency.P99 > 0 {
		r.P50Ratio = ptr(b.HealthyLatency.P50 / h.HealthyLatency.P50)
		r.P99Ratio = ptr(b.HealthyLatency.P99 / h.HealthyLatency.P99)
		r.Checks = append(r.Checks, check{"healthy p99 with bad endpoints ÷ all healthy", "≤ 2×", *r.P99Ratio, "×", *r.P99Ratio <= 2})
	}
	if h.HealthyRate > 0 {
		r.ThroughputRatio = ptr(b.HealthyRate / h.HealthyRate)
		v := *r.ThroughputRatio * 100
		r.Checks = append(r.Checks, check{"healthy deliveries/s with bad endpoints ÷ all healthy", "≥ 95 %", v, "%", v >= 95})
	}
}

// writeTable prints the halves side by side, then the targets.
func (r *isoReport) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "scenario  isolation: %d tenants × %d endpoints (each tenant: %d black hole, %d answering 500, %d healthy and measured)\n",
		r.Tenants, r.EndpointsPerTenant, r.BlackHolesPerT, r.Answer500PerT, r.MeasuredPerTenant)
	fmt.Fprintf(w, "load      open loop at %s messages/s for %gs (%d messages, %s deliveries/s, %s of them to measured endpoints), up to %d in flight, %d-byte payloads\n",
		num(r.Rate), r.DurationSeconds, r.Messages, num(r.Rate*float64(r.EndpointsPerTenant)), num(r.OfferedHealthyRate), r.Concurrency, r.PayloadBytes)
	fmt.Fprintf(w, "order     %s\n", r.Order)
	r.Machine.write(w)
	fmt.Fprintln(w)

	var halves []*isoHalf
	head := "measure"
	for _, h := range []*isoHalf{r.Healthy, r.Bad} {
		if h != nil {
			halves = append(halves, h)
			head += "\t" + h.Run
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, head)
	row := func(k string, f func(h *isoHalf) string) {
		cells := []string{k}
		for _, h := range halves {
			cells = append(cells, f(h))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	lat := func(l latencyMS) string {
		if l.N == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f / %.1f / %.1f / %.0f ms", l.P50, l.P90, l.P99, l.Max)
	}
	secs := func(v *float64, wall float64) string {
		if v == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.1f s (%.2f cores)", *v, *v/max(wall, 1e-9))
	}
	row("target", func(h *isoHalf) string { return h.Target })
	row("publishes", func(h *isoHalf) string {
		return fmt.Sprintf("%d (%d failed, %d not sent)", h.Publishes, h.PublishErrors, h.PublishNotSent)
	})
	row("publish rate", func(h *isoHalf) string { return fmt.Sprintf("%s/s over %.1fs", num(h.PublishRate), h.PublishSeconds) })
	row("publish latency p50/p90/p99/max", func(h *isoHalf) string { return lat(h.PublishLatency) })
	row("healthy deliveries received", func(h *isoHalf) string {
		return fmt.Sprintf("%d of %d (%d missing)", h.HealthyReceived, h.HealthyExpected, h.HealthyMissing)
	})
	row("healthy deliveries/s", func(h *isoHalf) string {
		return fmt.Sprintf("%s/s, %.0f %% of offered (over %.1fs)", num(h.HealthyRate), 100*h.HealthyRate/max(r.OfferedHealthyRate, 1e-9), h.HealthySeconds)
	})
	row("healthy publish→receive p50/p90/p99/max", func(h *isoHalf) string { return lat(h.HealthyLatency) })
	row("other endpoints", func(h *isoHalf) string {
		if h.Answered500 == 0 && h.BlackHoleConnections == 0 {
			return fmt.Sprintf("%d answered 204 (not measured)", h.UnmeasuredAnswered204)
		}
		return fmt.Sprintf("%d answered 500, %d black-hole connections", h.Answered500, h.BlackHoleConnections)
	})
	row("duplicates / stray / bad signatures", func(h *isoHalf) string {
		return fmt.Sprintf("%d / %d / %d (%d verified in full)", h.Duplicates, h.Stray, h.SignatureFailures, h.SignaturesVerified)
	})
	row("hookd CPU", func(h *isoHalf) string { return secs(h.HookdCPUSeconds, h.WallSeconds) })
	row("Postgres CPU", func(h *isoHalf) string { return secs(h.PostgresCPUSecs, h.WallSeconds) })
	row("hookbench CPU", func(h *isoHalf) string { return secs(h.BenchCPUSeconds, h.WallSeconds) })
	row("hookd peak RSS", func(h *isoHalf) string {
		if h.HookdPeakRSSBytes == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.1f MiB", float64(*h.HookdPeakRSSBytes)/(1<<20))
	})
	row("deliver jobs at most: running/available/scheduled", func(h *isoHalf) string {
		if h.Queue == nil {
			return "n/a"
		}
		return fmt.Sprintf("%d / %d / %d", h.Queue.DeliverRunning, h.Queue.DeliverAvailable, h.Queue.DeliverScheduled)
	})
	row("deliver_retry jobs at most: running/available/scheduled", func(h *isoHalf) string {
		if h.Queue == nil {
			return "n/a"
		}
		return fmt.Sprintf("%d / %d / %d", h.Queue.RetryRunning, h.Queue.RetryAvailable, h.Queue.RetryScheduled)
	})
	row("load average before → after", func(h *isoHalf) string { return h.LoadBefore + " → " + h.LoadAfter })
	if err := tw.Flush(); err != nil {
		return err
	}

	if err := writeChecks(w, fmt.Sprintf("healthy p50 ratio %.2f×; targets of issue 8 (healthy endpoints, with bad endpoints ÷ all healthy)", deref(r.P50Ratio)), r.Checks); err != nil {
		return err
	}

	var notes []string
	for _, h := range halves {
		add := func(s string) { notes = append(notes, h.Run+": "+s) }
		if h.Interrupted != "" {
			add("interrupted: " + h.Interrupted)
		}
		if h.StoppedEarly != "" {
			add("publishing stopped early: " + h.StoppedEarly)
		}
		if h.FirstPublishError != "" {
			add("first publish error: " + h.FirstPublishError)
		}
		if h.HealthyMissing > 0 {
			add(fmt.Sprintf("%d healthy deliveries had not arrived by --drain-timeout, among them: %s", h.HealthyMissing, strings.Join(h.MissingSample, ", ")))
		}
		if h.FirstSignatureFailure != "" {
			add("first signature failure: " + h.FirstSignatureFailure)
		}
		for _, n := range h.Notes {
			add(n)
		}
	}
	notes = append(notes, r.Notes...)
	if len(notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range notes {
			fmt.Fprintf(w, "note: %s\n", n)
		}
	}
	return nil
}

func deref(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}
