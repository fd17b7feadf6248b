// Package storetest gives tests a real Postgres: TEST_DATABASE_URL when set,
// else a throwaway cluster started once per test binary from the local
// Postgres binaries. Each test gets its own database cloned from a migrated
// template (DB), or a transaction rolled back at its end (Tx).
package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/migrations"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/localpg"
)

var (
	setupOnce sync.Once
	setupErr  error
	serverURL string // URL of the server's maintenance database
	template  string
	cluster   *localpg.Cluster
	tmpDir    string
	dbSeq     atomic.Int64
)

// Main runs a package's tests and stops the throwaway cluster afterwards.
// Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain that has more to clean up: it runs the tests,
// stops the throwaway cluster and returns the exit code.
func Run(m *testing.M) int {
	code := m.Run()
	if sharedPool != nil {
		sharedPool.Close()
		dropDatabase(sharedName)
	}
	if cluster != nil {
		_ = cluster.Stop()
	}
	if tmpDir != "" {
		_ = os.RemoveAll(tmpDir)
	}
	return code
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	serverURL = os.Getenv("TEST_DATABASE_URL")
	if serverURL == "" {
		dir, err := os.MkdirTemp("", "hookd-test-pg-")
		if err != nil {
			return fmt.Errorf("temp dir: %w", err)
		}
		tmpDir = dir
		c, err := localpg.Start(ctx, localpg.Options{DataDir: dir + "/data", Fast: true})
		if err != nil {
			return fmt.Errorf("start throwaway postgres: %w", err)
		}
		cluster = c
		serverURL = c.URL("postgres")
	}
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return fmt.Errorf("connect %s: %w", redact(serverURL), err)
	}
	defer conn.Close(ctx)

	// The template's name carries a hash of the migrations, so a changed
	// schema gets a new template even on a long-lived TEST_DATABASE_URL,
	// and the day, so that its daily partitions of the history (which
	// Migrate makes from yesterday to a few days ahead) cover today.
	template = "hookd_tmpl_" + migrationsHash() + "_" + time.Now().UTC().Format("20060102")
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(7707)"); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock(7707)") //nolint:errcheck // session ends anyway
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", template).Scan(&exists); err != nil {
		return fmt.Errorf("check template: %w", err)
	}
	if exists {
		return nil
	}
	building := template + "_building"
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+building)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return fmt.Errorf("create template: %w", err)
	}
	pool, err := pgxpool.New(ctx, withDB(serverURL, building))
	if err != nil {
		return fmt.Errorf("connect template: %w", err)
	}
	err = migrations.Migrate(ctx, pool, migrations.Config{})
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, "ALTER DATABASE "+building+" RENAME TO "+template); err != nil {
		return fmt.Errorf("rename template: %w", err)
	}
	return nil
}

func migrationsHash() string {
	h := sha256.New()
	for _, name := range migrations.Names() {
		h.Write([]byte(name))
	}
	h.Write(migrations.Fingerprint())
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparseable url)"
	}
	return p.Redacted()
}

func withDB(u, db string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.Path = "/" + db
	return p.String()
}

func ensure(t testing.TB) {
	t.Helper()
	setupOnce.Do(func() { setupErr = setup() })
	if setupErr != nil {
		t.Fatalf("storetest: %v", setupErr)
	}
}

// URL returns the URL of a fresh, migrated database of the test's own,
// dropped when the test ends.
func URL(t testing.TB) string {
	t.Helper()
	ensure(t)
	ctx := context.Background()
	name := fmt.Sprintf("hookd_t%d_%d", os.Getpid(), dbSeq.Add(1))
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		t.Fatalf("storetest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template+" STRATEGY FILE_COPY"); err != nil {
		// STRATEGY needs Postgres 15; older servers copy files anyway.
		if !strings.Contains(err.Error(), "STRATEGY") {
			if _, err2 := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template); err2 != nil {
				t.Fatalf("storetest: create database: %v", err2)
			}
		} else {
			t.Fatalf("storetest: create database: %v", err)
		}
	}
	t.Cleanup(func() { dropDatabase(name) })
	return withDB(serverURL, name)
}

func dropDatabase(name string) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

// DB returns a pool on a fresh, migrated database of the test's own.
func DB(t testing.TB) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(URL(t))
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	cfg.MaxConns = 20
	store.ConfigurePool(cfg)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("storetest: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

var (
	sharedOnce sync.Once
	sharedPool *pgxpool.Pool
	sharedName string
	sharedErr  error
)

// Tx returns a transaction on a database shared by the package's tests,
// rolled back when the test ends, so nothing it writes is seen by others.
func Tx(t testing.TB) pgx.Tx {
	t.Helper()
	sharedOnce.Do(func() {
		u := URL(&noCleanup{TB: t})
		if p, err := url.Parse(u); err == nil {
			sharedName = strings.TrimPrefix(p.Path, "/")
		}
		sharedPool, sharedErr = pgxpool.New(context.Background(), u)
	})
	if sharedErr != nil {
		t.Fatalf("storetest: shared pool: %v", sharedErr)
	}
	tx, err := sharedPool.Begin(context.Background())
	if err != nil {
		t.Fatalf("storetest: begin: %v", err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

// Store returns a Store whose statements run in a rolled-back transaction.
func Store(t testing.TB) *store.Store {
	t.Helper()
	return store.New(nil).WithTx(Tx(t))
}

// noCleanup keeps the shared database alive past the first test that asks
// for it; the cluster goes away with the test binary.
type noCleanup struct{ testing.TB }

func (noCleanup) Cleanup(func()) {}

// InSchema migrates hookd's tables and River's into schema of the database
// at url, as HOOKD_SCHEMA does, and returns a pool whose search_path is
// that schema alone (as cmd/hookd's), closed when the test ends. The
// database's public schema keeps whatever it had: a URL from URL has
// hookd's tables there too, so a query that misses the schema finds the
// wrong tables rather than none.
func InSchema(t testing.TB, url, schema string) *pgxpool.Pool {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	cfg.MaxConns = 20
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	store.ConfigurePool(cfg)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatalf("storetest: pool: %v", err)
	}
	t.Cleanup(pool.Close)
	if err := migrations.Migrate(context.Background(), pool, migrations.Config{Schema: schema}); err != nil {
		t.Fatalf("storetest: migrate into schema %s: %v", schema, err)
	}
	return pool
}
