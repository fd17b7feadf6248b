// Package store owns hookd's domain types and every SQL statement. It maps
// rows to types, pgx.ErrNoRows to ErrNotFound and unique violations to
// ErrConflict; it knows nothing of HTTP, and of River only the two tables it
// reads to report the queue (queue.go).
package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	// ErrNotFound is returned when a row does not exist (or belongs to
	// another tenant, which callers must not be able to tell apart).
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a unique constraint would be broken.
	ErrConflict = errors.New("conflict")
	// ErrTooMany is returned when a create would pass a limit on how many
	// there may be.
	ErrTooMany = errors.New("limit reached")
	// ErrExpunged is returned for what needs a message's content (a
	// re-send) after the content was removed.
	ErrExpunged = errors.New("content removed")
)

// DBTX is what the store runs statements on: a pool or a transaction.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Store runs hookd's queries on a pool or, through WithTx, a transaction.
type Store struct {
	db     DBTX
	pool   *pgxpool.Pool
	hot    *pgxpool.Pool   // the hot path's pool (pool.go); nil: pool
	cipher *Cipher         // nil: secrets are stored in plaintext
	parts  *partitionNames // shared by the Stores made from one (partname.go)
}

// New returns a Store on pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{db: pool, pool: pool, parts: &partitionNames{}}
}

// Pool returns the pool the Store was made with.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// onPool reports whether the Store's statements run on its pool, not in
// a caller's transaction (WithTx) or on another DBTX (WithDB).
func (s *Store) onPool() bool { return s.db == DBTX(s.pool) }

// WithTx returns a Store whose statements run in tx.
func (s *Store) WithTx(tx pgx.Tx) *Store {
	return &Store{db: tx, pool: s.pool, hot: s.hot, cipher: s.cipher, parts: s.parts}
}

// WithDB returns a Store whose statements run on db: a pool, a
// transaction, or something that wraps one (store/historytest's, which
// explains each query it runs).
func (s *Store) WithDB(db DBTX) *Store {
	return &Store{db: db, pool: s.pool, cipher: s.cipher, parts: s.parts}
}

// WithCipher returns a Store that encrypts endpoint secrets and private
// keys with c when it writes them and decrypts them when it reads them.
// Values stored in plaintext (before a key was set) still read; use
// [Store.ReencryptSecrets] to encrypt them. A nil c stores plaintext.
func (s *Store) WithCipher(c *Cipher) *Store {
	return &Store{db: s.db, pool: s.pool, hot: s.hot, cipher: c, parts: s.parts}
}

// InTx runs fn in a transaction on the pool, committing when fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// NewID returns a new time-ordered id (UUIDv7).
func NewID() uuid.UUID {
	return uuid.Must(uuid.NewV7())
}

// Page asks for one page of a list. Limit is clamped by the caller.
type Page struct {
	Limit  int
	Cursor string
}

// mapErr turns driver errors into the store's errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fmt.Errorf("%w: %s", ErrConflict, pgErr.ConstraintName)
		case "23503":
			return fmt.Errorf("%w: %s", ErrNotFound, pgErr.ConstraintName)
		}
	}
	return err
}

// cursor is the keyset position of the last row of a page: its creation
// time and its key. It is opaque to clients.
type cursor struct {
	T time.Time `json:"t"`
	K string    `json:"k"`
}

func encodeCursor(t time.Time, key string) string {
	b, _ := json.Marshal(cursor{T: t, K: key})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ErrBadCursor is returned for a cursor that this store did not make.
var ErrBadCursor = errors.New("invalid cursor")

func decodeCursor(s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrBadCursor
	}
	var c cursor
	// The key goes to Postgres as text, which holds neither NUL nor
	// invalid UTF-8 (json.Unmarshal replaces the latter).
	if err := json.Unmarshal(b, &c); err != nil || c.K == "" || strings.ContainsRune(c.K, 0) ||
		strings.ContainsRune(c.K, utf8.RuneError) {
		return nil, ErrBadCursor
	}
	return &c, nil
}

// decodeIDCursor reads a cursor over UUIDv7 ids, which order by time alone.
func decodeIDCursor(s string) (*uuid.UUID, error) {
	if s == "" {
		return nil, nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return nil, ErrBadCursor
	}
	return &id, nil
}

// pageOf trims rows to limit and returns the cursor for the next page.
func pageOf[T any](rows []T, limit int, key func(T) string) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	return rows, key(rows[len(rows)-1])
}

func orEmptyJSON(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
