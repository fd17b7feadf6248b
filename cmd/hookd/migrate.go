package main

import (
	"context"
	"fmt"

	"github.com/hookd/hookd/migrations"
)

func runMigrate(ctx context.Context, a cmdArgs) error {
	fs := newFlagSet("migrate", "migrate",
		`Applies hookd's migrations and then River's to the Postgres at DATABASE_URL.
It is safe to run while other hookd processes run or migrate: migrations take
a lock and apply once. hookd serve also migrates on start unless --no-migrate.`)
	e, err := loadEnv(a.getenv, a.stderr)
	if err != nil {
		return err
	}
	if err := fs.parse(a.args, a.stdout); err != nil {
		return err
	}
	if e.DatabaseURL == "" {
		return usageErrorf("DATABASE_URL is not set; hookd migrate needs the URL of a Postgres 14+ database, like postgres://user:password@host:5432/hookd")
	}
	e.MaxConns = 4 // one holds the migration lock, River's migrator uses others
	pool, err := e.openPool(ctx, e.DatabaseURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrations.Migrate(ctx, pool, migrations.Config{Schema: e.Schema, Logger: e.Logger}); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	fmt.Fprintln(a.stdout, "the database is up to date (hookd's and River's migrations applied)")
	return nil
}
