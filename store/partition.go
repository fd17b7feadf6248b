package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The history (messages, deliveries, attempts, message_payloads) is
// partitioned by day on its UUIDv7 ids (migration 0013): each partition
// holds the ids from the smallest UUIDv7 of one UTC midnight to that of
// the next. A partition named <table>_legacy holds what the tables had
// before they were partitioned, up to the first midnight after the
// migration.

// PartitionDaysAhead is how many days after today have their partitions
// created in advance (migrations.PartitionDaysAhead is the same number).
const PartitionDaysAhead = 3

// historyTables are the partitioned tables, in the order their partitions
// are dropped (those that point at a message first).
var historyTables = []string{"attempts", "deliveries", "message_payloads", "messages"}

// DeliveryID is the id of the delivery of message to endpoint: a UUIDv7
// whose timestamp is the message's, so that a delivery lives in its
// message's partition, and whose other bits are a hash of the pair, so
// that making it twice gives the same id. A message id that is not a
// UUIDv7 (none that hookd made) gets the current time instead.
func DeliveryID(message, endpoint uuid.UUID) uuid.UUID {
	h := sha256.Sum256(append(message[:], endpoint[:]...))
	var u uuid.UUID
	if message.Version() == 7 {
		copy(u[:6], message[:6])
	} else {
		now := minV7(time.Now())
		copy(u[:6], now[:6])
	}
	copy(u[6:], h[:10])
	u[6] = 0x70 | u[6]&0x0f // version 7
	u[8] = 0x80 | u[8]&0x3f // RFC 4122 variant
	return u
}

// idTime is the millisecond a UUIDv7 was made in (the zero time for
// other ids).
func idTime(id uuid.UUID) time.Time {
	if id.Version() != 7 {
		return time.Time{}
	}
	var ms int64
	for i := range 6 {
		ms = ms<<8 | int64(id[i])
	}
	return time.UnixMilli(ms)
}

// sinceMessage is the smallest id that a delivery or an attempt of message
// can have: a minute before the message's own, for clocks that differ
// between the processes that made the ids. uuid.Nil for a message id that
// is not a UUIDv7. A query by message id with "id >= sinceMessage" skips
// the partitions older than the message.
func sinceMessage(message uuid.UUID) uuid.UUID {
	t := idTime(message)
	if t.IsZero() {
		return uuid.Nil
	}
	return minV7(t.Add(-time.Minute))
}

// idRange returns the smallest and the largest of ids, which a query by
// "id = ANY($1)" adds as "id BETWEEN" so that Postgres prunes the
// partitions outside them (it does not prune on an array parameter).
func idRange(ids []uuid.UUID) (lo, hi uuid.UUID) {
	if len(ids) == 0 {
		return uuid.Nil, uuid.Nil
	}
	lo, hi = ids[0], ids[0]
	for _, id := range ids[1:] {
		if bytes.Compare(id[:], lo[:]) < 0 {
			lo = id
		}
		if bytes.Compare(id[:], hi[:]) > 0 {
			hi = id
		}
	}
	return lo, hi
}

// EnsurePartitions creates the daily partitions of the history, for the
// days from the UTC day of first for days days, that do not exist yet. It
// returns how many tables it created.
func (s *Store) EnsurePartitions(ctx context.Context, first time.Time, days int) (int, error) {
	var n int
	day := first.UTC().Format(time.DateOnly)
	if err := s.db.QueryRow(ctx, `SELECT hookd_ensure_partitions($1::date, $2)`, day, days).Scan(&n); err != nil {
		return 0, fmt.Errorf("ensure partitions from %s: %w", day, err)
	}
	return n, nil
}

// Partition is one partition of a table of the history.
type Partition struct {
	Table string // the partitioned table
	Name  string
	// Upper is the smallest id the partition does not hold; Lower the
	// smallest it holds (uuid.Nil for the legacy partition).
	Lower, Upper uuid.UUID
}

// Legacy reports whether p is the partition that holds the rows from
// before the history was partitioned.
func (p Partition) Legacy() bool { return p.Name == p.Table+"_legacy" }

// Until is the time before which every id of the partition was made.
func (p Partition) Until() time.Time { return idTime(p.Upper) }

// Partitions lists the partitions of the history's tables, oldest first
// within each table.
func (s *Store) Partitions(ctx context.Context) ([]Partition, error) {
	rows, err := s.db.Query(ctx, `SELECT p.relname, c.relname,
			coalesce(substring(pg_get_expr(c.relpartbound, c.oid) FROM $re$FROM \('([0-9a-f-]{36})'\)$re$)::uuid,
				'00000000-0000-0000-0000-000000000000'),
			substring(pg_get_expr(c.relpartbound, c.oid) FROM $re$TO \('([0-9a-f-]{36})'\)$re$)::uuid
		FROM pg_inherits i
		JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_class p ON p.oid = i.inhparent
		WHERE i.inhparent = ANY(ARRAY[to_regclass('messages'), to_regclass('deliveries'), to_regclass('attempts'),
			to_regclass('message_payloads')]::oid[])
		ORDER BY 1, 4`)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Partition, error) {
		var p Partition
		err := r.Scan(&p.Table, &p.Name, &p.Lower, &p.Upper)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	return list, nil
}

// DropExpiredPartitions drops the partitions of the history whose every id
// was made before cutoff, and returns their names. A delivery still
// pending or parked goes with its message's partition: by then its whole
// retry schedule (about a day) is long over, or its endpoint has been
// disabled for the whole retention. Each drop waits at most lockWait for
// queries that use the table to finish (0: a second), and a drop that
// cannot have its lock is tried again on the next call.
func (s *Store) DropExpiredPartitions(ctx context.Context, cutoff time.Time, lockWait time.Duration) ([]string, error) {
	if lockWait <= 0 {
		lockWait = time.Second
	}
	parts, err := s.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	edge := minV7(cutoff)
	var dropped []string
	for _, table := range historyTables {
		for _, p := range parts {
			if p.Table != table || bytes.Compare(p.Upper[:], edge[:]) > 0 {
				continue
			}
			err := pgx.BeginFunc(ctx, s.beginner(), func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SELECT set_config('lock_timeout', $1, true)`,
					fmt.Sprintf("%dms", lockWait.Milliseconds())); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `DROP TABLE `+pgx.Identifier{p.Name}.Sanitize())
				return err
			})
			if err != nil {
				return dropped, fmt.Errorf("drop partition %s: %w", p.Name, err)
			}
			dropped = append(dropped, p.Name)
		}
	}
	return dropped, nil
}

// beginner is what the Store's statements run on, as something that can
// begin a transaction (a savepoint, when it is one already).
func (s *Store) beginner() interface {
	Begin(ctx context.Context) (pgx.Tx, error)
} {
	if b, ok := s.db.(interface {
		Begin(ctx context.Context) (pgx.Tx, error)
	}); ok {
		return b
	}
	return s.pool
}

// SettledAfter is how long after a day ends its deliveries stop changing
// status, but for a re-send: the retry schedule (about 28 h) and margin.
const SettledAfter = 48 * time.Hour

// IndexSettledPartitions gives each partition of deliveries whose every id
// is older than settled (see SettledAfter) an index of its failed
// deliveries by endpoint, and returns the partitions it indexed. The
// console counts an endpoint's failed deliveries (failing.go) with it,
// from the index alone, where it would otherwise read every delivery of
// the endpoint. A partition's deliveries are not indexed by status while
// they are young: an index on status would make every update that changes
// it (recording an attempt does) a non-HOT update, one more insert in
// each index; once a day has settled, only re-sends change it. Each index
// is built CONCURRENTLY, so the Store must be on a pool, not in a
// transaction; one left invalid by an interrupted build is built again.
func (s *Store) IndexSettledPartitions(ctx context.Context, settled time.Time) ([]string, error) {
	parts, err := s.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	edge := minV7(settled)
	var done []string
	for _, p := range parts {
		if p.Table != "deliveries" || bytes.Compare(p.Upper[:], edge[:]) > 0 {
			continue
		}
		name := p.Name + "_failed_idx"
		var valid *bool
		if err := s.db.QueryRow(ctx, `SELECT (SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1))`,
			name).Scan(&valid); err != nil {
			return done, fmt.Errorf("index %s: %w", p.Name, err)
		}
		if valid != nil && *valid {
			continue
		}
		if valid != nil {
			if _, err := s.db.Exec(ctx, `DROP INDEX CONCURRENTLY IF EXISTS `+pgx.Identifier{name}.Sanitize()); err != nil {
				return done, fmt.Errorf("index %s: %w", p.Name, err)
			}
		}
		if _, err := s.db.Exec(ctx, `CREATE INDEX CONCURRENTLY IF NOT EXISTS `+pgx.Identifier{name}.Sanitize()+
			` ON `+pgx.Identifier{p.Name}.Sanitize()+` (endpoint_id) WHERE status = 'failed'`); err != nil {
			return done, fmt.Errorf("index %s: %w", p.Name, err)
		}
		done = append(done, p.Name)
	}
	return done, nil
}
