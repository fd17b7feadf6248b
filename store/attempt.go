package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Attempt triggers and statuses.
const (
	TriggerScheduled = "scheduled"
	TriggerManual    = "manual"

	AttemptSucceeded = "succeeded"
	AttemptFailed    = "failed"
)

// Timings splits an attempt's duration into its phases.
type Timings struct {
	DNS     time.Duration
	Connect time.Duration
	TLS     time.Duration
	TTFB    time.Duration
}

// Attempt is one HTTP try of a delivery.
type Attempt struct {
	ID              uuid.UUID
	TenantID        string
	DeliveryID      uuid.UUID
	MessageID       uuid.UUID
	EndpointID      uuid.UUID
	Attempt         int // 1-based, per delivery
	Trigger         string
	Status          string
	StatusCode      int // 0 = no response
	RequestHeaders  http.Header
	ResponseHeaders http.Header
	ResponseBody    []byte
	BodyTruncated   bool
	ErrorClass      string
	Error           string
	RemoteAddr      string
	URL             string
	Duration        time.Duration
	Timings         Timings
	ReplayID        uuid.UUID // uuid.Nil unless made by a bulk replay
	StartedAt       time.Time
	// ExpungedAt is when the response body was removed with its message's
	// content ([Store.ExpungeMessage]); nil: it was not.
	ExpungedAt *time.Time
}

// AttemptRecord is an attempt together with the state its delivery moves to.
type AttemptRecord struct {
	Attempt       Attempt
	Status        string     // the delivery's new status
	NextAttemptAt *time.Time // when pending: the next try
	// FallbackJob is the River job of a direct attempt (one the worker
	// made straight after the publish), deleted by the same statement
	// while it is still scheduled; 0 when River ran the attempt.
	FallbackJob int64
	// RunningJob is the River job that ran the attempt, deleted by the same
	// statement while River has it running: the attempt's record is the
	// job's completion, one write where River's completion was a second
	// (an update of the job's row and all of its indexes) and its cleaner's
	// delete a third. River's completer then finds no row and does nothing.
	RunningJob int64
}

type timingsJSON struct {
	DNS     float64 `json:"dns_ms"`
	Connect float64 `json:"connect_ms"`
	TLS     float64 `json:"tls_ms"`
	TTFB    float64 `json:"ttfb_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (t Timings) json() []byte {
	b, _ := json.Marshal(timingsJSON{DNS: ms(t.DNS), Connect: ms(t.Connect), TLS: ms(t.TLS), TTFB: ms(t.TTFB)})
	return b
}

func headerJSON(h http.Header) []byte {
	if h == nil {
		return []byte("{}")
	}
	b, _ := json.Marshal(h)
	return b
}

// RecordAttempts writes attempts and moves their deliveries to their new
// state, all in one statement. Each attempt's number is the delivery's
// attempt count after the update. A delivery must appear at most once.
// Attempts of deliveries that no longer exist are dropped.
func (s *Store) RecordAttempts(ctx context.Context, recs []AttemptRecord) error {
	if len(recs) == 0 {
		return nil
	}
	n := len(recs)
	var (
		ids, deliveries, messages, endpoints, replays = make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n), make([]*uuid.UUID, n)
		tenants, triggers, statuses, classes, errs    = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		remotes, urls, newStatuses, reqH, respH, tims = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		codes                                         = make([]*int32, n)
		bodies                                        = make([][]byte, n)
		truncated                                     = make([]bool, n)
		durations                                     = make([]int32, n)
		started, next                                 = make([]time.Time, n), make([]*time.Time, n)
		fallbacks, running                            = []int64{}, []int64{} // not NULL: cardinality
	)
	for i, r := range recs {
		a := r.Attempt
		if a.ID == uuid.Nil {
			a.ID = NewID()
		}
		ids[i], deliveries[i], messages[i], endpoints[i] = a.ID, a.DeliveryID, a.MessageID, a.EndpointID
		if a.ReplayID != uuid.Nil {
			id := a.ReplayID
			replays[i] = &id
		}
		tenants[i], triggers[i], statuses[i], classes[i], errs[i] = a.TenantID, a.Trigger, a.Status, a.ErrorClass, a.Error
		remotes[i], urls[i], newStatuses[i] = a.RemoteAddr, a.URL, r.Status
		reqH[i], respH[i], tims[i] = string(headerJSON(a.RequestHeaders)), string(headerJSON(a.ResponseHeaders)), string(a.Timings.json())
		if a.StatusCode != 0 {
			c := int32(a.StatusCode)
			codes[i] = &c
		}
		bodies[i], truncated[i] = a.ResponseBody, a.BodyTruncated
		durations[i] = int32(a.Duration.Milliseconds())
		started[i], next[i] = a.StartedAt, r.NextAttemptAt
		if r.FallbackJob != 0 {
			fallbacks = append(fallbacks, r.FallbackJob)
		}
		if r.RunningJob != 0 {
			running = append(running, r.RunningJob)
		}
	}
	// The range of the deliveries' ids prunes the partitions of
	// deliveries that the update joins (Postgres does not prune on a join).
	lo, hi := idRange(deliveries)
	args := []any{ids, deliveries, messages, endpoints, replays, tenants, triggers, statuses, classes, errs,
		remotes, urls, newStatuses, reqH, respH, tims, codes, bodies, truncated, durations, started, next, fallbacks, lo, hi,
		running}
	table := s.deliveriesTable(ctx, lo, hi)
	_, err := s.hotDB().Exec(ctx, table.sql, args...)
	if err != nil && table != partitionedDeliveries && isUndefinedTable(err) {
		// The day's partition was dropped since it was listed, and its
		// deliveries with it. Outside a transaction the statement goes
		// again through the partitioned table, which drops the attempts
		// of deliveries that no longer exist; in one, the caller's retry
		// does.
		day, _ := dayOf(lo)
		s.parts.forget(day)
		if s.onPool() {
			_, err = s.hotDB().Exec(ctx, partitionedDeliveries.sql, args...)
		}
	}
	if err != nil {
		return fmt.Errorf("record %d attempts: %w", n, err)
	}
	return nil
}

// recordAttemptsSQL is RecordAttempts's statement, updating the
// deliveries in table: the partitioned table or one of its partitions
// (Store.deliveriesTable, which makes it once per table).
func recordAttemptsSQL(table string) string {
	return `WITH input AS (
			SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
				$8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
				$16::text[], $17::int[], $18::bytea[], $19::bool[], $20::int[], $21::timestamptz[], $22::timestamptz[])
			AS t(id, delivery_id, message_id, endpoint_id, replay_id, tenant_id, trigger, status, error_class, error,
				remote_addr, url, new_status, request_headers, response_headers, timings, status_code, response_body,
				body_truncated, duration_ms, started_at, next_attempt_at)
		), upd AS (
			UPDATE ` + table + ` d SET attempts = d.attempts + 1, status = i.new_status,
				next_attempt_at = i.next_attempt_at, last_status_code = i.status_code, updated_at = now()
			-- The ANY keeps an index plan even when the statement was
			-- planned on an empty table (a new install): a join alone
			-- would scan deliveries.
			FROM input i WHERE d.id = i.delivery_id AND d.id = ANY($2::uuid[]) AND d.id BETWEEN $24 AND $25
			-- The input's row comes back with its delivery's count, so
			-- the insert below needs no join with it.
			RETURNING d.attempts, i.*
		), jobs AS (
			-- The attempts' River jobs go with their record, in the same
			-- statement. A direct attempt's fallback job ($23) goes while
			-- it is still scheduled (not handed to River): it runs later or
			-- not at all, never both. The job River ran an attempt in ($26)
			-- goes while it is running: the record is its completion. One
			-- no longer running was rescued meanwhile: River has it again,
			-- and its next run finds the delivery as this record leaves it.
			-- The plan is generic and river_job's statistics may be a small
			-- table's: a batch without jobs must not scan it, hence the
			-- one-time test of the arrays; and the state as text keeps
			-- River's fetching index, which reads every scheduled job, out
			-- of the plan, leaving the primary key (the hot pool takes no
			-- sequential scan of a table that looked small when planned:
			-- HotPoolConfig). One delete for both: each table a statement
			-- writes costs it at every execution's start.
			DELETE FROM river_job
			WHERE cardinality($23::bigint[]) + cardinality($26::bigint[]) > 0
				AND id = ANY($23::bigint[] || $26::bigint[])
				AND state::text = CASE WHEN id = ANY($23::bigint[]) THEN 'scheduled' ELSE 'running' END
		)
		INSERT INTO attempts (id, tenant_id, delivery_id, message_id, endpoint_id, attempt, trigger, status, status_code,
			request_headers, response_headers, response_body, body_truncated, error_class, error, remote_addr, url,
			duration_ms, timings, replay_id, started_at)
		SELECT u.id, u.tenant_id, u.delivery_id, u.message_id, u.endpoint_id, u.attempts, u.trigger, u.status,
			u.status_code, u.request_headers::jsonb, u.response_headers::jsonb, u.response_body, u.body_truncated,
			u.error_class, u.error, u.remote_addr, u.url, u.duration_ms, u.timings::jsonb, u.replay_id, u.started_at
		FROM upd u`
}

const attemptCols = `id, tenant_id, delivery_id, message_id, endpoint_id, attempt, trigger, status,
	coalesce(status_code, 0), request_headers, response_headers, coalesce(response_body, ''::bytea), body_truncated,
	error_class, error, remote_addr, url, duration_ms, timings, coalesce(replay_id, '00000000-0000-0000-0000-000000000000'),
	started_at, expunged_at`

func scanAttempt(row pgx.Row) (Attempt, error) {
	var a Attempt
	var reqH, respH, tims []byte
	var dur int
	err := row.Scan(&a.ID, &a.TenantID, &a.DeliveryID, &a.MessageID, &a.EndpointID, &a.Attempt, &a.Trigger, &a.Status,
		&a.StatusCode, &reqH, &respH, &a.ResponseBody, &a.BodyTruncated, &a.ErrorClass, &a.Error, &a.RemoteAddr, &a.URL,
		&dur, &tims, &a.ReplayID, &a.StartedAt, &a.ExpungedAt)
	if err != nil {
		return Attempt{}, mapErr(err)
	}
	a.Duration = time.Duration(dur) * time.Millisecond
	_ = json.Unmarshal(reqH, &a.RequestHeaders)
	_ = json.Unmarshal(respH, &a.ResponseHeaders)
	var t timingsJSON
	_ = json.Unmarshal(tims, &t)
	a.Timings = Timings{
		DNS: time.Duration(t.DNS * float64(time.Millisecond)), Connect: time.Duration(t.Connect * float64(time.Millisecond)),
		TLS: time.Duration(t.TLS * float64(time.Millisecond)), TTFB: time.Duration(t.TTFB * float64(time.Millisecond)),
	}
	return a, nil
}

// AttemptFilter picks whose attempts to list (one message's or one
// endpoint's) and narrows them. Zero fields do not filter.
type AttemptFilter struct {
	MessageID  uuid.UUID
	EndpointID uuid.UUID
	Status     string // succeeded or failed
	// StatusClass is the HTTP answer's class: 200, 300, 400 or 500 for
	// 2xx to 5xx, or StatusClassNone for attempts that got no answer.
	StatusClass int
	EventType   string    // the message's event type
	Since       time.Time // started at or after
	Until       time.Time // started before
}

// StatusClassNone asks [Store.ListAttempts] for attempts without an HTTP
// answer (a timeout, a refused connection, ...).
const StatusClassNone = -1

// attemptIDLag bounds how long after an attempt started its id was made:
// the id is taken when the attempt has ended, within the deliver job's
// timeout (the send timeout plus 15 s). Time bounds become id bounds with
// it, so that a list with until starts its index scan there.
const attemptIDLag = time.Hour

// ListAttempts lists a tenant's attempts newest first.
func (s *Store) ListAttempts(ctx context.Context, tenant string, f AttemptFilter, p Page) ([]Attempt, string, error) {
	after, err := decodeIDCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	var message, endpoint, minID, maxID *uuid.UUID
	if f.MessageID != uuid.Nil {
		message = &f.MessageID
		// No attempt of a message is older than it: skip the partitions
		// before it.
		if id := sinceMessage(f.MessageID); id != uuid.Nil {
			minID = &id
		}
	}
	if f.EndpointID != uuid.Nil {
		endpoint = &f.EndpointID
	}
	var codeFrom, codeTo *int
	if f.StatusClass > 0 {
		from, to := f.StatusClass, f.StatusClass+100
		codeFrom, codeTo = &from, &to
	}
	var since, until *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
		id := minV7(f.Since.Add(-time.Minute)) // a minute for a clock that stepped back
		if minID == nil || bytes.Compare(id[:], minID[:]) > 0 {
			minID = &id
		}
	}
	if !f.Until.IsZero() {
		until = &f.Until
		id := minV7(f.Until.Add(attemptIDLag))
		maxID = &id
	}
	rows, err := s.db.Query(ctx, `SELECT `+attemptCols+` FROM attempts a
		WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id < $2)
		  AND ($3::uuid IS NULL OR message_id = $3) AND ($4::uuid IS NULL OR endpoint_id = $4)
		  AND ($5 = '' OR status = $5)
		  AND ($7::int IS NULL OR status_code >= $7) AND ($8::int IS NULL OR status_code < $8)
		  AND (NOT $9 OR status_code IS NULL)
		  AND ($10 = '' OR EXISTS (SELECT 1 FROM messages m WHERE m.id = a.message_id AND m.event_type = $10))
		  AND ($11::timestamptz IS NULL OR started_at >= $11) AND ($12::uuid IS NULL OR id >= $12)
		  AND ($13::timestamptz IS NULL OR started_at < $13) AND ($14::uuid IS NULL OR id < $14)
		ORDER BY id DESC LIMIT $6`, tenant, after, message, endpoint, f.Status, p.Limit+1,
		codeFrom, codeTo, f.StatusClass == StatusClassNone, f.EventType, since, minID, until, maxID)
	if err != nil {
		return nil, "", fmt.Errorf("list attempts: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attempt, error) { return scanAttempt(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list attempts: %w", err)
	}
	list, next := pageOf(list, p.Limit, func(a Attempt) string { return a.ID.String() })
	return list, next, nil
}

// GetAttempt returns ErrNotFound unless the attempt exists and belongs to
// tenant.
func (s *Store) GetAttempt(ctx context.Context, tenant string, id uuid.UUID) (Attempt, error) {
	a, err := scanAttempt(s.db.QueryRow(ctx, `SELECT `+attemptCols+` FROM attempts WHERE id = $1 AND tenant_id = $2`,
		id, tenant))
	if err != nil {
		return Attempt{}, fmt.Errorf("get attempt %s: %w", id, err)
	}
	return a, nil
}
