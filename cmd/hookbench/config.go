package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Hard caps: every run stops by itself.
const (
	maxDuration    = 10 * time.Minute
	maxMessages    = 5_000_000
	maxDeliveries  = 5_000_000 // messages × endpoints: bounds the receiver's memory
	maxEndpoints   = 1000
	maxConcurrency = 4096
	// The isolation scenario's tenants and endpoints (hookd's default
	// limit of endpoints per tenant is 100).
	maxTenants           = 1000
	maxPerTenant         = 100
	maxIsolationEndpoint = 10000
)

// scenario is a named load shape with its defaults.
type scenario struct {
	name      string
	about     string
	endpoints int
	messages  int     // closed loop
	rate      float64 // > 0: open loop at this rate
}

var scenarios = []scenario{
	{name: "single", about: "one tenant, one endpoint, closed loop", endpoints: 1, messages: 20000},
	{name: "fanout", about: "one tenant, each message fans out to --endpoints endpoints, closed loop", endpoints: 100, messages: 1000},
	{name: "latency", about: "open loop at a light rate: publish→receive latency is the measure", endpoints: 1, rate: 200},
	{name: "publish", about: "open loop while delivering: publish API latency is the measure", endpoints: 1, rate: 500},
	{name: "fresh", about: "a brand-new hookd (new data dir, fresh tables): one endpoint, closed loop for --duration (60s) in six windows, then as long again warm; first minute as % of warm (needs --start)", endpoints: 1},
	{name: "backlog", about: "--messages (1,000,000) published while no worker runs, then workers started: drain rate against a no-backlog run, hookd RSS, and publish latency of a 50/s stream while draining (needs --start; --workers, default 1)", endpoints: 1, messages: 1_000_000},
	{name: "chaos", about: "own Postgres and hookd serve; SIGKILL hookd every --kill-every, restart Postgres (immediate) --pg-restarts times; every 202 must arrive", endpoints: 1},
	{name: "history", about: "own Postgres; --attempts (50,000,000) generated over --days (30) daily partitions for --tenants (2,000) tenants of 2 endpoints; EXPLAIN (ANALYZE) of the pages that read the history, then retention of a day"},
	{name: "isolation", about: "--tenants tenants of --endpoints-per-tenant endpoints, 10 % black holes and 10 % answering 500, open loop across the tenants; healthy endpoints' latency and deliveries/s next to an all-healthy run", rate: 300},
}

// scenarioNames is "single, fanout, … or isolation", for messages.
func scenarioNames() string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func findScenario(name string) (scenario, bool) {
	for _, s := range scenarios {
		if s.name == name {
			return s, true
		}
	}
	return scenario{}, false
}

// config is a run, as the flags describe it.
type config struct {
	target       string
	adminKey     string
	start        bool
	hookd        hookdOptions
	hookdPID     int
	postgresPID  int
	databaseURL  string
	scenario     scenario
	plan         plan
	endpoints    int
	payloadBytes int
	verifyEvery  int // 0: no verification
	drainTimeout time.Duration
	pgSettle     time.Duration
	tenant       string
	workers      int           // with --start: 1 api and this many worker processes instead of hookd dev
	backlogLight time.Duration // --scenario backlog: how long the light stream runs before the backlog
	json         bool
	progress     time.Duration
	chaos        chaosOptions // --scenario chaos
	iso          isoOptions   // --scenario isolation
	history      historyOptions
}

var tenantIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

const usageHead = `hookbench drives load through hookd's public HTTP API and measures it.

  hookbench --start [--scenario single|fanout|latency|publish] [--workers N] [flags]
  hookbench --start --scenario fresh [--duration 60s]
  hookbench --start --scenario backlog [--messages 1000000] [--workers 1]
  hookbench --target http://127.0.0.1:8080 --admin-key hk_... [flags]
  hookbench --scenario chaos [--duration 10m] [--kill-every 3s] [--pg-restarts N]
  hookbench --scenario history [--attempts 50000000] [--days 30] [--tenants 2000] [--keep]
  hookbench --start --scenario isolation [--tenants 100] [--endpoints-per-tenant 10] [--rate 300] [--duration 60s] [--baseline|--no-baseline]

It registers endpoints on its own receiver (127.0.0.1), publishes, waits for
the deliveries, and prints publish rate and latency, end-to-end deliveries/s,
publish→receive latency, duplicates, signature failures, hookd's and
Postgres's CPU per 1k deliveries, hookd's peak RSS and Postgres commits per
delivery. It sends to loopback only. Scenarios:
`

// parseConfig reads the flags. getenv supplies HOOKD_ADMIN_KEY for --target.
func parseConfig(args []string, getenv func(string) string, usage io.Writer) (config, error) {
	fs := flag.NewFlagSet("hookbench", flag.ContinueOnError)
	fs.SetOutput(usage)
	var (
		c            config
		scenarioName string
		messages     int
		rate         float64
		duration     time.Duration
		concurrency  int
		verify       bool
	)
	fs.StringVar(&c.target, "target", "", "base URL of a running hookd, on loopback (e.g. http://127.0.0.1:8080)")
	fs.StringVar(&c.adminKey, "admin-key", "", "admin API key of the --target hookd (default $HOOKD_ADMIN_KEY)")
	fs.BoolVar(&c.start, "start", false, "start hookd dev in a temp dir (own Postgres, free port, generated admin key) instead of --target")
	fs.StringVar(&c.hookd.bin, "hookd-bin", "", "hookd binary for --start (default: go build ./cmd/hookd, run from the hookd repo)")
	fs.BoolVar(&c.hookd.keep, "keep", false, "with --start, keep the temp dir with hookd's data and log")
	fs.DurationVar(&c.hookd.readyTimeout, "ready-timeout", 2*time.Minute, "with --start, how long to wait for GET /readyz to answer 200")
	fs.IntVar(&c.hookdPID, "hookd-pid", 0, "with --target, hookd's pid, for its CPU and peak memory (else not reported)")
	fs.IntVar(&c.postgresPID, "postgres-pid", 0, "postmaster pid: count only that cluster's CPU (default: with --start, hookd's own; else every postgres process)")
	fs.StringVar(&c.databaseURL, "database-url", "", "hookd's Postgres, for commits and WAL per delivery (default with --start: <data-dir>/postgres.url)")
	fs.StringVar(&scenarioName, "scenario", "single", scenarioNames())
	fs.IntVar(&c.endpoints, "endpoints", 0, "endpoints on the receiver, each getting every message (default 1; fanout 100)")
	fs.IntVar(&concurrency, "concurrency", 64, "closed loop: publishers; open loop: most publishes in flight")
	fs.IntVar(&messages, "messages", 0, "closed loop: messages to publish (default 20000; fanout 1000)")
	fs.Float64Var(&rate, "rate", 0, "open loop: publishes per second (default latency 200, publish 500; setting it makes any scenario open-loop)")
	fs.DurationVar(&duration, "duration", 20*time.Second, "open loop: how long to publish; closed loop: a time limit, 10m unless given")
	fs.IntVar(&c.payloadBytes, "payload-bytes", 256, "size of each message's payload")
	fs.BoolVar(&verify, "verify", true, "check signature headers on every delivery and verify the signature on a sample")
	fs.IntVar(&c.verifyEvery, "verify-every", 100, "with --verify, verify the signature of every n-th delivery in full (1: all)")
	fs.DurationVar(&c.drainTimeout, "drain-timeout", 60*time.Second, "after the last publish, how long to wait for the remaining deliveries (isolation: 2m)")
	fs.DurationVar(&c.pgSettle, "pg-settle", 11*time.Second, "with a database URL, wait this long after the run before reading pg_stat_database, which lags up to ~10s")
	fs.StringVar(&c.tenant, "tenant", "", "tenant id to create and use (default hookbench-<time>; deleted at the end with --target)")
	fs.IntVar(&c.workers, "workers", 0, "with --start: run hookd as 1 `hookd serve --role api` and this many `--role worker` processes on a Postgres of their own, instead of hookd dev (backlog: default 1)")
	fs.BoolVar(&c.json, "json", false, "print the report as JSON instead of a table")
	fs.DurationVar(&c.progress, "progress", 5*time.Second, "interval of progress lines on stderr (0: none)")
	fs.DurationVar(&c.chaos.killEvery, "kill-every", 3*time.Second, "chaos: SIGKILL hookd this often")
	fs.IntVar(&c.chaos.pgRestarts, "pg-restarts", 0, "chaos: immediate Postgres restarts over the run (default: one a minute, at least 1)")
	fs.IntVar(&c.iso.tenants, "tenants", 100, "isolation: tenants, iso-<run>-healthy-<t> and iso-<run>-bad-<t>; message i goes to tenant i mod --tenants. history: tenants of the generated history (default 2000)")
	fs.IntVar(&c.iso.perTenant, "endpoints-per-tenant", 10, "isolation: endpoints of each tenant, every one getting each of its messages; the first 10 % (at least 1) are black holes, the next 10 % answer 500")
	fs.BoolVar(&c.iso.onlyHealthy, "baseline", false, "isolation: run only the all-healthy half (default: the all-healthy half, then the one with bad endpoints)")
	fs.BoolVar(&c.iso.onlyBad, "no-baseline", false, "isolation: run only the half with bad endpoints")
	fs.IntVar(&c.history.attempts, "attempts", 50_000_000, "history: about how many attempts to generate")
	fs.IntVar(&c.history.days, "days", 30, "history: over how many daily partitions, ending yesterday")
	fs.Usage = func() {
		fmt.Fprint(usage, usageHead)
		for _, s := range scenarios {
			fmt.Fprintf(usage, "  %-8s %s\n", s.name, s.about)
		}
		fmt.Fprint(usage, "\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	sc, ok := findScenario(scenarioName)
	if !ok {
		return config{}, fmt.Errorf("--scenario %q: want %s", scenarioName, scenarioNames())
	}
	c.scenario = sc
	if sc.name == "history" {
		return historyConfig(c, set)
	}
	for _, f := range []string{"attempts", "days"} {
		if set[f] {
			return config{}, fmt.Errorf("--%s is for --scenario history", f)
		}
	}
	if sc.name != "isolation" {
		for _, f := range []string{"tenants", "endpoints-per-tenant", "baseline", "no-baseline"} {
			if set[f] {
				return config{}, fmt.Errorf("--%s is for --scenario isolation", f)
			}
		}
	}
	if sc.name == "chaos" {
		if set["workers"] {
			return config{}, errors.New("--workers does not go with --scenario chaos, which runs one hookd serve --role all")
		}
		return chaosConfig(c, set, duration, concurrency)
	}
	switch {
	case (sc.name == "fresh" || sc.name == "backlog") && !c.start:
		return config{}, fmt.Errorf("--scenario %s measures a hookd that hookbench starts itself, so it needs --start: a running hookd (--target) is not fresh and its workers cannot be stopped", sc.name)
	case c.workers != 0 && !c.start:
		return config{}, errors.New("--workers is for --start: hookbench starts the api and worker processes itself")
	case c.workers < 0 || c.workers > 16:
		return config{}, fmt.Errorf("--workers %d: want 1 to 16", c.workers)
	case set["workers"] && c.workers == 0:
		return config{}, errors.New("--workers 0: want 1 to 16 (leave it out for hookd dev)")
	case set["workers"] && (sc.name == "fresh" || sc.name == "isolation"):
		return config{}, fmt.Errorf("--workers does not go with --scenario %s, which runs hookd dev", sc.name)
	case sc.name == "backlog" && c.workers == 0:
		c.workers = 1
	}

	// Target.
	switch {
	case c.start && c.target != "":
		return config{}, errors.New("give --start or --target, not both")
	case !c.start && c.target == "":
		return config{}, errors.New("give --target http://127.0.0.1:PORT (with --admin-key) or --start")
	case c.start:
		if set["hookd-pid"] {
			return config{}, errors.New("--hookd-pid is for --target; with --start hookbench knows the pid")
		}
		if set["admin-key"] {
			return config{}, errors.New("--admin-key is for --target; with --start hookbench makes one")
		}
	default:
		u, err := checkLoopbackURL(c.target)
		if err != nil {
			return config{}, fmt.Errorf("--target: %w", err)
		}
		c.target = strings.TrimRight(u.String(), "/")
		for _, f := range []string{"hookd-bin", "keep", "ready-timeout"} {
			if set[f] {
				return config{}, fmt.Errorf("--%s is for --start", f)
			}
		}
		if c.adminKey == "" {
			c.adminKey = getenv("HOOKD_ADMIN_KEY")
		}
		if c.adminKey == "" {
			return config{}, errors.New("--target needs --admin-key (or HOOKD_ADMIN_KEY)")
		}
	}
	if c.hookd.readyTimeout <= 0 || c.hookd.readyTimeout > maxDuration {
		return config{}, fmt.Errorf("--ready-timeout %s: want more than 0 and at most %s", c.hookd.readyTimeout, maxDuration)
	}
	if c.hookdPID < 0 || c.postgresPID < 0 {
		return config{}, errors.New("pids must be positive")
	}

	// Shape of the load.
	if sc.name == "isolation" {
		if err := isolationFlags(&c, set); err != nil {
			return config{}, err
		}
		if !set["duration"] {
			duration = time.Minute
		}
		if !set["drain-timeout"] {
			// Black holes can hold the worker slots for a delivery
			// timeout at a time: a backlog may take a while to go.
			c.drainTimeout = 2 * time.Minute
		}
	} else if !set["endpoints"] {
		c.endpoints = sc.endpoints
	}
	if sc.name == "fresh" || sc.name == "backlog" {
		for _, f := range []string{"endpoints", "rate"} {
			if set[f] {
				return config{}, fmt.Errorf("--%s does not go with --scenario %s (one endpoint, closed loop)", f, sc.name)
			}
		}
	}
	switch sc.name {
	case "fresh":
		if set["messages"] {
			return config{}, errors.New("--messages does not go with --scenario fresh: it publishes for --duration")
		}
		if !set["duration"] {
			duration, set["duration"] = time.Minute, true
		}
		// The closed loop runs for --duration; the cap only sizes the
		// receiver, for two phases.
		messages = min(maxMessages/2, int(duration.Seconds()*20000)+1000)
		set["messages"] = true
	case "backlog":
		c.backlogLight = 10 * time.Second // --duration: the light stream alone, before the backlog
		if set["duration"] {
			if duration <= 0 || duration > maxDuration {
				return config{}, fmt.Errorf("--duration %s: want more than 0 and at most %s", duration, maxDuration)
			}
			c.backlogLight = duration
		}
		duration = maxDuration // the time limit of accepting the backlog
		set["duration"] = true
		if !set["drain-timeout"] {
			c.drainTimeout = maxDuration
		}
	}
	if c.endpoints < 1 || c.endpoints > maxEndpoints {
		return config{}, fmt.Errorf("--endpoints %d: want 1 to %d", c.endpoints, maxEndpoints)
	}
	if concurrency < 1 || concurrency > maxConcurrency {
		return config{}, fmt.Errorf("--concurrency %d: want 1 to %d", concurrency, maxConcurrency)
	}
	if duration <= 0 || duration > maxDuration {
		return config{}, fmt.Errorf("--duration %s: want more than 0 and at most %s", duration, maxDuration)
	}
	if !set["rate"] {
		rate = sc.rate
	}
	p := plan{concurrency: concurrency, duration: duration}
	if rate > 0 || set["rate"] {
		if set["messages"] {
			return config{}, errors.New("--messages is for the closed loop; an open loop sends --rate × --duration")
		}
		if rate <= 0 {
			return config{}, fmt.Errorf("--rate %v: want more than 0", rate)
		}
		p.openLoop, p.rate = true, rate
		if n := openLoopCount(rate, duration); n > maxMessages {
			return config{}, fmt.Errorf("--rate × --duration is %d messages: at most %d", n, maxMessages)
		}
	} else {
		if !set["messages"] {
			messages = sc.messages
		}
		if messages < 1 || messages > maxMessages {
			return config{}, fmt.Errorf("--messages %d: want 1 to %d", messages, maxMessages)
		}
		p.messages = messages
		if !set["duration"] {
			p.duration = maxDuration
		}
	}
	if p.total() < 1 {
		return config{}, errors.New("--rate × --duration is less than one message")
	}
	if d := p.total() * c.endpoints; d > maxDeliveries {
		return config{}, fmt.Errorf("%d messages × %d endpoints = %d deliveries: at most %d", p.total(), c.endpoints, d, maxDeliveries)
	}
	c.plan = p

	if c.payloadBytes < 0 || c.payloadBytes > maxPayloadBytes {
		return config{}, fmt.Errorf("--payload-bytes %d: want 0 to %d", c.payloadBytes, maxPayloadBytes)
	}
	if c.verifyEvery < 1 {
		return config{}, fmt.Errorf("--verify-every %d: want at least 1", c.verifyEvery)
	}
	if !verify {
		c.verifyEvery = 0
	}
	if c.drainTimeout <= 0 || c.drainTimeout > maxDuration {
		return config{}, fmt.Errorf("--drain-timeout %s: want more than 0 and at most %s", c.drainTimeout, maxDuration)
	}
	if c.pgSettle < 0 || c.pgSettle > time.Minute {
		return config{}, fmt.Errorf("--pg-settle %s: want 0 to 1m", c.pgSettle)
	}
	if c.progress < 0 {
		return config{}, fmt.Errorf("--progress %s: want 0 or more", c.progress)
	}
	if c.tenant == "" {
		c.tenant = "hookbench-" + time.Now().UTC().Format("20060102-150405.000")
	}
	if !tenantIDPattern.MatchString(c.tenant) {
		return config{}, fmt.Errorf("--tenant %q: want 1–128 of A-Z a-z 0-9 . _ : -", c.tenant)
	}
	return c, nil
}

// isolationFlags checks the flags of --scenario isolation. Its deliveries
// per message are a tenant's endpoints, which c.endpoints then counts.
func isolationFlags(c *config, set map[string]bool) error {
	for _, f := range []string{"endpoints", "messages", "tenant", "pg-settle"} {
		if set[f] {
			return fmt.Errorf("--%s does not go with --scenario isolation (it has --tenants and --endpoints-per-tenant, and publishes in an open loop)", f)
		}
	}
	o := &c.iso
	if o.tenants < 1 || o.tenants > maxTenants {
		return fmt.Errorf("--tenants %d: want 1 to %d", o.tenants, maxTenants)
	}
	if o.perTenant < 3 || o.perTenant > maxPerTenant {
		return fmt.Errorf("--endpoints-per-tenant %d: want 3 to %d (a black hole, one answering 500, and at least one healthy)", o.perTenant, maxPerTenant)
	}
	if n := o.tenants * o.perTenant; n > maxIsolationEndpoint {
		return fmt.Errorf("--tenants × --endpoints-per-tenant is %d endpoints: at most %d", n, maxIsolationEndpoint)
	}
	if o.onlyHealthy && o.onlyBad {
		return errors.New("give --baseline or --no-baseline, not both")
	}
	o.runID = time.Now().UTC().Format("20060102-150405")
	c.endpoints = o.perTenant
	return nil
}

// chaosConfig checks the flags of --scenario chaos, which starts its own
// Postgres and hookd serve and takes only the flags that shape the chaos.
func chaosConfig(c config, set map[string]bool, duration time.Duration, concurrency int) (config, error) {
	for _, f := range []string{"target", "admin-key", "start", "hookd-pid", "postgres-pid", "database-url", "endpoints",
		"messages", "rate", "tenant", "pg-settle", "ready-timeout"} {
		if set[f] {
			return config{}, fmt.Errorf("--%s does not go with --scenario chaos, which starts its own Postgres and hookd serve", f)
		}
	}
	o := &c.chaos
	o.hookdBin, o.keep, o.duration = c.hookd.bin, c.hookd.keep, duration
	if duration <= 0 || duration > maxDuration {
		return config{}, fmt.Errorf("--duration %s: want more than 0 and at most %s", duration, maxDuration)
	}
	if o.killEvery < time.Second || o.killEvery >= duration {
		return config{}, fmt.Errorf("--kill-every %s: want at least 1s and less than --duration", o.killEvery)
	}
	if !set["pg-restarts"] {
		o.pgRestarts = max(1, int(duration/time.Minute))
	}
	if o.pgRestarts < 0 || o.pgRestarts >= int(duration/o.killEvery) {
		return config{}, fmt.Errorf("--pg-restarts %d: want 0 to fewer than --duration / --kill-every", o.pgRestarts)
	}
	o.publishers = 4
	if set["concurrency"] {
		o.publishers = concurrency
	}
	if o.publishers < 1 || o.publishers > 256 {
		return config{}, fmt.Errorf("--concurrency %d: want 1 to 256 publishers for chaos", o.publishers)
	}
	o.publishPause = 5 * time.Millisecond
	o.drainTimeout = c.drainTimeout
	if o.drainTimeout <= 0 || o.drainTimeout > maxDuration {
		return config{}, fmt.Errorf("--drain-timeout %s: want more than 0 and at most %s", o.drainTimeout, maxDuration)
	}
	o.maxMessages = min(maxMessages, int(duration.Seconds()*2000)+1000)
	o.verifyEvery, o.payloadBytes = 1, min(c.payloadBytes, maxPayloadBytes)
	o.retrySchedule = "1s,1s,2s,2s,5s,5s,10s,10s,10s,10s"
	return c, nil
}

// historyConfig checks --scenario history's flags: its own, --tenants,
// --keep and --json; the rest are about a hookd, which it does not run.
func historyConfig(c config, set map[string]bool) (config, error) {
	for name := range set {
		switch name {
		case "scenario", "attempts", "days", "tenants", "keep", "json":
		default:
			return config{}, fmt.Errorf("--%s does not go with --scenario history, which runs no hookd: it takes --attempts, --days, --tenants, --keep and --json", name)
		}
	}
	o := &c.history
	o.tenants = 2000
	if set["tenants"] {
		o.tenants = c.iso.tenants
	}
	switch {
	case o.attempts < 1000 || o.attempts > 1_000_000_000:
		return config{}, fmt.Errorf("--attempts %d: want 1,000 to 1,000,000,000", o.attempts)
	case o.days < 2 || o.days > 365:
		return config{}, fmt.Errorf("--days %d: want 2 to 365 (the oldest is dropped at the end)", o.days)
	case o.tenants < 1 || o.tenants > 100_000:
		return config{}, fmt.Errorf("--tenants %d: want 1 to 100,000", o.tenants)
	}
	return c, nil
}
