package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// What a new install goes through: a statement prepared while deliveries
// is empty settles on a generic plan that scans the table, and keeps it as
// the table grows, until AnalyzeGrown's ANALYZE makes it plan again, now
// with the primary key.
func TestAnalyzeGrownReplansYoungTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.DB(t)
	st := store.New(pool)
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()

	// The shape of LoadWork's join to messages; the generic plan is the
	// one Postgres keeps after a statement's first five runs.
	_, err = conn.Exec(ctx, `SET plan_cache_mode = force_generic_plan`)
	require.NoError(t, err)
	_, err = conn.Conn().Prepare(ctx, "lookup", `SELECT d.id, m.event_type FROM deliveries d
		JOIN messages m ON m.id = d.message_id WHERE d.id = ANY($1)`)
	require.NoError(t, err)
	ids := []uuid.UUID{store.NewID(), store.NewID()}
	_, err = conn.Exec(ctx, "lookup", ids)
	require.NoError(t, err)
	plan := func() string {
		rows, err := conn.Query(ctx, `EXPLAIN EXECUTE lookup('{`+ids[0].String()+`,`+ids[1].String()+`}')`,
			pgx.QueryExecModeSimpleProtocol)
		require.NoError(t, err)
		var lines []string
		for rows.Next() {
			var l string
			require.NoError(t, rows.Scan(&l))
			lines = append(lines, l)
		}
		require.NoError(t, rows.Err())
		return strings.Join(lines, "\n")
	}
	require.Contains(t, plan(), "Seq Scan on messages", "the generic plan of an empty table")

	// Today's ids (UUIDv7), so that the rows land in today's partitions.
	msgs, dels := make([]uuid.UUID, 50000), make([]uuid.UUID, 50000)
	for i := range msgs {
		msgs[i], dels[i] = store.NewID(), store.NewID()
	}
	_, err = pool.Exec(ctx, `INSERT INTO messages (id, tenant_id, event_type, payload)
		SELECT id, 't', 'a.b', '\x00' FROM unnest($1::uuid[]) AS t(id)`, msgs)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO deliveries (id, tenant_id, message_id, endpoint_id)
		SELECT d, 't', m, gen_random_uuid() FROM unnest($1::uuid[], $2::uuid[]) AS t(d, m)`, dels, msgs)
	require.NoError(t, err)
	require.Contains(t, plan(), "Seq Scan on messages", "grown to 50,000 rows, the plan is still the empty table's")

	// The insert's counts reach pg_stat_user_tables within a second or so.
	var analyzed []string
	require.Eventually(t, func() bool {
		got, err := st.AnalyzeGrown(ctx, store.HotTables, 1000)
		require.NoError(t, err)
		analyzed = append(analyzed, got...)
		return len(analyzed) >= 2
	}, 10*time.Second, 100*time.Millisecond)
	// Today's partitions of both (the tables are partitioned by day).
	var tables []string
	for _, a := range analyzed {
		tables = append(tables, strings.SplitN(strings.TrimPrefix(a, "public."), "_", 2)[0])
	}
	require.ElementsMatch(t, []string{"deliveries", "messages"}, tables, "analyzed: %v", analyzed)
	p := plan()
	require.NotContains(t, p, "Seq Scan", "planned again on the new statistics")
	require.Contains(t, p, "Index Scan")

	again, err := st.AnalyzeGrown(ctx, store.HotTables, 1000)
	require.NoError(t, err)
	require.Empty(t, again, "nothing changed since")
}
