// Package migrations holds hookd's schema and applies it: our own SQL files
// first, then River's tables through rivermigrate.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed *.sql
var files embed.FS

// lockID is the advisory lock that serialises concurrent migrators, so that
// several `hookd serve` processes starting at once do not race.
const lockID = 0x686f6f6b64 // "hookd"

// Config tunes Migrate. The zero value migrates into the connection's
// search_path (public by default) and logs nothing.
type Config struct {
	// Schema is the Postgres schema that holds hookd's tables and River's
	// (HOOKD_SCHEMA). Migrate creates it when it does not exist and applies
	// every migration inside it, whatever the pool's search_path. "" means
	// the schema the connection's search_path creates in, as before there
	// was a choice.
	Schema string
	// Logger receives a line per applied migration; nil discards.
	Logger *slog.Logger
}

// Migrate applies every migration not yet applied, ours then River's. It is
// safe to run concurrently from several processes.
func Migrate(ctx context.Context, pool *pgxpool.Pool, cfg Config) error {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lockID); err != nil {
		return fmt.Errorf("take migration lock: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", lockID) //nolint:errcheck // released with the session anyway

	if cfg.Schema != "" {
		if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{cfg.Schema}.Sanitize()); err != nil {
			return fmt.Errorf("create schema %s: %w", cfg.Schema, err)
		}
	}
	if err := applyOurs(ctx, conn.Conn(), cfg.Schema, logger); err != nil {
		return err
	}
	// River qualifies every table it touches with Schema ("" = the
	// search_path's), so its migrations land next to ours.
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: logger, Schema: cfg.Schema})
	if err != nil {
		return fmt.Errorf("river migrator: %w", err)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	for _, v := range res.Versions {
		logger.Info("applied river migration", "version", v.Version)
	}
	return nil
}

// applyOurs applies our SQL files in schema ("" = the search_path's). The
// files name their tables without a schema, so each runs in a transaction
// whose search_path is schema alone; set_config(..., true) lasts until the
// transaction ends, and the pooled connection goes back as it came.
func applyOurs(ctx context.Context, conn *pgx.Conn, schema string, logger *slog.Logger) error {
	inSchema := func(tx pgx.Tx) error {
		if schema == "" {
			return nil
		}
		_, err := tx.Exec(ctx, "SELECT set_config('search_path', $1, true)", pgx.Identifier{schema}.Sanitize())
		return err
	}
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := inSchema(tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS hookd_migrations (
		version text PRIMARY KEY,
		applied_at timestamptz NOT NULL DEFAULT now())`)
		return err
	})
	if err != nil {
		return fmt.Errorf("create hookd_migrations: %w", err)
	}
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(name, ".sql")
		body, err := files.ReadFile(name)
		if err != nil {
			return fmt.Errorf("read migration %s: %w", name, err)
		}
		var done bool
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if err := inSchema(tx); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx,
				"SELECT EXISTS (SELECT 1 FROM hookd_migrations WHERE version = $1)", version).Scan(&done); err != nil || done {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO hookd_migrations (version) VALUES ($1)", version)
			return err
		})
		if err != nil {
			return fmt.Errorf("apply migration %s: %w", version, err)
		}
		if !done {
			logger.Info("applied migration", "version", version)
		}
	}
	// The history's daily partitions (0013): from yesterday (for app
	// clocks a little behind) to a few days ahead, so that a fresh install
	// or one whose workers were down for days can write at once. The
	// periodic job of delivery keeps them ahead afterwards.
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := inSchema(tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT hookd_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 1, $1)`, PartitionDaysAhead+2)
		return err
	})
	if err != nil {
		return fmt.Errorf("create partitions: %w", err)
	}
	return nil
}

// PartitionDaysAhead is how many days after today have their partitions of
// the history created in advance (store.PartitionDaysAhead, which the
// periodic job uses, is the same number).
const PartitionDaysAhead = 3

// Names lists the migration files in the order they apply.
func Names() []string {
	names, _ := fs.Glob(files, "*.sql")
	sort.Strings(names)
	return names
}

// Fingerprint is the concatenated content of every migration, for callers
// that cache a migrated database and must notice a changed schema.
func Fingerprint() []byte {
	var out []byte
	for _, name := range Names() {
		b, _ := files.ReadFile(name)
		out = append(out, b...)
	}
	return out
}
