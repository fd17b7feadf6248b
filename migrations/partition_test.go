package migrations_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/migrations"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// TestPartitionExistingDatabase upgrades a database that has a history in
// the tables as they were before 0013: its rows stay readable in the
// legacy partitions, the pair and idempotency rules still hold for them,
// new rows go to the daily partitions, and retention deletes the legacy
// in batches, then drops it.
func TestPartitionExistingDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const schema = "before_0013"
	cfg, err := pgxpool.ParseConfig(storetest.URL(t))
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)

	// The schema as 0001 to 0012 made it, with a history in it.
	_, err = pool.Exec(ctx, `CREATE SCHEMA `+schema+`;
		CREATE TABLE hookd_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`)
	require.NoError(t, err)
	names, err := filepath.Glob("*.sql")
	require.NoError(t, err)
	for _, name := range names {
		if name >= "0013" {
			break
		}
		body, err := os.ReadFile(name)
		require.NoError(t, err)
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO hookd_migrations (version) VALUES ($1)`, strings.TrimSuffix(name, ".sql"))
			return err
		})
		require.NoError(t, err, name)
	}
	old := time.Now().Add(-40 * 24 * time.Hour)
	oldID := func(at time.Time) uuid.UUID {
		u := store.NewID()
		ms := uint64(at.UnixMilli())
		for i := range 6 {
			u[i] = byte(ms >> (40 - 8*i))
		}
		return u
	}
	msg, pendingMsg, recentMsg := oldID(old), oldID(old), oldID(time.Now().Add(-time.Hour))
	endpoint := uuid.New()
	delivery := oldID(old.Add(time.Second))
	_, err = pool.Exec(ctx, `INSERT INTO tenants (id) VALUES ('t1');
		INSERT INTO endpoints (id, tenant_id, url) VALUES ('`+endpoint.String()+`', 't1', 'http://127.0.0.1:9/');`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO messages (id, tenant_id, event_type, payload, idempotency_key)
		VALUES ($1, 't1', 'a', '{}', 'key-1'), ($2, 't1', 'a', '{}', NULL), ($3, 't1', 'a', '{}', NULL)`,
		msg, pendingMsg, recentMsg)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO deliveries (id, tenant_id, message_id, endpoint_id, status)
		VALUES ($1, 't1', $2, $4, 'failed'), ($5, 't1', $3, $4, 'pending')`,
		delivery, msg, pendingMsg, endpoint, oldID(old.Add(time.Second)))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO attempts (id, tenant_id, delivery_id, message_id, endpoint_id, attempt,
			trigger, status, url, started_at)
		VALUES ($1, 't1', $2, $3, $4, 1, 'scheduled', 'failed', 'http://127.0.0.1:9/', $5)`,
		oldID(old.Add(2*time.Second)), delivery, msg, endpoint, old)
	require.NoError(t, err)

	require.NoError(t, migrations.Migrate(ctx, pool, migrations.Config{Schema: schema}))
	st := store.New(pool)

	parts, err := st.Partitions(ctx)
	require.NoError(t, err)
	legacy := map[string]bool{}
	days := 0
	for _, p := range parts {
		if p.Legacy() {
			legacy[p.Table] = true
			require.True(t, p.Until().After(time.Now()), "the legacy partition holds every id made before the migration")
		} else if p.Table == "messages" {
			days++
		}
	}
	require.Len(t, legacy, 4, "messages, deliveries, attempts and payloads each keep their rows")
	require.GreaterOrEqual(t, days, store.PartitionDaysAhead, "days ahead have their partitions")

	// The old history reads as before.
	m, err := st.GetMessage(ctx, "t1", msg)
	require.NoError(t, err)
	require.Equal(t, "key-1", m.IdempotencyKey)
	ds, err := st.MessageDeliveries(ctx, "t1", msg)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, delivery, ds[0].ID)
	as, _, err := st.ListAttempts(ctx, "t1", store.AttemptFilter{MessageID: msg}, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, as, 1)

	// An old pair is not delivered twice, an old key returns its message.
	made, err := st.InsertDeliveries(ctx, []store.NewDelivery{{TenantID: "t1", MessageID: msg, EndpointID: endpoint}})
	require.NoError(t, err)
	require.Empty(t, made, "the legacy partition's unique index still guards old messages")
	again, existed, err := st.InsertMessage(ctx, store.Message{TenantID: "t1", EventType: "a", Payload: []byte(`{}`),
		IdempotencyKey: "key-1"})
	require.NoError(t, err)
	require.True(t, existed)
	require.Equal(t, msg, again.ID)

	// A new message and its delivery go to today's partition, once.
	fresh := storetest.Message(t, st, "t1", "a")
	made, err = st.InsertDeliveries(ctx, []store.NewDelivery{{TenantID: "t1", MessageID: fresh.ID, EndpointID: endpoint},
		{TenantID: "t1", MessageID: fresh.ID, EndpointID: endpoint}})
	require.NoError(t, err)
	require.Equal(t, []uuid.UUID{store.DeliveryID(fresh.ID, endpoint)}, made)
	var dWhere, mWhere string
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT tableoid::regclass::text FROM deliveries WHERE id = $1),
		(SELECT tableoid::regclass::text FROM messages WHERE id = $2)`, made[0], fresh.ID).Scan(&dWhere, &mWhere))
	require.Equal(t, strings.Replace(mWhere, "messages", "deliveries", 1), dWhere, "a delivery is in its message's partition")
	_, err = st.EnsurePartitions(ctx, time.Now().Add(96*time.Hour), 1)
	require.NoError(t, err)
	later, _, err := st.InsertMessage(ctx, store.Message{ID: oldID(time.Now().Add(96 * time.Hour)), TenantID: "t1",
		EventType: "a", Payload: []byte(`{}`)})
	require.NoError(t, err)
	require.NoError(t, pool.QueryRow(ctx, `SELECT tableoid::regclass::text FROM messages WHERE id = $1`, later.ID).Scan(&mWhere))
	require.Equal(t, "messages_p"+time.Now().Add(96*time.Hour).UTC().Format("20060102"), mWhere, "after the legacy's range, a daily partition")

	// Retention: the legacy's expired rows go in batches (the message with
	// a pending delivery stays), then, once its whole range has expired,
	// the legacy partitions are dropped.
	for {
		n, err := st.DeleteExpired(ctx, time.Now().Add(-30*24*time.Hour), 1)
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	_, err = st.GetMessage(ctx, "t1", msg)
	require.ErrorIs(t, err, store.ErrNotFound)
	_, err = st.GetMessage(ctx, "t1", pendingMsg)
	require.NoError(t, err)
	_, err = st.GetMessage(ctx, "t1", recentMsg)
	require.NoError(t, err)
	dropped, err := st.DropExpiredPartitions(ctx, time.Now().Add(-30*24*time.Hour), 0)
	require.NoError(t, err)
	require.Empty(t, dropped, "the legacy partition still holds unexpired rows")
	dropped, err = st.DropExpiredPartitions(ctx, time.Now().Add(60*time.Hour), 0)
	require.NoError(t, err)
	require.Contains(t, dropped, "messages_legacy")
	require.Contains(t, dropped, "deliveries_legacy")
	_, err = st.GetMessage(ctx, "t1", fresh.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "with a cutoff after it, today's rows went with the legacy")
	_, err = st.GetMessage(ctx, "t1", later.ID)
	require.NoError(t, err, "a partition past the cutoff stays")
}

// TestFreshInstallStartsInDailyPartitions migrates an empty schema: the
// legacy partitions 0013 made are cut back to yesterday (0014), and
// today's first message and delivery land in today's partitions, the
// delivery's with its fillfactor.
func TestFreshInstallStartsInDailyPartitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.InSchema(t, storetest.URL(t), "fresh_0014") // migrated, as a new install is

	// The legacy partitions are empty and end at yesterday's midnight.
	st := store.New(pool)
	parts, err := st.Partitions(ctx)
	require.NoError(t, err)
	yesterday := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -1)
	legacy := 0
	for _, p := range parts {
		if p.Legacy() {
			legacy++
			require.True(t, yesterday.Equal(p.Until()), "%s ends at %s", p.Name, p.Until())
		}
	}
	require.Equal(t, 4, legacy)

	tn := storetest.Tenant(t, st, nil)
	e := storetest.Endpoint(t, st, tn.ID, nil)
	m := storetest.Message(t, st, tn.ID, "a")
	d := storetest.Delivery(t, st, tn.ID, m.ID, e.ID)
	var mWhere, dWhere string
	var options []string
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT tableoid::regclass::text FROM messages WHERE id = $1),
		(SELECT tableoid::regclass::text FROM deliveries WHERE id = $2),
		(SELECT reloptions FROM pg_class WHERE oid = (SELECT tableoid FROM deliveries WHERE id = $2))`,
		m.ID, d.ID).Scan(&mWhere, &dWhere, &options))
	day := time.Now().UTC().Format("20060102")
	require.Equal(t, "messages_p"+day, mWhere)
	require.Equal(t, "deliveries_p"+day, dWhere)
	require.Contains(t, options, "fillfactor=80")

	// Queries by message still find the message's deliveries (their upper
	// bound used the legacy's).
	ds, err := st.MessageDeliveries(ctx, tn.ID, m.ID)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, d.ID, ds[0].ID)
}

// TestWideColumnsHaveNoStatistics: after the migrations, ANALYZE leaves
// out the history's wide columns (0016), in the partitions that existed
// and in those made later, and keeps the columns queries filter on.
func TestWideColumnsHaveNoStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := storetest.InSchema(t, storetest.URL(t), "stats_0016")
	st := store.New(pool)
	later := time.Date(2090, 1, 1, 0, 0, 0, 0, time.UTC)
	made, err := st.EnsurePartitions(ctx, later, 1)
	require.NoError(t, err)
	require.Equal(t, 4, made)

	target := func(table, column string) int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(attstattarget, -1) FROM pg_attribute
			WHERE attrelid = to_regclass($1) AND attname = $2`, table, column).Scan(&n))
		return n
	}
	today := time.Now().UTC().Format("20060102")
	for _, table := range []string{"attempts", "attempts_p" + today, "attempts_p20900101"} {
		for _, column := range []string{"request_headers", "response_headers", "timings", "response_body", "error", "url", "remote_addr"} {
			require.Zero(t, target(table, column), "%s.%s", table, column)
		}
		require.Equal(t, -1, target(table, "delivery_id"), "%s.delivery_id", table)
	}
	for _, table := range []string{"messages", "messages_p" + today, "messages_p20900101", "message_payloads_p20900101"} {
		require.Zero(t, target(table, "payload"), "%s.payload", table)
	}
	require.Equal(t, -1, target("deliveries_p20900101", "status"))

	// An analyzed partition has statistics for the narrow columns only.
	_, err = pool.Exec(ctx, `INSERT INTO attempts_p20900101 (id, tenant_id, delivery_id, message_id, endpoint_id,
			attempt, trigger, status, url, request_headers, started_at)
		SELECT hookd_v7_at_ms(hookd_v7_ms(hookd_v7_floor($1)) + g), 't', gen_random_uuid(), gen_random_uuid(), gen_random_uuid(),
			1, 'scheduled', 'succeeded', 'http://127.0.0.1:1/', jsonb_build_object('n', g), now()
		FROM generate_series(1, 100) g`, later)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `ANALYZE attempts_p20900101`)
	require.NoError(t, err)
	rows, err := pool.Query(ctx, `SELECT attname::text FROM pg_stats WHERE schemaname = 'stats_0016'
		AND tablename = 'attempts_p20900101' ORDER BY 1`)
	require.NoError(t, err)
	analyzed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, analyzed, "delivery_id")
	require.Contains(t, analyzed, "message_id")
	require.NotContains(t, analyzed, "request_headers")
	require.NotContains(t, analyzed, "url")
}
