package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/store"
)

// Publishing inside the app's own transaction. A Go backend whose data is
// in the Postgres that hookd uses publishes with PublishTx in the
// transaction that changes its data: the message, its deliveries (or its
// fan-out job) and their River jobs are written in that transaction. A
// rollback leaves no trace, so nothing is ever sent; a commit makes the
// delivery as certain as a 202 from the REST API. It is the transactional
// outbox without an outbox table or a relay to drain it.
//
// hookd's SQL names its tables without a schema, and the app's connection
// has the app's search_path, under which those names miss (or find the
// app's own tables called messages or tenants). So for the length of the
// call the transaction's search_path is hookd's schema and pg_temp last
// (so that no temporary table can stand in for hookd's), and then it is
// set back to what it was: the app's statements after PublishTx resolve as
// before. set_config(..., true) is local to the transaction, so a rollback
// (to a savepoint too) undoes it as well. The alternative, a schema on
// every table name in store, would be a second spelling of every statement
// for this one caller.

// PublisherConfig configures a Publisher. Zero values mean the defaults.
type PublisherConfig struct {
	// Schema is the Postgres schema of hookd's tables and River's: the
	// HOOKD_SCHEMA of the hookd that delivers ("" = public).
	Schema string
	// MaxPayloadBytes bounds a payload, as HOOKD_MAX_PAYLOAD_BYTES bounds
	// the REST API's (DefaultMaxPayloadBytes).
	MaxPayloadBytes int64
	// InlineFanout is Config.InlineFanout: a message matching at most this
	// many endpoints gets its deliveries in the transaction itself (16).
	InlineFanout int
	// Logger receives River's logs; nil discards.
	Logger *slog.Logger
}

// Publisher publishes messages in transactions it is given. It holds no
// connection and runs no workers: hookd's workers on the same schema (hookd
// serve) deliver what it publishes. It is safe for concurrent use.
type Publisher struct {
	svc       *Service
	validator *Validator
	// searchPath is the transaction's search_path while PublishTx runs.
	searchPath string
}

// NewPublisher returns a Publisher for hookd's tables in cfg.Schema.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	svc, err := New(nil, store.New(nil), Config{Schema: cfg.Schema, InlineFanout: cfg.InlineFanout, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("publisher: %w", err)
	}
	// It writes only in its callers' transactions: no group commit.
	svc.publisher.Close()
	schema := cfg.Schema
	if schema == "" {
		schema = "public"
	}
	return &Publisher{
		svc:        svc,
		validator:  &Validator{MaxPayloadBytes: cfg.MaxPayloadBytes},
		searchPath: pgx.Identifier{schema}.Sanitize() + ", pg_temp",
	}, nil
}

// PublishTx publishes msg in tx, the caller's transaction: it checks msg
// as the REST API's publish does, then stores it and schedules its delivery
// in tx. Once tx commits, the message will be delivered whatever crashes
// next; if tx rolls back, nothing is stored and nothing is ever sent.
//
// It returns the stored message. When the tenant used msg.IdempotencyKey
// before, it returns the first message with existed = true and schedules
// nothing.
//
// A message that is refused is an *InvalidError (errors.Is ErrEventType
// when its event type is the reason), and a tenant that does not exist an
// error wrapping store.ErrNotFound; after either nothing was written and tx
// can go on. Any other error is the database's, and tx is most likely
// aborted. tx's search_path is hookd's schema during the call only.
func (p *Publisher) PublishTx(ctx context.Context, tx pgx.Tx, msg Message) (m store.Message, existed bool, err error) {
	if err := p.validator.Check(msg); err != nil {
		return store.Message{}, false, err
	}
	if !tenantID.MatchString(msg.TenantID) {
		// No tenant has this id; refused before it reaches SQL.
		return store.Message{}, false, fmt.Errorf("publish to tenant %s: %w", msg.TenantID, store.ErrNotFound)
	}
	restore, err := p.enterSchema(ctx, tx)
	if err != nil {
		return store.Message{}, false, fmt.Errorf("publish: %w", err)
	}
	req := publishReq{
		m:     msg.Stored(time.Now()),
		check: func(et store.EventType) error { return p.validator.CheckEventType(et, msg) },
	}
	out, err := p.svc.publishTx(ctx, tx, []publishReq{req})
	if rerr := restore(); err == nil {
		err = rerr // else tx is most likely aborted, and restore's error says only that
	}
	if err != nil {
		return store.Message{}, false, fmt.Errorf("publish: %w", err)
	}
	if out[0].err != nil {
		return store.Message{}, false, out[0].err
	}
	return out[0].m, out[0].existed, nil
}

// enterSchema sets tx's search_path to hookd's schema and returns the
// function that sets it back to what it was.
func (p *Publisher) enterSchema(ctx context.Context, tx pgx.Tx) (func() error, error) {
	b := &pgx.Batch{}
	var saved string
	b.Queue(`SELECT current_setting('search_path')`).QueryRow(func(r pgx.Row) error { return r.Scan(&saved) })
	b.Queue(`SELECT set_config('search_path', $1, true)`, p.searchPath)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("set search_path to hookd's schema: %w", err)
	}
	return func() error {
		if _, err := tx.Exec(ctx, `SELECT set_config('search_path', $1, true)`, saved); err != nil {
			return fmt.Errorf("set search_path back: %w", err)
		}
		return nil
	}, nil
}
