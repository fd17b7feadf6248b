package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/migrations"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/historytest"
)

// The history scenario (issue 10) measures the pages that read the history
// at a size no test can make: hookbench starts a Postgres of its own
// (durable, in a temp dir), migrates it, generates --attempts attempts over
// --days daily partitions in SQL (store/historytest, the code behind
// store's TestHistoryAtScale), ANALYZEs, and runs EXPLAIN (ANALYZE) of each
// query behind the portal's delivery log, the message page, an endpoint's
// attempts and the console's lists, then drops the oldest day as
// retention does. Every query must take at most historyBudget (planning and
// execution) without a sequential scan of a partition with data, and the
// day's drop at most a second.

const (
	historyBudget  = 50 * time.Millisecond
	historyMaxSeq  = 1000 // rows a sequential scan of a history partition may read
	historyDropMax = time.Second
)

// historyOptions are --scenario history's flags.
type historyOptions struct {
	attempts int
	days     int
	tenants  int
}

// historyReport is the outcome of --scenario history.
type historyReport struct {
	Scenario        string        `json:"scenario"`
	Machine         *machineInfo  `json:"machine"`
	Attempts        int           `json:"attempts"`
	Deliveries      int           `json:"deliveries"`
	Messages        int           `json:"messages"`
	Days            int           `json:"days"`
	Tenants         int           `json:"tenants"`
	Endpoints       int           `json:"endpoints"`
	GenerateSeconds float64       `json:"generate_seconds"`
	DatabaseBytes   int64         `json:"database_bytes"`
	Pages           []historyPage `json:"pages"`
	Dropped         []string      `json:"retention_dropped"`
	DropMS          float64       `json:"retention_of_a_day_ms"`
	Checks          []check       `json:"checks"`
	Dir             string        `json:"dir,omitempty"`
	Interrupted     string        `json:"interrupted,omitempty"`
}

// historyPage is one query's EXPLAIN (ANALYZE).
type historyPage struct {
	Page        string         `json:"page"`
	SQL         string         `json:"sql"`
	PlanningMS  float64        `json:"planning_ms"`
	ExecutionMS float64        `json:"execution_ms"`
	TotalMS     float64        `json:"total_ms"`
	Partitions  []string       `json:"partitions"`
	SeqScans    map[string]int `json:"seq_scans,omitempty"`
}

// ok is whether the run got to the end; the speed targets are in Checks.
func (r *historyReport) ok() bool {
	return r.Interrupted == "" && len(r.Pages) > 0 && len(r.Dropped) > 0
}

func historyMain(ctx context.Context, cfg config, stdout, stderr io.Writer) int {
	rep, err := runHistory(ctx, cfg, stderr)
	if err != nil && rep.Interrupted == "" {
		rep.Interrupted = err.Error()
	}
	return finishMain(cfg.json, rep, err, stdout, stderr)
}

func runHistory(ctx context.Context, cfg config, logw io.Writer) (rep *historyReport, err error) {
	o := cfg.history
	rep = &historyReport{Scenario: "history", Days: o.days, Tenants: o.tenants, Endpoints: 2 * o.tenants}
	dir, err := benchDir("history")
	if err != nil {
		return rep, err
	}
	defer func() {
		if cfg.hookd.keep || err != nil {
			rep.Dir = dir
			fmt.Fprintf(logw, "hookbench: history: data kept in %s\n", dir)
			return
		}
		_ = os.RemoveAll(dir)
	}()
	pg, err := startDurablePostgres(ctx, dir, "hookbench: history: ", logw)
	if err != nil {
		return rep, err
	}
	defer func() { _ = pg.Stop() }()
	rep.Machine = newMachineInfo("")
	rep.Machine.readPostgres(ctx, pg.URL("postgres"))
	defer rep.Machine.finish()

	// Configured as hookd's own pools are (store.ConfigurePool: binary
	// uuids, no JIT), so that the plans are timed as hookd would run them.
	pcfg, err := pgxpool.ParseConfig(pg.URL("postgres"))
	if err != nil {
		return rep, fmt.Errorf("connect: %w", err)
	}
	store.ConfigurePool(pcfg)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return rep, fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	if err := migrations.Migrate(ctx, pool, migrations.Config{}); err != nil {
		return rep, fmt.Errorf("migrate: %w", err)
	}
	logf := func(format string, args ...any) {
		fmt.Fprintf(logw, "hookbench: history: "+format+"\n", args...)
	}
	logf("generating about %d attempts over %d days for %d tenants", o.attempts, o.days, o.tenants)
	g, err := historytest.Generate(ctx, pool, historytest.Opts{Attempts: o.attempts, Days: o.days, Tenants: o.tenants, Logf: logf})
	if err != nil {
		return rep, fmt.Errorf("generate: %w", err)
	}
	rep.Attempts, rep.Deliveries, rep.Messages, rep.GenerateSeconds = g.Attempts, g.Deliveries, g.Messages, g.Took.Seconds()
	if err := pool.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&rep.DatabaseBytes); err != nil {
		return rep, fmt.Errorf("database size: %w", err)
	}
	logf("generated %d messages, %d deliveries, %d attempts (%.1f GB) in %s; explaining",
		g.Messages, g.Deliveries, g.Attempts, float64(rep.DatabaseBytes)/1e9, g.Took.Round(time.Second))

	plans, err := historytest.Explain(ctx, pool, g)
	if err != nil {
		return rep, fmt.Errorf("explain: %w", err)
	}
	for _, p := range plans {
		hp := historyPage{Page: p.Page, SQL: p.SQL, PlanningMS: ms(p.Planning), ExecutionMS: ms(p.Execution),
			TotalMS: ms(p.Total()), Partitions: p.Partitions, SeqScans: p.SeqScans}
		rep.Pages = append(rep.Pages, hp)
		rep.Checks = append(rep.Checks, check{Measure: p.Page + fmt.Sprintf(" (%.1fM attempts)", float64(g.Attempts)/1e6),
			Target: "≤ 50 ms", Value: hp.TotalMS, Unit: "ms",
			OK: historytest.Check([]historytest.Plan{p}, historyBudget, historyMaxSeq) == nil})
	}
	dropped, took, err := historytest.DropFirstDay(ctx, pool, g)
	if err != nil {
		return rep, fmt.Errorf("retention of a day: %w", err)
	}
	rep.Dropped, rep.DropMS = dropped, ms(took)
	rep.Checks = append(rep.Checks, check{Measure: "retention of a day (dropping its partitions)", Target: "≤ 1 s",
		Value: ms(took), Unit: "ms", OK: took <= historyDropMax})
	return rep, nil
}

func (r *historyReport) writeTable(w io.Writer) error {
	fmt.Fprintf(w, "scenario  history: %d attempts, %d deliveries, %d messages over %d days, %d tenants with %d endpoints\n",
		r.Attempts, r.Deliveries, r.Messages, r.Days, r.Tenants, r.Endpoints)
	if r.Machine != nil {
		r.Machine.write(w)
	}
	fmt.Fprintf(w, "generated in %.0f s, database %.1f GB\n\n", r.GenerateSeconds, float64(r.DatabaseBytes)/1e9)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "page\tplanning ms\texecution ms\ttotal ms\tpartitions read")
	for _, p := range r.Pages {
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%d\n", p.Page, p.PlanningMS, p.ExecutionMS, p.TotalMS, len(p.Partitions))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Dropped) > 0 {
		fmt.Fprintf(w, "\nretention of a day: dropped %s in %.0f ms\n", strings.Join(r.Dropped, ", "), r.DropMS)
	}
	if r.Interrupted != "" {
		fmt.Fprintf(w, "\nINTERRUPTED: %s\n", r.Interrupted)
	}
	if r.Dir != "" {
		fmt.Fprintf(w, "data kept in %s\n", r.Dir)
	}
	return writeChecks(w, "targets (issue 10)", r.Checks)
}
