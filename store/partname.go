package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
)

// partitionRelist is how long a list of the history's partitions is
// trusted to say that a day's partition does not exist: a day's partition
// is made days ahead (RetentionWorker), so a name first missing is
// missing for good, or only until the next list.
const partitionRelist = time.Minute

// partitionNames is what a Store (and the Stores made from it) knows of
// the daily partitions of deliveries, for RecordAttempts, which updates a
// day's deliveries in their partition rather than through the partitioned
// table: Postgres then plans, locks and starts one table, not one per day
// kept (each partition is a result relation of an UPDATE on the
// partitioned table even when all but one are pruned). A one-row update
// took 0.17 ms of Postgres's CPU against 0.21 ms through the partitioned
// table, with 6 partitions and with 36 alike (README, Performance).
type partitionNames struct {
	mu     sync.Mutex
	days   map[int64]deliveriesTable // by UTC day (dayOf), the daily partitions listed
	listed time.Time                 // zero: never
}

// deliveriesTable is a table RecordAttempts updates deliveries in, with
// its statement, made once per table rather than once per record.
type deliveriesTable struct {
	name, sql string
}

// partitionedDeliveries is the partitioned table, for any deliveries.
var partitionedDeliveries = deliveriesTable{name: "deliveries", sql: recordAttemptsSQL("deliveries")}

const msPerDay = 24 * 60 * 60 * 1000

// dayOf is the UTC day, counted from 1970-01-01, a UUIDv7 was made in;
// false for other ids.
func dayOf(id uuid.UUID) (int64, bool) {
	if id.Version() != 7 {
		return 0, false
	}
	return idTime(id).UnixMilli() / msPerDay, true
}

// deliveriesTable is the table RecordAttempts updates for the deliveries
// whose ids are in [lo, hi]: their day's partition when they are all of
// one day and it is known to exist, else the partitioned table. Only a
// Store on its pool lists the partitions: in a caller's transaction (the
// retry path) a list would be a round trip more, and its failure would
// abort the caller's work, so a day not yet listed goes through the
// partitioned table there.
func (s *Store) deliveriesTable(ctx context.Context, lo, hi uuid.UUID) deliveriesTable {
	day, ok := dayOf(lo)
	if hiDay, hiOK := dayOf(hi); s.parts == nil || !ok || !hiOK || hiDay != day {
		return partitionedDeliveries
	}
	p := s.parts
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.days[day]; ok {
		return t
	}
	if !s.onPool() || !p.listed.IsZero() && time.Since(p.listed) < partitionRelist {
		return partitionedDeliveries
	}
	p.listed = time.Now() // a failed list waits as long as a successful one
	list, err := s.Partitions(ctx)
	if err != nil {
		return partitionedDeliveries
	}
	days := make(map[int64]deliveriesTable, len(list))
	for _, part := range list {
		if part.Table != partitionedDeliveries.name || part.Legacy() {
			continue
		}
		d, _ := dayOf(part.Lower)
		if t, ok := p.days[d]; ok && t.name == part.Name {
			days[d] = t // its statement made already
		} else {
			days[d] = deliveriesTable{name: part.Name, sql: recordAttemptsSQL(part.Name)}
		}
	}
	p.days = days
	if t, ok := days[day]; ok {
		return t
	}
	return partitionedDeliveries
}

// forget drops the partition of day from what the Store knows: it was
// dropped (retention) after the list that named it.
func (p *partitionNames) forget(day int64) {
	p.mu.Lock()
	delete(p.days, day)
	p.mu.Unlock()
}

// isUndefinedTable reports whether err is Postgres's undefined_table.
func isUndefinedTable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42P01"
}
