// Command hookbench is the load tool of hookd: it drives a hookd through its
// public HTTP API and measures publish rate and latency, end-to-end
// deliveries per second, publish→receive latency, duplicates, signature
// failures, and what it all costs hookd and Postgres in CPU, memory and
// commits.
//
// It either targets a running hookd (--target, on loopback, with
// --admin-key) or starts `hookd dev` itself in a temp dir (--start). It
// registers endpoints that point at its own receiver on 127.0.0.1,
// publishes in a closed loop (--concurrency, --messages) or an open loop
// (--rate, --duration, latency measured from the scheduled send time), and
// waits for every delivery or --drain-timeout. It only ever talks to
// loopback, and every run is bounded in messages and time.
//
// Run `hookbench -h` for the flags and scenarios.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

// realMain runs hookbench and returns its exit code: 0 when every message
// was delivered with valid signatures, 1 when not or on error, 2 for bad
// flags.
func realMain(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseConfig(args, os.Getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "hookbench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cfg.scenario.name {
	case "chaos":
		return chaosMain(ctx, cfg, stdout, stderr)
	case "isolation":
		return isolationMain(ctx, cfg, stdout, stderr)
	case "fresh":
		return freshMain(ctx, cfg, stdout, stderr)
	case "backlog":
		return backlogMain(ctx, cfg, stdout, stderr)
	case "history":
		return historyMain(ctx, cfg, stdout, stderr)
	}

	rep, err := run(ctx, cfg, stderr)
	if rep != nil {
		write := rep.writeTable
		if cfg.json {
			write = rep.writeJSON
		}
		if werr := write(stdout); werr != nil {
			fmt.Fprintf(stderr, "hookbench: write report: %v\n", werr)
			return 1
		}
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

// run does one bench run. It returns a report whenever the load phase was
// reached, with an error too if the run was cut short.
func run(ctx context.Context, cfg config, logw io.Writer) (*report, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	client := newHTTPClient(cfg.plan.concurrency)
	defer client.CloseIdleConnections()
	api := &apiClient{base: cfg.target, key: cfg.adminKey, http: client}
	target := cfg.target
	procs, postgresPID, dbURL := targetProcs(cfg.hookdPID), cfg.postgresPID, cfg.databaseURL
	var own *ownHookd
	var notes []string

	if cfg.start {
		var err error
		if own, err = startOwn(ctx, cfg, api, logw); err != nil {
			return nil, err
		}
		defer own.stop(logw)
		target, notes = own.describe, own.notes
		procs = own.procs()
		if dbURL == "" {
			dbURL = own.databaseURL
		}
		if postgresPID == 0 && own.postmaster > 0 {
			postgresPID = own.postmaster
			fmt.Fprintf(logw, "hookbench: hookd pid%s %s, its Postgres postmaster pid %d\n", plural(len(procs)), describeProcs(procs), postgresPID)
		}
		own.watch(ctx, cancel)
	}
	bin := cfg.hookd.bin
	if own != nil {
		bin = own.bin
	}
	machine := newMachineInfo(bin)
	machine.readPostgres(ctx, dbURL)

	rcv, err := newReceiver(cfg.endpoints, cfg.plan.total(), cfg.verifyEvery)
	if err != nil {
		return nil, err
	}
	defer rcv.close()

	fmt.Fprintf(logw, "hookbench: setting up tenant %s with %d endpoint%s on %s\n", cfg.tenant, cfg.endpoints, plural(cfg.endpoints), rcv.base)
	if err := setup(ctx, api, cfg, rcv); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	if !cfg.start {
		defer func() {
			dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), requestTimeout)
			defer dcancel()
			if err := api.deleteTenant(dctx, cfg.tenant); err != nil {
				fmt.Fprintf(logw, "hookbench: delete tenant %s: %v\n", cfg.tenant, err)
			}
		}()
	}

	var pg *pgStats
	if dbURL != "" {
		if pg, err = openPGStats(ctx, dbURL); err != nil {
			notes = append(notes, fmt.Sprintf("no commit counts: %v", err))
			pg = nil
		} else {
			defer pg.close(context.WithoutCancel(ctx))
		}
	}

	m := measurements{target: target, notes: notes, procs: procs, machine: machine}
	m.before = sampleResources(procs, postgresPID)
	if pg != nil {
		if s, err := pg.sample(ctx); err == nil {
			m.pgBefore = &s
		} else {
			m.notes = append(m.notes, err.Error())
		}
	}

	var counters loadCounters
	stopProgress := startProgress(logw, cfg.progress, &counters, rcv)
	fmt.Fprintf(logw, "hookbench: publishing (%s)\n", describePlan(cfg.plan))
	publish := func(ctx context.Context, seq int, sentNS int64) error {
		return api.publish(ctx, cfg.tenant, appendPublishBody(nil, seq, sentNS, cfg.payloadBytes))
	}
	m.load = runLoad(ctx, cfg.plan, publish, &counters)
	expected := m.load.ok * cfg.endpoints
	fmt.Fprintf(logw, "hookbench: published %d; waiting for %d deliveries (up to %s)\n", m.load.ok, expected, cfg.drainTimeout)
	m.drained = rcv.waitFor(ctx, expected, m.load.end.Add(cfg.drainTimeout))
	stopProgress()

	m.after = sampleResources(procs, postgresPID)
	m.rss = peakRSSes(procs)
	m.recv = rcv.stats()
	m.missing, m.missingSample = rcv.missing(m.load.acked, 10)

	if pg != nil && m.pgBefore != nil {
		if cfg.pgSettle > 0 && ctx.Err() == nil {
			fmt.Fprintf(logw, "hookbench: waiting %s for pg_stat_database to catch up\n", cfg.pgSettle)
			select {
			case <-ctx.Done():
			case <-time.After(cfg.pgSettle):
			}
		}
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if s, err := pg.sample(sctx); err == nil {
			m.pgAfter = &s
		} else {
			m.notes = append(m.notes, err.Error())
		}
		scancel()
	}

	machine.finish()
	rep := newReport(cfg, m)
	if cause := context.Cause(ctx); cause != nil {
		rep.Interrupted = cause.Error()
		return &rep, fmt.Errorf("run cut short: %w", cause)
	}
	return &rep, nil
}

// setup creates the tenant, the event type and the endpoints, and hands
// the endpoints' secrets to the receiver.
func setup(ctx context.Context, api *apiClient, cfg config, rcv *receiver) error {
	if err := api.putTenant(ctx, cfg.tenant); err != nil {
		return err
	}
	if err := api.ensureEventType(ctx); err != nil {
		return err
	}
	secrets := make([]string, cfg.endpoints)
	for i := range secrets {
		id, err := api.createEndpoint(ctx, cfg.tenant, rcv.endpointURL(i))
		if err != nil {
			return err
		}
		if secrets[i], err = api.endpointSecret(ctx, cfg.tenant, id); err != nil {
			return err
		}
	}
	return rcv.setSecrets(secrets)
}

// startProgress prints a progress line every interval until the returned
// func is called.
func startProgress(w io.Writer, interval time.Duration, c *loadCounters, rcv *receiver) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
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
				fmt.Fprintf(w, "hookbench: %4.0fs  published %d (%d failed)  delivered %d\n",
					time.Since(start).Seconds(), c.ok.Load(), c.failed.Load(), rcv.unique.Load())
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func describePlan(p plan) string {
	if p.openLoop {
		return fmt.Sprintf("open loop, %s/s for %s = %d messages", num(p.rate), p.duration, p.total())
	}
	return fmt.Sprintf("closed loop, %d messages at concurrency %d, time limit %s", p.messages, p.concurrency, p.duration)
}

// chaosMain runs --scenario chaos and prints its report.
func chaosMain(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	rep, err := runChaos(ctx, cfg.chaos, stderr)
	return finishMain(cfg.json, rep, err, stdout, stderr)
}

// isolationMain runs --scenario isolation and prints its report.
func isolationMain(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	rep, err := runIsolation(ctx, cfg, stderr)
	return finishMain(cfg.json, rep, err, stdout, stderr)
}
