package historytest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookd/hookd/store"
)

// Plan is what EXPLAIN (ANALYZE) said of one query a page runs.
type Plan struct {
	Page      string // "portal delivery log", "message page: attempts", ...
	SQL       string // the statement's first line
	Planning  time.Duration
	Execution time.Duration
	// Partitions are the partitions of the history the plan read (its
	// nodes that ran at least once); SeqScans those of them it read with
	// a sequential scan, with the rows that scan read.
	Partitions []string
	SeqScans   map[string]int
	JSON       json.RawMessage // the whole plan
}

// Total is the planning and the execution time.
func (p Plan) Total() time.Duration { return p.Planning + p.Execution }

// Explain runs, on the history that Generate made, the store's queries
// behind the pages that read it, each once to warm the caches and then
// under EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON), and returns their plans:
// the portal's delivery log (first page, one endpoint's, failed ones, a
// later page), the message page (message, deliveries, attempts), an
// endpoint's attempts, and the console's lists (deliveries, failed
// deliveries, failing endpoints), and the worker's load of a batch of 100
// deliveries. Each is explained three times and the fastest run is kept.
func Explain(ctx context.Context, pool *pgxpool.Pool, g Generated) ([]Plan, error) {
	tenant := Tenant(0)
	st := store.New(pool)
	// A message of tenant from the middle day, and one of its endpoints.
	middle := g.First.AddDate(0, 0, g.Opts.Days/2).Add(12 * time.Hour)
	var message, endpoint uuid.UUID
	if err := pool.QueryRow(ctx, `SELECT m.id, d.endpoint_id FROM messages m JOIN deliveries d ON d.message_id = m.id
		WHERE m.tenant_id = $1 AND m.id >= hookd_v7_floor($2) AND d.status = 'failed'
		ORDER BY m.id LIMIT 1`, tenant, middle).Scan(&message, &endpoint); err != nil {
		return nil, fmt.Errorf("pick a message: %w", err)
	}
	// A batch of deliveries as the worker loads them: recent ones.
	rows, err := pool.Query(ctx, `SELECT id FROM deliveries WHERE id >= hookd_v7_floor($1) ORDER BY id LIMIT 100`,
		g.First.AddDate(0, 0, g.Opts.Days-1))
	if err != nil {
		return nil, fmt.Errorf("pick deliveries: %w", err)
	}
	batch, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, fmt.Errorf("pick deliveries: %w", err)
	}
	page := store.Page{Limit: 50}
	_, later, err := st.ListMessages(ctx, tenant, store.MessageFilter{}, store.Page{Limit: 500})
	if err != nil {
		return nil, err
	}
	pages := []struct {
		name string
		run  func(st *store.Store) error
	}{
		{"portal delivery log", func(st *store.Store) error {
			_, _, err := st.ListMessages(ctx, tenant, store.MessageFilter{}, page)
			return err
		}},
		{"portal delivery log: a later page", func(st *store.Store) error {
			_, _, err := st.ListMessages(ctx, tenant, store.MessageFilter{}, store.Page{Limit: 50, Cursor: later})
			return err
		}},
		{"portal delivery log: one endpoint", func(st *store.Store) error {
			_, _, err := st.ListMessages(ctx, tenant, store.MessageFilter{EndpointID: endpoint}, page)
			return err
		}},
		{"portal delivery log: failed", func(st *store.Store) error {
			_, _, err := st.ListMessages(ctx, tenant, store.MessageFilter{Status: store.DeliveryFailed}, page)
			return err
		}},
		{"message page: message", func(st *store.Store) error {
			_, err := st.GetMessage(ctx, tenant, message)
			return err
		}},
		{"message page: deliveries", func(st *store.Store) error {
			_, err := st.MessageDeliveries(ctx, tenant, message)
			return err
		}},
		{"message page: attempts", func(st *store.Store) error {
			_, _, err := st.ListAttempts(ctx, tenant, store.AttemptFilter{MessageID: message}, store.Page{Limit: 100})
			return err
		}},
		{"endpoint attempts", func(st *store.Store) error {
			_, _, err := st.ListAttempts(ctx, tenant, store.AttemptFilter{EndpointID: endpoint}, page)
			return err
		}},
		{"console deliveries", func(st *store.Store) error {
			_, _, err := st.ListDeliveries(ctx, store.DeliveryFilter{}, page)
			return err
		}},
		{"console failed deliveries", func(st *store.Store) error {
			_, _, err := st.ListDeliveries(ctx, store.DeliveryFilter{Status: store.DeliveryFailed}, page)
			return err
		}},
		{"console failing endpoints", func(st *store.Store) error {
			_, _, err := st.FailingEndpoints(ctx, page)
			return err
		}},
		{"worker: load work of 100 deliveries", func(st *store.Store) error {
			_, err := st.LoadWork(ctx, batch)
			return err
		}},
	}
	var plans []Plan
	for _, p := range pages {
		if err := p.run(st); err != nil { // warm the caches
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		ex := &explainer{db: pool, page: p.name}
		if err := p.run(st.WithDB(ex)); err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		if ex.err != nil {
			return nil, fmt.Errorf("explain %s: %w", p.name, ex.err)
		}
		plans = append(plans, ex.plans...)
	}
	return plans, nil
}

// Check returns an error naming every plan that took longer than budget
// or read a partition of the history with more than maxSeqRows rows by a
// sequential scan.
func Check(plans []Plan, budget time.Duration, maxSeqRows int) error {
	var bad []string
	for _, p := range plans {
		if p.Total() > budget {
			bad = append(bad, fmt.Sprintf("%s took %s (planning %s)", p.Page, p.Total(), p.Planning))
		}
		for rel, rows := range p.SeqScans {
			if rows > maxSeqRows {
				bad = append(bad, fmt.Sprintf("%s: sequential scan of %s (%d rows)", p.Page, rel, rows))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("history queries: %s", strings.Join(bad, "; "))
	}
	return nil
}

// explainer is a store.DBTX that explains each query before it runs it.
type explainer struct {
	db    store.DBTX
	page  string
	plans []Plan
	err   error
}

// explainRuns is how many times each query is explained; the fastest
// counts, so that a moment of contention on a shared machine (other tests,
// other processes) does not pass for the query's cost.
const explainRuns = 3

func (e *explainer) explain(ctx context.Context, sql string, args ...any) {
	var p Plan
	for i := range explainRuns {
		var raw []byte
		if err := e.db.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) "+sql, args...).Scan(&raw); err != nil {
			e.err = err
			return
		}
		run, err := parsePlan(raw)
		if err != nil {
			e.err = err
			return
		}
		if i == 0 || run.Total() < p.Total() {
			p = run
		}
	}
	p.Page = e.page
	p.SQL = strings.TrimSpace(strings.SplitN(strings.TrimSpace(sql), "\n", 2)[0])
	e.plans = append(e.plans, p)
}

func (e *explainer) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return e.db.Exec(ctx, sql, args...)
}

func (e *explainer) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	e.explain(ctx, sql, args...)
	return e.db.Query(ctx, sql, args...)
}

func (e *explainer) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	e.explain(ctx, sql, args...)
	return e.db.QueryRow(ctx, sql, args...)
}

func (e *explainer) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return e.db.SendBatch(ctx, b)
}

type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	ActualRows   float64    `json:"Actual Rows"`
	ActualLoops  float64    `json:"Actual Loops"`
	RowsRemoved  float64    `json:"Rows Removed by Filter"`
	Plans        []planNode `json:"Plans"`
}

func parsePlan(raw []byte) (Plan, error) {
	var out []struct {
		Plan      planNode `json:"Plan"`
		Planning  float64  `json:"Planning Time"`
		Execution float64  `json:"Execution Time"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out) != 1 {
		return Plan{}, fmt.Errorf("read plan: %v", err)
	}
	p := Plan{JSON: raw, SeqScans: map[string]int{},
		Planning:  time.Duration(out[0].Planning * float64(time.Millisecond)),
		Execution: time.Duration(out[0].Execution * float64(time.Millisecond))}
	seen := map[string]bool{}
	var walk func(n planNode)
	walk = func(n planNode) {
		if history(n.RelationName) && n.ActualLoops > 0 {
			if !seen[n.RelationName] {
				seen[n.RelationName] = true
				p.Partitions = append(p.Partitions, n.RelationName)
			}
			if n.NodeType == "Seq Scan" {
				p.SeqScans[n.RelationName] += int((n.ActualRows + n.RowsRemoved) * n.ActualLoops)
			}
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(out[0].Plan)
	sort.Strings(p.Partitions)
	return p, nil
}

func history(rel string) bool {
	for _, t := range []string{"messages_", "deliveries_", "attempts_", "message_payloads_"} {
		if strings.HasPrefix(rel, t) {
			return true
		}
	}
	return false
}
