package migrations_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/migrations"
	"github.com/hookd/hookd/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// tablesIn lists the tables of schema.
func tablesIn(t *testing.T, pool *pgxpool.Pool, schema string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		`SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1`, schema)
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		var name string
		require.NoError(t, rows.Scan(&name))
		out = append(out, name)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestMigrateIntoSchema migrates hookd twice into two schemas of one
// database, from a pool whose search_path is the default: each schema gets
// all of hookd's tables and River's, and the pool's connections keep their
// own search_path.
func TestMigrateIntoSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, storetest.URL(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	public := tablesIn(t, pool, "public")
	require.Contains(t, public, "messages", "the test database has hookd in public already")

	for _, schema := range []string{"hooks_a", "hooks_b"} {
		require.NoError(t, migrations.Migrate(ctx, pool, migrations.Config{Schema: schema}))
		require.NoError(t, migrations.Migrate(ctx, pool, migrations.Config{Schema: schema}), "again: nothing to do")
		require.Equal(t, public, tablesIn(t, pool, schema), "the same tables as a migration into public")
		var versions int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.hookd_migrations`).Scan(&versions))
		require.Len(t, migrations.Names(), versions)
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM `+schema+`.river_migration`).Scan(&versions))
		require.Positive(t, versions)
	}
	require.Equal(t, public, tablesIn(t, pool, "public"), "public is untouched")

	// Every connection the migrations used still resolves names as it did.
	conns := pool.AcquireAllIdle(ctx)
	require.NotEmpty(t, conns)
	paths := make([]string, len(conns))
	for i, c := range conns {
		err := c.QueryRow(ctx, "SHOW search_path").Scan(&paths[i])
		c.Release() // before any require: pool.Close waits for acquired connections
		require.NoError(t, err)
	}
	for _, path := range paths {
		require.Equal(t, `"$user", public`, path)
	}
}
