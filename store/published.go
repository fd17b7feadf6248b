package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ScheduledJob is a River job that Publishing.Insert writes into river_job
// itself, in River's shape, scheduled for later: River runs it when it
// comes due like any job it inserted (a scheduled job needs no
// notification). delivery builds it from River's own job args.
type ScheduledJob struct {
	Kind        string
	Args        []byte // the job's args as JSON
	Queue       string
	MaxAttempts int
	Priority    int
	Metadata    []byte // JSON object
	ScheduledAt time.Time
}

// Published is what Publishing.Insert stored.
type Published struct {
	Messages   []Message   // as stored, in the order given
	Deliveries []uuid.UUID // the ids of the deliveries made
	Jobs       []int64     // the ids of the jobs, in the order given
	Work       map[uuid.UUID]Work
}

// Publishing is a publish's transaction on a connection of the hot pool,
// made so that a whole publish takes two round trips: BeginPublish sends
// BEGIN with the lookups, and Insert the writes with COMMIT. With pgx's
// transaction API it took six (BEGIN, the lookups, the messages, the
// deliveries, River's insert, COMMIT). A publish that Insert cannot take
// uses Tx, the same transaction as a pgx.Tx, and Commit. One whose
// lookups are cached (Store.Checked, lookupcache.go) takes one round
// trip: Insert sends BEGIN and a check of the cached rows with the writes.
type Publishing struct {
	s    *Store // on the connection
	conn *pgxpool.Conn
	tx   *begunTx
	// check, for a publish of cached lookups (Store.Checked), is what
	// Insert checks after the BEGIN it sends.
	check *LookupVersions
}

// BeginPublish acquires a hot connection and begins a transaction on it
// in the round trip that reads LookupForPublish's lookups. The caller
// must Close it.
func (s *Store) BeginPublish(ctx context.Context, names, versioned, tenants []string) (*Publishing, PublishLookups, error) {
	p := &Publishing{s: s}
	if err := p.acquire(ctx); err != nil {
		return nil, PublishLookups{}, err
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	queueLookups(b, names, versioned, tenants)
	res := p.conn.SendBatch(ctx, b)
	_, err := res.Exec()
	if err != nil {
		_ = res.Close()
		p.Close()
		return nil, PublishLookups{}, fmt.Errorf("begin publish: %w", err)
	}
	look, err := p.s.readLookups(res, len(versioned) > 0)
	if cerr := res.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("publish lookups: %w", cerr)
	}
	if err != nil {
		p.Close()
		return nil, PublishLookups{}, err
	}
	return p, look, nil
}

// acquire takes p's connection from the hot pool.
func (p *Publishing) acquire(ctx context.Context) error {
	pool := p.s.hot
	if pool == nil {
		pool = p.s.pool
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("begin publish: %w", err)
	}
	p.conn, p.tx = conn, &begunTx{conn: conn.Conn()}
	p.s = p.s.WithTx(p.tx)
	return nil
}

// Tx is the publish's transaction, for writes that Insert cannot make.
func (p *Publishing) Tx() pgx.Tx { return p.tx }

// Commit commits the transaction.
func (p *Publishing) Commit(ctx context.Context) error { return p.tx.Commit(ctx) }

// Close rolls the transaction back unless it was committed, and gives
// the connection back.
func (p *Publishing) Close() {
	if p.conn == nil {
		return
	}
	if p.conn.Conn().PgConn().TxStatus() != 'I' {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = p.tx.Rollback(ctx) // on failure the pool drops a connection left in a transaction
		cancel()
	}
	p.conn.Release()
	p.conn = nil
}

// Insert writes a whole publish and commits it in one round trip: it
// stores ms, which must carry no idempotency key and no payloads of
// other versions (their ids are new, so nothing they make can exist),
// their deliveries ds, the scheduled River jobs, and reads what the
// deliveries' work needs beyond that (their endpoints' headers and keys).
// When it returns nil the publish is durable; on an error nothing of it
// is stored. It must be the transaction's first write.
func (p *Publishing) Insert(ctx context.Context, ms []Message, ds []NewDelivery, jobs []ScheduledJob) (Published, error) {
	var out Published
	for _, m := range ms {
		if m.IdempotencyKey != "" || len(m.Payloads) > 0 {
			return out, fmt.Errorf("insert published: message %s has an idempotency key or other versions", m.ID)
		}
	}
	b := &pgx.Batch{}
	if p.check != nil {
		if err := p.acquire(ctx); err != nil {
			return out, err
		}
		c := p.check
		b.Queue(`BEGIN`)
		b.Queue(checkLookups, c.tenants, c.endpoints, c.names, c.types)
	}
	s := p.s
	msql, margs, _ := insertMessages(ms)
	b.Queue(msql, margs...)
	_, dargs := deliveriesArgs(ds)
	b.Queue(newDeliveries+deliveryCols, dargs...)
	n := len(jobs)
	args, kinds, queues, metas := make([][]byte, n), make([]string, n), make([]string, n), make([][]byte, n)
	attempts, prios, at := make([]int16, n), make([]int16, n), make([]time.Time, n)
	for i, j := range jobs {
		args[i], kinds[i], queues[i], metas[i] = j.Args, j.Kind, j.Queue, j.Metadata
		attempts[i], prios[i], at[i] = int16(j.MaxAttempts), int16(j.Priority), j.ScheduledAt
	}
	// River's own insert (JobInsertFastMany) without what hookd does not
	// use: unique keys, tags. The ids are drawn from River's sequence
	// first, so that they come back in the order given.
	b.Queue(`WITH input AS MATERIALIZED (
			SELECT nextval('river_job_id_seq'::regclass) AS id, t.*
			FROM unnest($1::jsonb[], $2::text[], $3::smallint[], $4::jsonb[], $5::smallint[], $6::text[], $7::timestamptz[])
				WITH ORDINALITY AS t(args, kind, max_attempts, metadata, priority, queue, scheduled_at, ord)
		), ins AS (
			INSERT INTO river_job (id, args, kind, max_attempts, metadata, priority, queue, scheduled_at, state)
			SELECT id, args, kind, max_attempts, metadata, priority, queue, scheduled_at, 'scheduled' FROM input
		)
		SELECT id FROM input ORDER BY ord`, args, kinds, attempts, metas, prios, queues, at)
	// The work of the deliveries is what this round trip writes, but for
	// the endpoints' headers and keys: only those are read.
	var eps []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, d := range ds {
		if !seen[d.EndpointID] {
			seen[d.EndpointID] = true
			eps = append(eps, d.EndpointID)
		}
	}
	b.Queue(`SELECT `+endpointCols+`, `+secretsOfE+` FROM endpoints e WHERE e.id = ANY($1)`, eps)

	// COMMIT goes with the rest: Postgres skips it when a statement before
	// it fails, and the transaction is then rolled back (Close). What is
	// checked here after the statements ran (the count of messages, the
	// decoding of rows) cannot fail unless this code is wrong.
	b.Queue(`COMMIT`)
	p.tx.done = true // committed, or rolled back by Close
	res := s.db.SendBatch(ctx, b)
	defer res.Close()
	if p.check != nil {
		if _, err := res.Exec(); err != nil {
			return out, fmt.Errorf("begin publish: %w", err)
		}
		if _, err := res.Exec(); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "22012" { // division_by_zero: see checkLookups
				return out, ErrLookupsChanged
			}
			return out, fmt.Errorf("check publish lookups: %w", err)
		}
	}
	rows, err := res.Query()
	if err != nil {
		return out, fmt.Errorf("insert messages: %w", err)
	}
	stored, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
	if err != nil {
		return out, fmt.Errorf("insert messages: %w", mapErr(err))
	}
	if len(stored) != len(ms) {
		return out, fmt.Errorf("insert messages: %d of %d stored", len(stored), len(ms))
	}
	byID := make(map[uuid.UUID]Message, len(stored))
	for _, m := range stored {
		byID[m.ID] = m
	}
	out.Messages = make([]Message, len(ms))
	for i, m := range ms {
		out.Messages[i] = byID[m.ID]
	}
	rows, err = res.Query()
	if err != nil {
		return out, fmt.Errorf("insert deliveries: %w", err)
	}
	made, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) { return scanDelivery(r) })
	if err != nil {
		return out, fmt.Errorf("insert deliveries: %w", err)
	}
	rows, err = res.Query()
	if err != nil {
		return out, fmt.Errorf("insert jobs: %w", err)
	}
	out.Jobs, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return out, fmt.Errorf("insert jobs: %w", err)
	}
	rows, err = res.Query()
	if err != nil {
		return out, fmt.Errorf("load work: %w", err)
	}
	type keyed struct {
		e       Endpoint
		headers string
		secrets []string
	}
	endpoints, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (keyed, error) {
		var k keyed
		return k, r.Scan(append(endpointDest(&k.e, &k.headers), &k.secrets)...)
	})
	if err != nil {
		return out, fmt.Errorf("load work: %w", err)
	}
	byEndpoint := make(map[uuid.UUID]keyed, len(endpoints))
	for _, k := range endpoints {
		byEndpoint[k.e.ID] = k
	}
	out.Work = make(map[uuid.UUID]Work, len(made))
	for _, d := range made {
		out.Deliveries = append(out.Deliveries, d.ID)
		k, ok := byEndpoint[d.EndpointID]
		if !ok {
			continue // deleted meanwhile: its delivery's job finds it gone
		}
		// No payloads of other versions were stored, so an endpoint that
		// pins another version finds its payload missing.
		w := Work{Delivery: d, Message: byID[d.MessageID], Endpoint: k.e, Secrets: append([]string(nil), k.secrets...)}
		choosePayload(&w, nil, nil)
		s.openWork(&w, k.headers)
		out.Work[d.ID] = w
	}
	tag, err := res.Exec()
	if err != nil {
		return out, fmt.Errorf("commit publish: %w", err)
	}
	if tag.String() != "COMMIT" {
		return out, fmt.Errorf("commit publish: %w", pgx.ErrTxCommitRollback)
	}
	if err := res.Close(); err != nil {
		return out, fmt.Errorf("commit publish: %w", err)
	}
	return out, nil
}

// begunTx is a transaction that a batch began (BEGIN queued first, so
// that it costs no round trip of its own), as a pgx.Tx.
type begunTx struct {
	conn *pgx.Conn
	done bool
}

var errNoSavepoints = errors.New("store: a publish's transaction takes no savepoints")

func (t *begunTx) Begin(context.Context) (pgx.Tx, error) { return nil, errNoSavepoints }

func (t *begunTx) Commit(ctx context.Context) error {
	if t.done {
		return pgx.ErrTxClosed
	}
	t.done = true
	tag, err := t.conn.Exec(ctx, "COMMIT")
	if err != nil {
		return err
	}
	if tag.String() != "COMMIT" { // the transaction had failed
		return pgx.ErrTxCommitRollback
	}
	return nil
}

func (t *begunTx) Rollback(ctx context.Context) error {
	if t.done && t.conn.PgConn().TxStatus() == 'I' {
		return pgx.ErrTxClosed
	}
	t.done = true
	_, err := t.conn.Exec(ctx, "ROLLBACK")
	return err
}

func (t *begunTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return t.conn.CopyFrom(ctx, table, cols, src)
}

func (t *begunTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.conn.SendBatch(ctx, b)
}

func (t *begunTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }

func (t *begunTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.conn.Prepare(ctx, name, sql)
}

func (t *begunTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.conn.Exec(ctx, sql, args...)
}

func (t *begunTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.conn.Query(ctx, sql, args...)
}

func (t *begunTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.conn.QueryRow(ctx, sql, args...)
}

func (t *begunTx) Conn() *pgx.Conn { return t.conn }
