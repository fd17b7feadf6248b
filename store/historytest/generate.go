// Package historytest fills a hookd database with a large generated history
// (messages, deliveries and attempts across daily partitions, made in SQL
// with generate_series) and explains the queries that read it: the
// portal's delivery log, the message page and the console's lists. The
// store's test runs it at a few hundred thousand attempts; hookbench's
// history scenario runs it at tens of millions.
package historytest

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/store"
)

// Opts sizes the generated history. Zero fields mean the defaults.
type Opts struct {
	// Attempts is about how many attempts to make (300,000): each message
	// has EndpointsPerTenant deliveries; one message in ten failed at its
	// first endpoint after three attempts, every other delivery succeeded
	// at the first.
	Attempts int
	// Days is over how many days, ending yesterday, they spread (4): one
	// partition of each table per day.
	Days int
	// Tenants is how many tenants publish ("h0", "h1", ...; 50), each
	// with EndpointsPerTenant endpoints (2), of which one in five is
	// failing.
	Tenants            int
	EndpointsPerTenant int
	// Logf, when set, is told of each step and how long it took.
	Logf func(format string, args ...any)
}

func (o Opts) withDefaults() Opts {
	if o.Attempts <= 0 {
		o.Attempts = 300_000
	}
	if o.Days <= 0 {
		o.Days = 4
	}
	if o.Tenants <= 0 {
		o.Tenants = 50
	}
	if o.EndpointsPerTenant <= 0 {
		o.EndpointsPerTenant = 2
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

// attemptsPerDelivery is the mean number of attempts of a delivery: one
// message in ten failed at its first endpoint, after three attempts.
func (o Opts) attemptsPerDelivery() float64 { return 1 + 0.2/float64(o.EndpointsPerTenant) }

// Generated describes what Generate made.
type Generated struct {
	Opts       Opts
	First      time.Time // the UTC midnight the first day starts at
	Messages   int
	Deliveries int
	Attempts   int
	Took       time.Duration
}

// Tenant is the id of the i-th generated tenant.
func Tenant(i int) string { return fmt.Sprintf("h%d", i) }

// Generate fills the database of pool with a history of o's size. The
// database must hold no history yet (a freshly migrated one): its legacy
// partitions, which cover every day before the migration, are dropped so
// that each generated day has partitions of its own.
func Generate(ctx context.Context, pool *pgxpool.Pool, o Opts) (Generated, error) {
	o = o.withDefaults()
	start := time.Now()
	today := time.Now().UTC().Truncate(24 * time.Hour)
	g := Generated{Opts: o, First: today.AddDate(0, 0, -o.Days)}
	for _, table := range []string{"attempts", "deliveries", "message_payloads", "messages"} {
		var rows bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+`)`).Scan(&rows); err != nil {
			return g, fmt.Errorf("look at %s: %w", table, err)
		}
		if rows {
			return g, fmt.Errorf("the database has %s already: historytest needs a freshly migrated one", table)
		}
		if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS `+table+`_legacy`); err != nil {
			return g, fmt.Errorf("drop legacy partition of %s: %w", table, err)
		}
	}
	// Nothing is left below the first day: the bound that queries by
	// message put on the legacy partition's deliveries moves there.
	if _, err := pool.Exec(ctx, `CREATE OR REPLACE FUNCTION hookd_legacy_upper() RETURNS uuid LANGUAGE sql IMMUTABLE
		AS 'SELECT hookd_v7_at_ms(`+fmt.Sprint(g.First.UnixMilli())+`)'`); err != nil {
		return g, fmt.Errorf("move the legacy bound: %w", err)
	}
	st := store.New(pool)
	if _, err := st.EnsurePartitions(ctx, g.First, o.Days+1+store.PartitionDaysAhead); err != nil {
		return g, err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO tenants (id, name) SELECT 'h' || i, 'History ' || i
		FROM generate_series(0, $1 - 1) i ON CONFLICT (id) DO NOTHING`, o.Tenants); err != nil {
		return g, fmt.Errorf("generate tenants: %w", err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO endpoints (id, tenant_id, url, failing_since, last_error, last_failure_at)
		SELECT md5('hist-ep-' || i || '-' || k)::uuid, 'h' || i, 'http://127.0.0.1:9/h' || i || '/' || k,
			CASE WHEN (i * $2 + k) % 5 = 0 THEN now() - interval '2 days' END,
			CASE WHEN (i * $2 + k) % 5 = 0 THEN 'HTTP 500' ELSE '' END,
			CASE WHEN (i * $2 + k) % 5 = 0 THEN now() - interval '1 hour' END
		FROM generate_series(0, $1 - 1) i, generate_series(0, $2 - 1) k ON CONFLICT (id) DO NOTHING`,
		o.Tenants, o.EndpointsPerTenant); err != nil {
		return g, fmt.Errorf("generate endpoints: %w", err)
	}
	perDay := max(int(float64(o.Attempts)/o.attemptsPerDelivery()/float64(o.EndpointsPerTenant)/float64(o.Days)), 1)
	for d := range o.Days {
		t := time.Now()
		dayMS := g.First.AddDate(0, 0, d).UnixMilli()
		m, dl, a, err := generateDay(ctx, pool, o, dayMS, int64(d)*int64(perDay), perDay)
		if err != nil {
			return g, err
		}
		g.Messages, g.Deliveries, g.Attempts = g.Messages+m, g.Deliveries+dl, g.Attempts+a
		o.Logf("day %d/%d: %d messages, %d deliveries, %d attempts in %s", d+1, o.Days, m, dl, a,
			time.Since(t).Round(time.Millisecond))
	}
	// What the partition job and autovacuum do to days that are over: the
	// index of failed deliveries, the visibility map (so that it answers
	// counts alone) and the statistics.
	t := time.Now()
	if _, err := st.IndexSettledPartitions(ctx, today); err != nil {
		return g, err
	}
	o.Logf("indexed failed deliveries in %s", time.Since(t).Round(time.Millisecond))
	t = time.Now()
	if _, err := pool.Exec(ctx, `VACUUM (ANALYZE) deliveries`); err != nil {
		return g, fmt.Errorf("vacuum: %w", err)
	}
	if _, err := pool.Exec(ctx, `ANALYZE messages, attempts, endpoints, tenants`); err != nil {
		return g, fmt.Errorf("analyze: %w", err)
	}
	o.Logf("vacuum and analyze in %s", time.Since(t).Round(time.Millisecond))
	g.Took = time.Since(start)
	return g, nil
}

// The generated ids are UUIDv7 of the row's millisecond: 12 hex digits of
// time, "7", 3 digits of a small number, "8", and 15 digits of the
// message's sequence number, so that every id is unique and falls in its
// day's partition. A message's tenant is its sequence number modulo the
// tenants; its deliveries go to each of the tenant's endpoints.
const genSeries = `WITH g AS (
		SELECT s, $1::bigint + (s * (86400000 - 60000) / $2::bigint) AS ms, 'h' || ((s + $3) % $4) AS tenant,
			(s + $3) % $4 AS ti, lpad(to_hex(s + $3), 15, '0') AS tail, (s + $3) / $4 % 10 = 3 AS fail
		FROM generate_series(0, $2::bigint - 1) s
	)`

func generateDay(ctx context.Context, pool *pgxpool.Pool, o Opts, dayMS, base int64, n int) (int, int, int, error) {
	args := []any{dayMS, n, base, o.Tenants, o.EndpointsPerTenant}
	tag, err := pool.Exec(ctx, genSeries+`
		INSERT INTO messages (id, tenant_id, event_type, payload, channels, created_at)
		SELECT (lpad(to_hex(ms), 12, '0') || '7' || lpad(to_hex(s % 4096), 3, '0') || '8' || tail)::uuid, tenant,
			(ARRAY['invoice.paid', 'invoice.created', 'customer.updated', 'order.shipped'])[1 + s % 4],
			convert_to('{"n":' || s || ',"note":"generated by historytest"}', 'UTF8'),
			CASE WHEN s % 3 = 0 THEN '{eu}'::text[] ELSE '{}' END,
			to_timestamp(ms / 1000.0)
		FROM g WHERE $5::int > 0`, args...)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("generate messages: %w", err)
	}
	messages := int(tag.RowsAffected())
	tag, err = pool.Exec(ctx, genSeries+`
		INSERT INTO deliveries (id, tenant_id, message_id, endpoint_id, status, attempts, next_attempt_at,
			last_status_code, created_at, updated_at)
		SELECT (lpad(to_hex(ms), 12, '0') || '7' || lpad(to_hex(k), 3, '0') || '8' || tail)::uuid, tenant,
			(lpad(to_hex(ms), 12, '0') || '7' || lpad(to_hex(s % 4096), 3, '0') || '8' || tail)::uuid,
			md5('hist-ep-' || ti || '-' || k)::uuid,
			CASE WHEN fail AND k = 0 THEN 'failed' ELSE 'succeeded' END,
			CASE WHEN fail AND k = 0 THEN 3 ELSE 1 END, NULL,
			CASE WHEN fail AND k = 0 THEN 500 ELSE 200 END,
			to_timestamp(ms / 1000.0), to_timestamp(ms / 1000.0) + interval '10 minutes'
		FROM g, generate_series(0, $5::int - 1) k`, args...)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("generate deliveries: %w", err)
	}
	deliveries := int(tag.RowsAffected())
	// Attempt n of a delivery starts (n-1) * 5 s after its message, so
	// that all of a day's attempts stay in its partition.
	tag, err = pool.Exec(ctx, genSeries+`
		INSERT INTO attempts (id, tenant_id, delivery_id, message_id, endpoint_id, attempt, trigger, status,
			status_code, response_headers, response_body, url, duration_ms, started_at)
		SELECT (lpad(to_hex(ms + 100 + (n - 1) * 5000), 12, '0') || '7' || lpad(to_hex(k * 16 + n), 3, '0') || '8' || tail)::uuid,
			tenant,
			(lpad(to_hex(ms), 12, '0') || '7' || lpad(to_hex(k), 3, '0') || '8' || tail)::uuid,
			(lpad(to_hex(ms), 12, '0') || '7' || lpad(to_hex(s % 4096), 3, '0') || '8' || tail)::uuid,
			md5('hist-ep-' || ti || '-' || k)::uuid, n, 'scheduled',
			CASE WHEN fail AND k = 0 THEN 'failed' ELSE 'succeeded' END,
			CASE WHEN fail AND k = 0 THEN 500 ELSE 200 END,
			'{"Content-Type": ["application/json"]}',
			CASE WHEN fail AND k = 0 THEN convert_to('{"error":"boom"}', 'UTF8') ELSE convert_to('{"ok":true}', 'UTF8') END,
			'http://127.0.0.1:9/h' || ti || '/' || k, 12,
			to_timestamp((ms + (n - 1) * 5000) / 1000.0)
		FROM g, generate_series(0, $5::int - 1) k,
			generate_series(1, CASE WHEN fail AND k = 0 THEN 3 ELSE 1 END) n`, args...)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("generate attempts: %w", err)
	}
	return messages, deliveries, int(tag.RowsAffected()), nil
}

// DropFirstDay is the retention of one day: it drops, as the retention job
// does, the partitions of the first generated day (a cutoff at its end),
// and returns their names and how long that took.
func DropFirstDay(ctx context.Context, pool *pgxpool.Pool, g Generated) ([]string, time.Duration, error) {
	t := time.Now()
	dropped, err := store.New(pool).DropExpiredPartitions(ctx, g.First.AddDate(0, 0, 1), time.Second)
	return dropped, time.Since(t), err
}
