package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/migrations"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/web"
)

// Roles of a serve process.
const (
	roleAPI    = "api"    // the REST API and web pages; inserts jobs, works none
	roleWorker = "worker" // works jobs; serves only /healthz, /readyz, /metrics
	roleAll    = "all"    // both
)

const (
	shutdownHTTP    = 5 * time.Second  // how long in-flight requests get on shutdown
	shutdownWorkers = 10 * time.Second // how long running attempts get on shutdown
)

func runServe(ctx context.Context, a cmdArgs) error {
	fs := newFlagSet("serve", "serve [--addr :8080] [--role api|worker|all] [--no-migrate]",
		`Runs hookd in production on the Postgres at DATABASE_URL. Any number of serve
processes can share one database: run API nodes (--role api) and worker nodes
(--role worker) apart to scale them apart, or both in one (--role all).
HOOKD_ADMIN_KEY is required for the roles that serve the API.`)
	e, err := loadEnv(a.getenv, a.stderr)
	if err != nil {
		return err
	}
	addr := fs.String("addr", cmp.Or(e.Addr, ":8080"), "`address` to serve on (HOOKD_ADDR)")
	role := fs.String("role", roleAll, "what this process does: `api`, worker or all")
	noMigrate := fs.Bool("no-migrate", false, "do not apply migrations on start (run hookd migrate instead)")
	if err := fs.parse(a.args, a.stdout); err != nil {
		return err
	}
	switch *role {
	case roleAPI, roleWorker, roleAll:
	default:
		return usageErrorf("--role is %q; use api, worker or all", *role)
	}
	if e.DatabaseURL == "" {
		return usageErrorf("DATABASE_URL is not set; hookd serve needs the URL of a Postgres 14+ database, like postgres://user:password@host:5432/hookd")
	}
	if e.SecretKey == "" {
		return usageErrorf("HOOKD_SECRET_KEY is not set; hookd serve encrypts endpoint secrets at rest with it. Make one with 'hookd gen-secret-key' (or 'openssl rand -base64 32') and keep it safe: without it the stored secrets cannot be read")
	}
	cipher, err := cipherOf(e.SecretKey, "HOOKD_SECRET_KEY")
	if err != nil {
		return err
	}
	if e.AdminKey == "" && *role != roleWorker {
		return usageErrorf("HOOKD_ADMIN_KEY is not set; hookd serve --role %s needs the admin key that API clients send as 'Authorization: Bearer <key>'", *role)
	}
	logger := e.Logger
	tp, stopTracing, err := startTracing(ctx, a.getenv, logger)
	if err != nil {
		return err
	}
	defer stopTracing() // after shutdown: the last attempts' spans go too

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", *addr, errors.Unwrap(err))
	}
	defer ln.Close()

	pool, err := e.openPool(ctx, e.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	hot, err := openHotPool(ctx, pool)
	if err != nil {
		return err
	}
	defer hot.Close()
	if !*noMigrate {
		if err := migrations.Migrate(ctx, pool, migrations.Config{Schema: e.Schema, Logger: logger}); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}

	if err := store.New(pool).WithCipher(cipher).CheckSecretKey(ctx); err != nil {
		return fmt.Errorf("HOOKD_SECRET_KEY does not open the secrets stored in this database (was it changed without 'hookd rotate-secret-key'?): %w", err)
	}
	if err := sealHeaders(ctx, store.New(pool).WithCipher(cipher), logger); err != nil {
		return err
	}
	srv, svc, err := newServer(pool, hot, e, cipher, e.AdminKey, *role, tp)
	if err != nil {
		return err
	}
	// Not ctx: cancelling River's context would cancel running attempts;
	// shutdown stops it gracefully instead.
	if err := svc.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	logger.Info("hookd serving", "version", Version(), "addr", ln.Addr().String(), "role", *role)

	var runErr error
	select {
	case <-ctx.Done():
		a.stopSignals() // a second signal ends the process at once
		logger.Info("stopping hookd")
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
	}
	shutdown(srv, svc, logger)
	return runErr
}

// newServer builds the delivery service and the HTTP server for a process
// of the given role. Workers run unless the role is api; a worker serves
// only /healthz, /readyz and /metrics. hot, when not nil, is the hot
// path's pool (openHotPool).
func newServer(pool, hot *pgxpool.Pool, e env, cipher *store.Cipher, adminKey, role string, tp trace.TracerProvider) (*http.Server, *delivery.Service, error) {
	st := store.New(pool).WithCipher(cipher)
	if hot != nil {
		st = st.WithHotPool(hot)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	dcfg := e.deliveryConfig(role != roleAPI)
	dcfg.Registry = reg
	dcfg.TracerProvider = tp
	svc, err := delivery.New(pool, st, dcfg)
	if err != nil {
		return nil, nil, fmt.Errorf("delivery: %w", err)
	}
	h := api.New(api.Config{
		Store:            st,
		Delivery:         svc,
		AdminKey:         adminKey,
		FailingAfter:     e.FailingAfter,
		Logger:           e.Logger,
		MaxPayloadBytes:  e.MaxPayload,
		HTTPSOnly:        e.HTTPSOnly,
		Version:          Version(),
		Registry:         reg,
		TracerProvider:   tp,
		Web:              web.Handler(e.Brand),
		PublicURL:        e.PublicURL,
		PortalSessionTTL: e.PortalSessionTTL,
		Branding: api.Branding{ProductName: e.Brand.ProductName, LogoURL: e.Brand.LogoURL,
			AccentColor: e.Brand.AccentColor},
		PortalEmbedOrigins:    e.Brand.EmbedOrigins,
		MaxEndpointsPerTenant: e.MaxEndpointsPerTenant,
		TestSendsPerMinute:    e.TestSendsPerMinute,
	})
	if role == roleWorker {
		h = probesOnly(h)
	}
	return httpServer(h, e), svc, nil
}

// httpServer is the HTTP server of serve and dev. A client has
// e.ReadTimeout to send a whole request, headers and body: a slow body
// cannot hold a connection (and a handler reading it) for longer. The API
// refuses an unauthenticated request before reading its body. Writing the
// answer (handler time included) gets twice that, at least a minute.
func httpServer(h http.Handler, e env) *http.Server {
	read := cmp.Or(e.ReadTimeout, defaultReadTimeout)
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, read),
		ReadTimeout:       read,
		WriteTimeout:      max(2*read, time.Minute),
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(e.Logger.Handler(), slog.LevelWarn),
	}
}

// probesOnly passes the health, readiness and metrics routes to h and
// answers 404 to everything else.
func probesOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			h.ServeHTTP(w, r)
		default:
			http.Error(w, "this hookd runs as a worker (--role worker): it serves only /healthz, /readyz and /metrics", http.StatusNotFound)
		}
	})
}

// shutdown stops taking requests, letting in-flight ones finish, then stops
// the workers, letting running attempts finish for a while.
func shutdown(srv *http.Server, svc *delivery.Service, logger *slog.Logger) {
	httpCtx, cancel := context.WithTimeout(context.Background(), shutdownHTTP)
	defer cancel()
	if err := srv.Shutdown(httpCtx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	workCtx, cancel := context.WithTimeout(context.Background(), shutdownWorkers)
	defer cancel()
	if err := svc.Stop(workCtx); err != nil {
		logger.Warn("stop workers", "err", err)
	}
}
