package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// TriggerCheck marks the requests of a receiver self-check. They are kept
// with their check (check_results), never in attempts, so nothing that
// judges an endpoint's health sees them.
const TriggerCheck = "check"

// Check statuses.
const (
	CheckRunning  = "running"
	CheckFinished = "finished"
	// CheckAborted: hookd could not finish the check (Error says why).
	CheckAborted = "aborted"
)

// Verdicts of a check's results.
const (
	VerdictPass = "pass"
	VerdictWarn = "warn"
	VerdictFail = "fail"
)

// keptChecks is how many of an endpoint's latest checks are kept.
const keptChecks = 20

// Check is one run of the receiver self-check against one endpoint.
type Check struct {
	ID         uuid.UUID
	TenantID   string
	EndpointID uuid.UUID
	URL        string // the endpoint's URL when the check started
	EventType  string // whose example the payload is; "" for hookd's own
	Payload    []byte // the body of the valid request
	WebhookID  string // of the valid request and its duplicate
	Status     string
	Error      string // why the check was aborted
	CreatedAt  time.Time
	FinishedAt *time.Time
	Results    []CheckResult // those recorded so far, in no particular order
}

// CheckResult is one row of a check's report: what was sent, what came
// back, and the verdict.
type CheckResult struct {
	Name    string
	Verdict string
	Sent    string // what was sent, in words
	Got     string // what came back, in words
	Fix     string // what to change; "" on a pass
	// Attempt is the request and its answer, as an attempt of the attempt
	// log would hold them (its delivery, message and replay ids are zero).
	Attempt Attempt
}

// CheckTooSoonError is returned by [Store.CreateCheck] when the endpoint
// was checked too recently, or a check of it is still running.
type CheckTooSoonError struct {
	Wait    time.Duration // until a new check may start
	Running bool          // a check of the endpoint is still running
}

func (e *CheckTooSoonError) Error() string {
	if e.Running {
		return "a check of this endpoint is still running"
	}
	return fmt.Sprintf("this endpoint was checked less than a minute ago; try again in %s", e.Wait.Round(time.Second))
}

// CreateCheck stores a new running check of an endpoint, unless one was
// created less than every ago, or one created less than busyFor ago is still
// running: then it returns a *CheckTooSoonError. It locks the endpoint's
// row, so call it in a transaction (with the job that runs the check) for
// the limit to hold between concurrent callers. It keeps only the
// endpoint's latest 20 checks. ErrNotFound when the tenant has no such
// endpoint.
func (s *Store) CreateCheck(ctx context.Context, c Check, every, busyFor time.Duration) (Check, error) {
	if c.ID == uuid.Nil {
		c.ID = NewID()
	}
	var locked uuid.UUID
	if err := s.db.QueryRow(ctx, `SELECT id FROM endpoints WHERE tenant_id = $1 AND id = $2 FOR NO KEY UPDATE`,
		c.TenantID, c.EndpointID).Scan(&locked); err != nil {
		return Check{}, fmt.Errorf("create check of %s: %w", c.EndpointID, mapErr(err))
	}
	var status string
	var ageUS int64
	err := s.db.QueryRow(ctx, `SELECT status, (extract(epoch FROM now() - created_at) * 1000000)::bigint
		FROM checks WHERE endpoint_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1`, c.EndpointID).Scan(&status, &ageUS)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Check{}, fmt.Errorf("create check of %s: %w", c.EndpointID, err)
	}
	if err == nil { // the endpoint was checked before
		age := time.Duration(ageUS) * time.Microsecond
		if status == CheckRunning && age < busyFor {
			return Check{}, &CheckTooSoonError{Wait: max(every-age, 10*time.Second), Running: true}
		}
		if age < every {
			return Check{}, &CheckTooSoonError{Wait: every - age}
		}
	}
	err = s.db.QueryRow(ctx, `INSERT INTO checks (id, tenant_id, endpoint_id, url, event_type, payload, webhook_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING status, created_at`,
		c.ID, c.TenantID, c.EndpointID, c.URL, c.EventType, c.Payload, c.WebhookID).Scan(&c.Status, &c.CreatedAt)
	if err != nil {
		return Check{}, fmt.Errorf("create check of %s: %w", c.EndpointID, mapErr(err))
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM checks WHERE endpoint_id = $1 AND id NOT IN (
			SELECT id FROM checks WHERE endpoint_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2)`,
		c.EndpointID, keptChecks); err != nil {
		return Check{}, fmt.Errorf("trim checks of %s: %w", c.EndpointID, err)
	}
	c.Results = nil
	return c, nil
}

const checkCols = `c.id, c.tenant_id, c.endpoint_id, c.url, c.event_type, c.payload, c.webhook_id, c.status, c.error,
	c.created_at, c.finished_at`

func checkDest(c *Check) []any {
	return []any{&c.ID, &c.TenantID, &c.EndpointID, &c.URL, &c.EventType, &c.Payload, &c.WebhookID, &c.Status, &c.Error,
		&c.CreatedAt, &c.FinishedAt}
}

// GetCheck returns one check of a tenant's endpoint with its results;
// ErrNotFound when there is no such check.
func (s *Store) GetCheck(ctx context.Context, tenant string, endpoint, id uuid.UUID) (Check, error) {
	var c Check
	err := s.db.QueryRow(ctx, `SELECT `+checkCols+` FROM checks c
		WHERE c.tenant_id = $1 AND c.endpoint_id = $2 AND c.id = $3`, tenant, endpoint, id).Scan(checkDest(&c)...)
	if err != nil {
		return Check{}, fmt.Errorf("get check %s: %w", id, mapErr(err))
	}
	list := []Check{c}
	if err := s.fillCheckResults(ctx, list); err != nil {
		return Check{}, err
	}
	return list[0], nil
}

// ListChecks lists the checks of a tenant's endpoint, newest first, with
// their results.
func (s *Store) ListChecks(ctx context.Context, tenant string, endpoint uuid.UUID, p Page) ([]Check, string, error) {
	before, err := decodeIDCursor(p.Cursor)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.db.Query(ctx, `SELECT `+checkCols+` FROM checks c
		WHERE c.tenant_id = $1 AND c.endpoint_id = $2 AND ($3::uuid IS NULL OR c.id < $3)
		ORDER BY c.id DESC LIMIT $4`, tenant, endpoint, before, p.Limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list checks: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Check, error) {
		var c Check
		return c, r.Scan(checkDest(&c)...)
	})
	if err != nil {
		return nil, "", fmt.Errorf("list checks: %w", err)
	}
	list, next := pageOf(list, p.Limit, func(c Check) string { return c.ID.String() })
	if err := s.fillCheckResults(ctx, list); err != nil {
		return nil, "", err
	}
	return list, next, nil
}

const checkResultCols = `check_id, name, verdict, sent, got, fix, url, request_headers, coalesce(status_code, 0),
	response_headers, coalesce(response_body, ''::bytea), body_truncated, error_class, error, remote_addr, duration_ms,
	timings, started_at`

// fillCheckResults reads the results of checks into them.
func (s *Store) fillCheckResults(ctx context.Context, checks []Check) error {
	if len(checks) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(checks))
	at := make(map[uuid.UUID]int, len(checks))
	for i, c := range checks {
		ids[i], at[c.ID] = c.ID, i
	}
	rows, err := s.db.Query(ctx, `SELECT `+checkResultCols+` FROM check_results WHERE check_id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("check results: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id uuid.UUID
		var r CheckResult
		a := &r.Attempt
		var reqH, respH, tims []byte
		var dur int
		if err := rows.Scan(&id, &r.Name, &r.Verdict, &r.Sent, &r.Got, &r.Fix, &a.URL, &reqH, &a.StatusCode, &respH,
			&a.ResponseBody, &a.BodyTruncated, &a.ErrorClass, &a.Error, &a.RemoteAddr, &dur, &tims, &a.StartedAt); err != nil {
			return fmt.Errorf("check results: %w", err)
		}
		c := &checks[at[id]]
		a.TenantID, a.EndpointID, a.Trigger = c.TenantID, c.EndpointID, TriggerCheck
		a.Status = AttemptFailed
		if a.ErrorClass == "" && a.StatusCode >= 200 && a.StatusCode < 300 {
			a.Status = AttemptSucceeded
		}
		a.Duration = time.Duration(dur) * time.Millisecond
		_ = json.Unmarshal(reqH, &a.RequestHeaders)
		_ = json.Unmarshal(respH, &a.ResponseHeaders)
		a.Timings = parseTimings(tims)
		c.Results = append(c.Results, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check results: %w", err)
	}
	return nil
}

// CheckWork is what running a check needs: the check with the results
// recorded so far, its endpoint (custom headers decrypted) and the
// endpoint's signing keys.
type CheckWork struct {
	Check    Check
	Endpoint Endpoint
	Secrets  []string // the current key first, then unexpired rotated-out keys
	// SecretsErr is set (wrapping ErrSecretKey) when the keys or the custom
	// headers cannot be decrypted; Secrets is then empty.
	SecretsErr error
}

// LoadCheckWork loads a check for running it; ErrNotFound when it is gone
// (with its endpoint).
func (s *Store) LoadCheckWork(ctx context.Context, id uuid.UUID) (CheckWork, error) {
	var w CheckWork
	var headers string
	dest := append(checkDest(&w.Check), endpointDest(&w.Endpoint, &headers)...)
	err := s.db.QueryRow(ctx, `SELECT `+checkCols+`, `+prefixed("e.", endpointCols)+`,
			ARRAY(SELECT s.secret FROM endpoint_secrets s WHERE s.endpoint_id = e.id
				AND (s.expires_at IS NULL OR s.expires_at > now()) ORDER BY s.expires_at DESC NULLS FIRST)
		FROM checks c JOIN endpoints e ON e.id = c.endpoint_id WHERE c.id = $1`, id).Scan(append(dest, &w.Secrets)...)
	if err != nil {
		return CheckWork{}, fmt.Errorf("load check %s: %w", id, mapErr(err))
	}
	list := []Check{w.Check}
	if err := s.fillCheckResults(ctx, list); err != nil {
		return CheckWork{}, err
	}
	w.Check = list[0]
	if err := s.openEndpointHeaders(&w.Endpoint, headers); err != nil {
		w.Secrets, w.SecretsErr = nil, fmt.Errorf("load check %s: %w", id, err)
		return w, nil
	}
	for i, v := range w.Secrets {
		plain, err := s.cipher.open(v, w.Endpoint.ID.String())
		if err != nil {
			w.Secrets, w.SecretsErr = nil, fmt.Errorf("keys of endpoint %s: %w", w.Endpoint.ID, err)
			break
		}
		w.Secrets[i] = plain
	}
	return w, nil
}

// RecordCheckResults stores results of a check, replacing those of the
// same names. ErrNotFound when the check is gone.
func (s *Store) RecordCheckResults(ctx context.Context, check uuid.UUID, results []CheckResult) error {
	b := &pgx.Batch{}
	for _, r := range results {
		a := r.Attempt
		var code *int
		if a.StatusCode != 0 {
			code = &a.StatusCode
		}
		b.Queue(`INSERT INTO check_results (check_id, name, verdict, sent, got, fix, url, request_headers, status_code,
				response_headers, response_body, body_truncated, error_class, error, remote_addr, duration_ms, timings,
				started_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
			ON CONFLICT (check_id, name) DO UPDATE SET verdict = excluded.verdict, sent = excluded.sent,
				got = excluded.got, fix = excluded.fix, url = excluded.url, request_headers = excluded.request_headers,
				status_code = excluded.status_code, response_headers = excluded.response_headers,
				response_body = excluded.response_body, body_truncated = excluded.body_truncated,
				error_class = excluded.error_class, error = excluded.error, remote_addr = excluded.remote_addr,
				duration_ms = excluded.duration_ms, timings = excluded.timings, started_at = excluded.started_at`,
			check, r.Name, r.Verdict, r.Sent, r.Got, r.Fix, a.URL, headerJSON(a.RequestHeaders), code,
			headerJSON(a.ResponseHeaders), a.ResponseBody, a.BodyTruncated, a.ErrorClass, a.Error, a.RemoteAddr,
			int32(a.Duration.Milliseconds()), a.Timings.json(), a.StartedAt)
	}
	if err := s.db.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record results of check %s: %w", check, mapErr(err))
	}
	return nil
}

// FinishCheck ends a running check with status (CheckFinished or
// CheckAborted, with why in reason). A check already ended is left as it
// is.
func (s *Store) FinishCheck(ctx context.Context, check uuid.UUID, status, reason string) error {
	if _, err := s.db.Exec(ctx, `UPDATE checks SET status = $2, error = $3, finished_at = now()
		WHERE id = $1 AND status = 'running'`, check, status, reason); err != nil {
		return fmt.Errorf("finish check %s: %w", check, err)
	}
	return nil
}

func parseTimings(b []byte) Timings {
	var t timingsJSON
	_ = json.Unmarshal(b, &t)
	d := func(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
	return Timings{DNS: d(t.DNS), Connect: d(t.Connect), TLS: d(t.TLS), TTFB: d(t.TTFB)}
}
