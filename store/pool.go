package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"
)

// ConfigurePool readies cfg's connections for hookd's statements: uuid.UUID
// values (and slices of them, which every batched statement passes) are
// encoded and scanned by pgx's binary uuid codec. Without it pgx goes
// through uuid.UUID's driver.Valuer, as text, found by reflection for each
// element: under load that was a tenth of hookd's CPU. A pool that is not
// configured (one a PublishTx caller brings) works all the same, slower.
//
// It also turns Postgres's JIT compilation off for them, unless the
// connection string sets jit. Postgres compiles a plan whose estimated
// cost passes jit_above_cost, on every execution, and the generic plans
// of the hot path can pass it once a day's partitions hold a hundred
// thousand rows: a backlog then drained at a third of its rate, Postgres
// busy compiling (perf showed LLVM in the backends), for statements that
// run in a millisecond.
func ConfigurePool(cfg *pgxpool.Config) {
	if _, set := cfg.ConnConfig.RuntimeParams["jit"]; !set {
		cfg.ConnConfig.RuntimeParams["jit"] = "off"
	}
	prev := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		pgxuuid.Register(c.TypeMap())
		if prev != nil {
			return prev(ctx, c)
		}
		return nil
	}
}

// The hot path's pool. Postgres plans a prepared statement afresh on each
// run (a custom plan) for as long as the plan it would keep (the generic
// plan) looks dearer, and with an array of ids as a parameter it always
// does: a custom plan sees how many ids there are. So the statements run
// for every delivery were planned every time, the load of work the
// heaviest at half a millisecond: planning came to more Postgres CPU per
// delivery than executing. Their generic plans are as good (their shapes
// keep to indexes, and young tables are analyzed as they grow, which
// re-plans them: AnalyzeGrown), so the hot path runs on connections with
// plan_cache_mode = force_generic_plan. Everything else (lists with
// optional filters, whose best plan depends on which are set) stays on
// the ordinary pool.
//
// Its connections also turn sequential scans off (enable_seqscan; a scan
// with no index to use still runs, priced last). Every hot statement
// looks rows up by key, and a generic plan is made once, on the table as
// it was: made while river_job held a handful of live rows, the record
// of a direct attempt deleted its fallback job by reading the whole
// table, whose pages, at 200 deliveries/s, fill with the dead rows of
// deleted jobs faster than autovacuum comes back (26 pages after 30 s).

// HotPoolConfig returns a copy of cfg, the config of hookd's ordinary
// pool (ConfigurePool already applied, which the copy keeps), for the hot
// path's pool: its connections keep generic plans and keep to indexes.
func HotPoolConfig(cfg *pgxpool.Config) *pgxpool.Config {
	hot := cfg.Copy()
	hot.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	hot.ConnConfig.RuntimeParams["enable_seqscan"] = "off"
	return hot
}

// WithHotPool returns a Store that runs the hot path (publishing, loading
// work, recording attempts: InHotTx, LoadWork, RecordAttempts) on hot, a
// pool made from HotPoolConfig.
func (s *Store) WithHotPool(hot *pgxpool.Pool) *Store {
	return &Store{db: s.db, pool: s.pool, hot: hot, cipher: s.cipher, parts: s.parts}
}

// hotDB is where a hot-path statement runs: the transaction the Store is
// in, else the hot pool when there is one.
func (s *Store) hotDB() DBTX {
	if s.hot != nil && s.onPool() {
		return s.hot
	}
	return s.db
}

// InHotTx is InTx on the hot pool (the pool when there is none).
func (s *Store) InHotTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if s.hot == nil {
		return s.InTx(ctx, fn)
	}
	return pgx.BeginFunc(ctx, s.hot, fn)
}
