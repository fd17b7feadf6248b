package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/migrations"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/localpg"
)

// Files kept in the dev data dir, beside the cluster's pg/ directory.
const (
	devLockFile      = "hookd.lock"   // flock'ed while hookd dev runs; holds its pid
	devAdminKeyFile  = "admin_key"    // the generated admin key, reused on the next run
	devSecretKeyFile = "secret_key"   // the key that encrypts signing secrets at rest
	devPGURLFile     = "postgres.url" // the database's URL while hookd dev runs, for hookbench
	devDatabase      = "hookd"        // the database created in the private cluster
	devPGDir         = "pg"           // the cluster's data dir
	adminKeyPrefix   = "hk_admin_"    // generated admin keys start with this
)

func runDev(ctx context.Context, a cmdArgs) error {
	fs := newFlagSet("dev", "dev [--addr 127.0.0.1:8080] [--data-dir ./.hookd]",
		`Runs hookd for local work: API, web pages and delivery workers on one port.
Without DATABASE_URL it starts a private Postgres from the Postgres binaries on
this machine and keeps its data under --data-dir, so the next run finds it
again. Ctrl-C stops hookd and its Postgres. Deliveries may go to loopback
(127.0.0.0/8, ::1) as well as public addresses; HOOKD_ALLOW_NETWORKS adds more.`)
	// The banner says what matters; logs below warn are asked for with
	// HOOKD_LOG_LEVEL.
	getenv := func(k string) string {
		if k == "HOOKD_LOG_LEVEL" {
			return cmp.Or(a.getenv(k), "warn")
		}
		return a.getenv(k)
	}
	e, err := loadEnv(getenv, a.stderr)
	if err != nil {
		return err
	}
	addr := fs.String("addr", cmp.Or(e.Addr, "127.0.0.1:8080"), "`address` to serve on (HOOKD_ADDR)")
	dataDir := fs.String("data-dir", "./.hookd", "`directory` for the private Postgres, the admin key and the lock file")
	if err := fs.parse(a.args, a.stdout); err != nil {
		return err
	}
	logger := e.Logger
	// A receiver on this machine must get deliveries in dev.
	e.AllowNetworks = append(e.AllowNetworks, delivery.LoopbackNetworks()...)
	tp, stopTracing, err := startTracing(ctx, a.getenv, logger)
	if err != nil {
		return err
	}
	defer stopTracing()

	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", *dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	release, err := lockDataDir(filepath.Join(dir, devLockFile), dir)
	if err != nil {
		return err
	}
	defer release()

	adminKey, keyFrom, err := devAdminKey(e.AdminKey, dir)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", *addr, errors.Unwrap(err))
	}
	defer ln.Close()

	var cluster *localpg.Cluster
	databaseURL, dbDesc := e.DatabaseURL, "DATABASE_URL"
	if databaseURL == "" {
		fmt.Fprintf(a.stderr, "starting Postgres in %s ...\n", filepath.Join(dir, devPGDir))
		cluster, err = localpg.Start(ctx, localpg.Options{DataDir: filepath.Join(dir, devPGDir), Logger: logger})
		if err != nil {
			return err // localpg's errors are sentences for the user
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				logger.Error("stop postgres", "err", err)
			}
		}()
		if err := createDatabase(ctx, cluster.URL("postgres"), devDatabase); err != nil {
			return err
		}
		databaseURL = cluster.URL(devDatabase)
		dbDesc = fmt.Sprintf("private Postgres on 127.0.0.1:%d, log %s", cluster.Port(), cluster.LogPath())
	}
	urlPath := filepath.Join(dir, devPGURLFile)
	if err := os.WriteFile(urlPath, []byte(databaseURL+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", urlPath, err)
	}
	defer os.Remove(urlPath)

	pool, err := e.openPool(ctx, databaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	hot, err := openHotPool(ctx, pool)
	if err != nil {
		return err
	}
	defer hot.Close()
	if err := migrations.Migrate(ctx, pool, migrations.Config{Schema: e.Schema, Logger: logger}); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	secretKey, err := devSecretKey(e.SecretKey, dir)
	if err != nil {
		return err
	}
	cipher, err := cipherOf(secretKey, "the secret key")
	if err != nil {
		return err
	}
	if err := sealHeaders(ctx, store.New(pool).WithCipher(cipher), logger); err != nil {
		return err
	}
	base := baseURL(ln.Addr())
	if e.PublicURL != "" {
		base = strings.TrimRight(e.PublicURL, "/")
	}
	link, err := devPortalLink(ctx, store.New(pool), base)
	if err != nil {
		return err
	}
	srv, svc, err := newServer(pool, hot, e, cipher, adminKey, roleAll, tp)
	if err != nil {
		return err
	}
	// Not ctx: cancelling River's context would cancel running attempts;
	// shutdown stops it gracefully instead.
	if err := svc.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	// The banner goes out before serving starts, so that whoever sees hookd
	// answer has the banner already; the socket is bound, so an early
	// connection just waits in the backlog.
	printBanner(a.stdout, base, adminKey, keyFrom, dir, dbDesc, link)
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	var pgDone <-chan struct{}
	if cluster != nil {
		pgDone = cluster.Done()
	}
	var runErr error
	select {
	case <-ctx.Done():
		a.stopSignals() // a second Ctrl-C ends the process at once
		fmt.Fprintln(a.stderr, "\nstopping hookd (Ctrl-C again to force) ...")
	case err := <-serveErr:
		runErr = fmt.Errorf("http server: %w", err)
	case <-pgDone:
		runErr = fmt.Errorf("postgres stopped unexpectedly; see %s", cluster.LogPath())
	}
	shutdown(srv, svc, logger)
	if cluster != nil && runErr == nil {
		fmt.Fprintln(a.stderr, "stopping Postgres ...")
	}
	return runErr
}

// devAdminKey returns the admin key for hookd dev and where it came from:
// fromEnv when set, else the one kept in dir, else a new one that it keeps
// there for the next run.
func devAdminKey(fromEnv, dir string) (key, from string, err error) {
	if fromEnv != "" {
		return fromEnv, "from HOOKD_ADMIN_KEY", nil
	}
	return keptKey(filepath.Join(dir, devAdminKeyFile), "admin key", newAdminKey)
}

// devSecretKey returns the key that encrypts secrets at rest: fromEnv when
// set, else the one kept in dir, else a new one that it keeps there.
func devSecretKey(fromEnv, dir string) (string, error) {
	if fromEnv != "" {
		return fromEnv, nil
	}
	key, _, err := keptKey(filepath.Join(dir, devSecretKeyFile), "secret key", store.GenerateKey)
	return key, err
}

// keptKey returns the key kept in the file at path, or a new one from
// generate that it keeps there (mode 0600), and says which.
func keptKey(path, what string, generate func() (string, error)) (key, from string, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil && strings.TrimSpace(string(b)) != "":
		return strings.TrimSpace(string(b)), "kept in " + path, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", "", fmt.Errorf("read %s: %w", what, err)
	}
	if key, err = generate(); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("keep %s: %w", what, err)
	}
	return key, "generated, kept in " + path, nil
}

// newAdminKey returns hk_admin_ and 32 random bytes in unpadded base64url.
func newAdminKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate admin key: %w", err)
	}
	return adminKeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// createDatabase creates database name on the server at serverURL unless
// it exists.
func createDatabase(ctx context.Context, serverURL, name string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connect to private Postgres: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("look for database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// baseURL is the http URL to reach a listener at addr, with 127.0.0.1 for
// an unspecified address.
func baseURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// printBanner tells the person at the terminal where hookd is and how to
// try it.
// devTenant is the demo tenant that hookd dev makes so that the printed
// portal link has someone to log in as.
const devTenant = "acme"

// devPortalLink makes sure the demo tenant exists and mints a portal link
// for it, valid for an hour.
func devPortalLink(ctx context.Context, st *store.Store, base string) (string, error) {
	if _, err := st.GetTenant(ctx, devTenant); errors.Is(err, store.ErrNotFound) {
		if _, _, err := st.UpsertTenant(ctx, store.Tenant{ID: devTenant, Name: "Acme"}); err != nil {
			return "", fmt.Errorf("create the demo tenant: %w", err)
		}
	} else if err != nil {
		return "", err
	}
	link, _, err := api.NewPortalLink(ctx, st, base, devTenant, time.Hour)
	if err != nil {
		return "", fmt.Errorf("mint a portal link: %w", err)
	}
	return link, nil
}

func printBanner(w io.Writer, base, adminKey, keyFrom, dataDir, dbDesc, portalLink string) {
	auth := fmt.Sprintf(`-H 'Authorization: Bearer %s' -H 'Content-Type: application/json'`, adminKey)
	fmt.Fprintf(w, `
hookd is running at %s  (version %s)

  admin key  %s
             (%s)
  data dir   %s
  database   %s

  customer portal of the demo tenant "acme" (single use, valid for an hour):
  %s

  operator console (log in with the admin key):
  %s/console

Try it from another terminal:

  # 1. define an event type
  curl -sS -X POST %s/api/v1/event-types %s \
    -d '{"name":"invoice.paid","description":"An invoice was paid"}'

  # 2. create a tenant (one of your customers; "acme" exists already)
  curl -sS -X PUT %s/api/v1/tenants/acme %s \
    -d '{"name":"Acme"}'

  # 3. add an endpoint for it (point it at a receiver of yours)
  curl -sS -X POST %s/api/v1/tenants/acme/endpoints %s \
    -d '{"url":"http://127.0.0.1:9000/webhook"}'

  # 4. publish a message: hookd signs it and POSTs it to the endpoint
  curl -sS -X POST %s/api/v1/tenants/acme/messages %s \
    -d '{"event_type":"invoice.paid","payload":{"id":"inv_1"}}'

Press Ctrl-C to stop.
`, base, Version(), adminKey, keyFrom, dataDir, dbDesc, portalLink, base,
		base, auth, base, auth, base, auth, base, auth)
}
