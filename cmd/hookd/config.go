package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/web"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; when
// it is not, the module version from the build info is used.
var version = ""

// Version returns hookd's version: the one set at build time, else the
// module's, else "devel".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// defaultMaxConns is the pool size of serve, dev and replay unless
// HOOKD_DB_MAX_CONNS or pool_max_conns in DATABASE_URL says otherwise.
const defaultMaxConns = 20

// env is hookd's configuration from HOOKD_* variables and DATABASE_URL.
// Zero values mean the libraries' defaults.
type env struct {
	Addr        string // HOOKD_ADDR
	AdminKey    string // HOOKD_ADMIN_KEY
	DatabaseURL string // DATABASE_URL
	Schedule    delivery.Schedule
	MaxPayload  int64 // HOOKD_MAX_PAYLOAD_BYTES
	Workers     int   // HOOKD_WORKERS
	// NoDirect is HOOKD_DIRECT_ATTEMPTS=false: every delivery waits for
	// River's fetch (delivery.Config.NoDirect).
	NoDirect bool
	MaxConns int32 // HOOKD_DB_MAX_CONNS
	// Schema is the Postgres schema of hookd's tables and River's
	// (HOOKD_SCHEMA); "" = the connection's search_path, public unless the
	// URL says otherwise.
	Schema string
	// AllowNetworks are the private prefixes deliveries may reach anyway
	// (HOOKD_ALLOW_NETWORKS).
	AllowNetworks []netip.Prefix
	// SecretKey encrypts signing secrets at rest (HOOKD_SECRET_KEY, base64
	// of 32 bytes); "" when not set.
	SecretKey string
	// Retention is how long messages and attempts are kept
	// (HOOKD_RETENTION); negative keeps them forever, 0 the default.
	Retention time.Duration
	// HTTPSOnly refuses http:// endpoint URLs (HOOKD_HTTPS_ONLY).
	HTTPSOnly bool
	// PublicURL is where users reach hookd, for portal links
	// (HOOKD_PUBLIC_URL); "" = the scheme and host of the request.
	PublicURL string
	// PortalSessionTTL is how long a portal login lasts
	// (HOOKD_PORTAL_SESSION_TTL); 0 = 7 days.
	PortalSessionTTL time.Duration
	// Brand is the portal's look (HOOKD_PORTAL_PRODUCT_NAME,
	// HOOKD_PORTAL_LOGO_URL, HOOKD_PORTAL_ACCENT_COLOR) and the sites that
	// may embed it (HOOKD_PORTAL_EMBED_ORIGINS, in Brand.EmbedOrigins).
	Brand web.Config
	// Isolation and health (HOOKD_MAX_IN_FLIGHT, HOOKD_CIRCUIT_THRESHOLD,
	// HOOKD_FAILING_AFTER, HOOKD_DISABLE_AFTER, HOOKD_MAX_PARKED,
	// HOOKD_FAIR_SHARE); zero values are delivery's defaults.
	MaxInFlight, CircuitThreshold, MaxParked, FairShare int
	FailingAfter, DisableAfter                          time.Duration
	// ReadTimeout is how long a client has to send a whole request,
	// headers and body (HOOKD_READ_TIMEOUT); 0 = defaultReadTimeout.
	ReadTimeout time.Duration
	// MaxEndpointsPerTenant is HOOKD_MAX_ENDPOINTS_PER_TENANT; 0 = the
	// API's default.
	MaxEndpointsPerTenant int
	// TestSendsPerMinute is HOOKD_TEST_SENDS_PER_MINUTE; 0 = the API's
	// default.
	TestSendsPerMinute int
	Logger             *slog.Logger
}

// defaultReadTimeout is how long a client has to send a request: a 1 MiB
// publish needs about 35 KB/s.
const defaultReadTimeout = 30 * time.Second

// loadEnv reads the environment through getenv. A bad value is an error
// with exit code 2 that names the variable.
func loadEnv(getenv func(string) string, logOut io.Writer) (env, error) {
	e := env{
		Addr:        strings.TrimSpace(getenv("HOOKD_ADDR")),
		AdminKey:    strings.TrimSpace(getenv("HOOKD_ADMIN_KEY")),
		DatabaseURL: strings.TrimSpace(getenv("DATABASE_URL")),
	}
	if v := getenv("HOOKD_RETRY_SCHEDULE"); v != "" {
		s, err := delivery.ParseSchedule(v)
		if err != nil {
			return env{}, usageErrorf("HOOKD_RETRY_SCHEDULE is not valid: %v", err)
		}
		e.Schedule = s
	}
	if v := getenv("HOOKD_MAX_PAYLOAD_BYTES"); v != "" {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n <= 0 {
			return env{}, usageErrorf("HOOKD_MAX_PAYLOAD_BYTES is %q; give a number of bytes greater than zero, like 1048576", v)
		}
		e.MaxPayload = n
	}
	if v := getenv("HOOKD_WORKERS"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n <= 0 || n > 10000 {
			return env{}, usageErrorf("HOOKD_WORKERS is %q; give how many deliveries to attempt at once, from 1 to 10000", v)
		}
		e.Workers = n
	}
	if v := getenv("HOOKD_DB_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 2 || n > math.MaxInt32 {
			return env{}, usageErrorf("HOOKD_DB_MAX_CONNS is %q; give a number of connections, 2 or more", v)
		}
		e.MaxConns = int32(n)
	}
	if v := strings.TrimSpace(getenv("HOOKD_SCHEMA")); v != "" {
		if !schemaPattern.MatchString(v) || strings.HasPrefix(v, "pg_") {
			return env{}, usageErrorf("HOOKD_SCHEMA is %q; give a Postgres schema name of 1 to %d lowercase letters, digits and _, starting with a letter or _ and not with pg_, like hookd", v, maxSchemaLen)
		}
		e.Schema = v
	}
	if v := getenv("HOOKD_ALLOW_NETWORKS"); v != "" {
		nets, err := delivery.ParseAllowNetworks(v)
		if err != nil {
			return env{}, usageErrorf("HOOKD_ALLOW_NETWORKS is not valid: %v", err)
		}
		e.AllowNetworks = nets
	}
	if v := getenv("HOOKD_DIRECT_ATTEMPTS"); v != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return env{}, usageErrorf("HOOKD_DIRECT_ATTEMPTS is %q; use true or false", v)
		}
		e.NoDirect = !b
	}
	e.SecretKey = strings.TrimSpace(getenv("HOOKD_SECRET_KEY"))
	if v := getenv("HOOKD_HTTPS_ONLY"); v != "" {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return env{}, usageErrorf("HOOKD_HTTPS_ONLY is %q; use true or false", v)
		}
		e.HTTPSOnly = b
	}
	if v := strings.TrimSpace(getenv("HOOKD_RETENTION")); v != "" {
		if v == "0" || v == "forever" {
			e.Retention = -1
		} else if d, err := parseDays(v); err != nil || d <= 0 {
			return env{}, usageErrorf("HOOKD_RETENTION is %q; give a duration like 30d or 720h, or forever", v)
		} else {
			e.Retention = d
		}
	}
	e.PublicURL = strings.TrimSpace(getenv("HOOKD_PUBLIC_URL"))
	if e.PublicURL != "" && !strings.HasPrefix(e.PublicURL, "http://") && !strings.HasPrefix(e.PublicURL, "https://") {
		return env{}, usageErrorf("HOOKD_PUBLIC_URL is %q; give the URL users reach hookd at, like https://hooks.example.com", e.PublicURL)
	}
	if v := getenv("HOOKD_PORTAL_SESSION_TTL"); v != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			return env{}, usageErrorf("HOOKD_PORTAL_SESSION_TTL is %q; give a duration like 168h", v)
		}
		e.PortalSessionTTL = d
	}
	if v := getenv("HOOKD_READ_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 || d > time.Hour {
			return env{}, usageErrorf("HOOKD_READ_TIMEOUT is %q; give a duration up to 1h, like 30s", v)
		}
		e.ReadTimeout = d
	}
	if v := getenv("HOOKD_MAX_ENDPOINTS_PER_TENANT"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 1_000_000 {
			return env{}, usageErrorf("HOOKD_MAX_ENDPOINTS_PER_TENANT is %q; give how many endpoints one tenant may have, from 1 to 1000000", v)
		}
		e.MaxEndpointsPerTenant = n
	}
	if v := getenv("HOOKD_TEST_SENDS_PER_MINUTE"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 10000 {
			return env{}, usageErrorf("HOOKD_TEST_SENDS_PER_MINUTE is %q; give how many test events one endpoint may be sent a minute, from 1 to 10000", v)
		}
		e.TestSendsPerMinute = n
	}
	e.Brand = web.Config{
		ProductName: strings.TrimSpace(getenv("HOOKD_PORTAL_PRODUCT_NAME")),
		LogoURL:     strings.TrimSpace(getenv("HOOKD_PORTAL_LOGO_URL")),
		AccentColor: strings.TrimSpace(getenv("HOOKD_PORTAL_ACCENT_COLOR")),
	}
	origins, err := parseEmbedOrigins(getenv("HOOKD_PORTAL_EMBED_ORIGINS"))
	if err != nil {
		return env{}, err
	}
	e.Brand.EmbedOrigins = origins
	if err := e.Brand.Validate(); err != nil {
		return env{}, usageErrorf("HOOKD_PORTAL_*: %v", err)
	}
	for _, n := range []struct {
		name     string
		dst      *int
		min, max int
		what     string
	}{
		{"HOOKD_MAX_IN_FLIGHT", &e.MaxInFlight, 1, 1000, "attempts of one endpoint at once per process"},
		{"HOOKD_CIRCUIT_THRESHOLD", &e.CircuitThreshold, 1, 1000, "consecutive failures that open an endpoint's circuit"},
		{"HOOKD_MAX_PARKED", &e.MaxParked, 1, 10_000_000, "deliveries a disabled endpoint keeps parked"},
		{"HOOKD_FAIR_SHARE", &e.FairShare, 1, 1_000_000, "publishes per second a tenant makes before others go first"},
	} {
		if v := strings.TrimSpace(getenv(n.name)); v != "" {
			i, err := strconv.Atoi(v)
			if err != nil || i < n.min || i > n.max {
				return env{}, usageErrorf("%s is %q; give the number of %s, from %d to %d", n.name, v, n.what, n.min, n.max)
			}
			*n.dst = i
		}
	}
	if v := strings.TrimSpace(getenv("HOOKD_FAILING_AFTER")); v != "" {
		d, err := parseDays(v)
		if err != nil || d <= 0 {
			return env{}, usageErrorf("HOOKD_FAILING_AFTER is %q; give a duration like 1h or 30m", v)
		}
		e.FailingAfter = d
	}
	if v := strings.TrimSpace(getenv("HOOKD_DISABLE_AFTER")); v != "" {
		if v == "0" {
			e.DisableAfter = -1 // never
		} else if d, err := parseDays(v); err != nil || d <= 0 {
			return env{}, usageErrorf("HOOKD_DISABLE_AFTER is %q; give a duration like 5d or 120h, or 0 to never disable", v)
		} else {
			e.DisableAfter = d
		}
	}
	logger, err := newLogger(getenv("HOOKD_LOG_LEVEL"), getenv("HOOKD_LOG_FORMAT"), logOut)
	if err != nil {
		return env{}, err
	}
	e.Logger = logger
	return e, nil
}

// parseEmbedOrigins reads HOOKD_PORTAL_EMBED_ORIGINS: origins separated by
// commas, each as web.ParseOrigin takes it.
func parseEmbedOrigins(v string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(v, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		o, err := web.ParseOrigin(part)
		if err != nil {
			return nil, usageErrorf("HOOKD_PORTAL_EMBED_ORIGINS is not valid: %v; list the origins of the pages that may "+
				"embed the portal, separated by commas, like https://app.example.com,https://admin.example.com", err)
		}
		out = append(out, o)
	}
	return out, nil
}

// maxSchemaLen is the longest HOOKD_SCHEMA: River names its notification
// channels <schema>.river_leadership, and a channel name has at most 63
// bytes.
const maxSchemaLen = 63 - len(".river_leadership")

// schemaPattern is what HOOKD_SCHEMA may be: a name Postgres keeps as it
// is, unquoted or quoted, so that psql, River and hookd agree on it.
var schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,` + fmt.Sprint(maxSchemaLen-1) + `}$`)

// newLogger builds the slog logger from HOOKD_LOG_LEVEL and
// HOOKD_LOG_FORMAT.
func newLogger(level, format string, out io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if level != "" {
		if err := lv.UnmarshalText([]byte(strings.TrimSpace(level))); err != nil {
			return nil, usageErrorf("HOOKD_LOG_LEVEL is %q; use debug, info, warn or error", level)
		}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "", "text":
		return slog.New(slog.NewTextHandler(out, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(out, opts)), nil
	default:
		return nil, usageErrorf("HOOKD_LOG_FORMAT is %q; use text or json", format)
	}
}

// deliveryConfig is the delivery service's config for this process. The
// private-address guard is on; it lets e.AllowNetworks through.
func (e env) deliveryConfig(runWorkers bool) delivery.Config {
	return delivery.Config{
		Schedule:         e.Schedule,
		AllowNetworks:    e.AllowNetworks,
		Workers:          e.Workers,
		NoDirect:         e.NoDirect,
		RunWorkers:       runWorkers,
		Retention:        e.Retention,
		MaxInFlight:      e.MaxInFlight,
		MaxParked:        e.MaxParked,
		FairShare:        e.FairShare,
		FailingAfter:     e.FailingAfter,
		DisableAfter:     e.DisableAfter,
		Version:          Version(),
		CircuitThreshold: e.CircuitThreshold,
		Schema:           e.Schema,
		Logger:           e.Logger,
	}
}

// openPool connects to databaseURL and checks that Postgres answers. The
// pool has e.MaxConns connections, else pool_max_conns from the URL, else
// defaultMaxConns. With e.Schema, every connection's search_path is that
// schema alone: hookd's SQL names its tables (and River's, which it reads)
// without a schema, and finds them there.
func (e env) openPool(ctx context.Context, databaseURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, usageErrorf("DATABASE_URL is not a valid Postgres URL: %v", errors.Unwrap(err))
	}
	if e.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{e.Schema}.Sanitize()
	}
	switch {
	case e.MaxConns > 0:
		cfg.MaxConns = e.MaxConns
	case !strings.Contains(databaseURL, "pool_max_conns"):
		cfg.MaxConns = defaultMaxConns
	}
	store.ConfigurePool(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to Postgres: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		where := net.JoinHostPort(cfg.ConnConfig.Host, strconv.Itoa(int(cfg.ConnConfig.Port)))
		return nil, fmt.Errorf("cannot reach Postgres at %s (database %q): %w", where, cfg.ConnConfig.Database, rootCause(err))
	}
	return pool, nil
}

// openHotPool opens the pool of the hot path (store.HotPoolConfig) next to
// pool, with half its connections: hookd opens up to one and a half times
// HOOKD_DB_MAX_CONNS (or pool_max_conns) in all.
func openHotPool(ctx context.Context, pool *pgxpool.Pool) (*pgxpool.Pool, error) {
	cfg := store.HotPoolConfig(pool.Config())
	cfg.MaxConns = max(2, pool.Config().MaxConns/2)
	hot, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to Postgres: %w", err)
	}
	return hot, nil
}

// rootCause is the innermost error of err's chain, which for a failed
// connection says why (connection refused, password authentication failed)
// in one line where pgx lists every address it tried.
func rootCause(err error) error {
	for {
		var next error
		switch e := err.(type) { //nolint:errorlint // walking the chain by hand
		case interface{ Unwrap() error }:
			next = e.Unwrap()
		case interface{ Unwrap() []error }:
			if errs := e.Unwrap(); len(errs) > 0 {
				next = errs[0]
			}
		}
		if next == nil {
			return err
		}
		err = next
	}
}

// exitError is an error that sets the process's exit code. Its message is
// a sentence for the person at the terminal.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErrorf is a mistake in flags or environment: exit code 2.
func usageErrorf(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// exitCode is the process exit code for err: 0 for nil, the code of an
// *exitError, else 1.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := errors.AsType[*exitError](err); ok {
		return ee.code
	}
	return 1
}

// flagSet is one subcommand's flags. It prints nothing by itself: parse
// turns a mistake into one sentence and -h into the help.
type flagSet struct {
	*flag.FlagSet
	synopsis string // after "usage: hookd "
	about    string // a paragraph under the synopsis
}

func newFlagSet(name, synopsis, about string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, synopsis: synopsis, about: about}
}

// errHelp means -h was asked for and the help has been printed.
var errHelp = errors.New("help printed")

// parse parses args. -h prints the help to stdout and returns errHelp; any
// other mistake is one sentence with exit code 2. Positional arguments are
// refused.
func (fs *flagSet) parse(args []string, stdout io.Writer) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.printUsage(stdout)
		return errHelp
	}
	if err != nil {
		return usageErrorf("hookd %s: %v (see hookd %s -h)", fs.Name(), err, fs.Name())
	}
	if fs.NArg() > 0 {
		return usageErrorf("hookd %s takes no arguments, got %q (see hookd %s -h)", fs.Name(), fs.Arg(0), fs.Name())
	}
	return nil
}

func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: hookd %s\n\n%s\n\nflags:\n", fs.synopsis, fs.about)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// cipher builds the secrets cipher from key (HOOKD_SECRET_KEY's form).
func cipherOf(key, from string) (*store.Cipher, error) {
	raw, err := store.ParseKey(key)
	if err != nil {
		return nil, usageErrorf("%s is not a valid secret key: %v", from, err)
	}
	c, err := store.NewCipher(raw)
	if err != nil {
		return nil, usageErrorf("%s: %v", from, err)
	}
	return c, nil
}
