package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/hookd/hookd/store"
)

// Receiver self-check. A customer asks for a check of their endpoint
// (StartCheck, from the portal or the API); a check job on a worker sends
// seven requests to it, one after the other, each marked with the header
// `webhook-check: <name>`, and records a report of eight rows (CheckSpecs):
// correctly signed requests must be accepted, and fast; forged, tampered,
// stale and future ones refused with a 4xx; a duplicate and a request
// signed with a rotated key accepted.
//
// The requests go through the same Sender as deliveries (the private-address
// guard, no redirects, the delivery timeout) but are not deliveries: they
// are kept with their check (store.CheckResult), never in the attempt log,
// so they never count toward the endpoint's health, its circuit or
// auto-disable, and what the receiver answers (410, webhook-delivery:
// disable) changes nothing. A disabled endpoint can be checked: that is
// when its owner wants to know whether it works again.
//
// Why a job and not the API request: the seven requests may take up to
// seven delivery timeouts (15 s each by default), longer than an API
// request should; the worker nodes are where outbound HTTP happens; and a
// job survives a restart (it resumes after the rows it recorded). The
// caller gets the running check at once and polls it.

// QueueCheck runs receiver self-checks.
const QueueCheck = "check"

// CheckInterval is the least time between two checks of one endpoint.
const CheckInterval = time.Minute

// FastAnswer is how quickly a receiver should answer a webhook.
const FastAnswer = 2 * time.Second

// checkSkew is how far the stale and future timestamps are from now: twice
// the 5 minutes' tolerance of the Standard Webhooks libraries.
const checkSkew = 10 * time.Minute

// checkMaxAttempts bounds how often a check job runs (after a crash or a
// database error); the last failure aborts the check.
const checkMaxAttempts = 3

// Names of a check's rows, in the order of its report.
const (
	CheckValid           = "valid"
	CheckFast            = "fast"
	CheckBadSignature    = "bad_signature"
	CheckTamperedBody    = "tampered_body"
	CheckStaleTimestamp  = "stale_timestamp"
	CheckFutureTimestamp = "future_timestamp"
	CheckDuplicate       = "duplicate"
	CheckRotatedKey      = "rotated_key"
)

// CheckSpec describes one row of a check's report.
type CheckSpec struct {
	Name    string
	Title   string
	Sends   string // what is sent
	Expects string // what a correct receiver does
}

var checkSpecs = []CheckSpec{
	{CheckValid, "Valid", "a correctly signed example event", "answers 2xx"},
	{CheckFast, "Fast", "the same request", "answers within 2 s"},
	{CheckBadSignature, "Bad signature", "the event with a signature made with a wrong key", "answers 4xx"},
	{CheckTamperedBody, "Tampered body", "the event with one byte of its body changed after signing", "answers 4xx"},
	{CheckStaleTimestamp, "Stale timestamp", "a valid signature over a timestamp 10 minutes old", "answers 4xx"},
	{CheckFutureTimestamp, "Future timestamp", "a valid signature over a timestamp 10 minutes ahead", "answers 4xx"},
	{CheckDuplicate, "Duplicate", "the valid request again, with the same webhook-id",
		"answers 2xx, and does not act on it twice"},
	{CheckRotatedKey, "Rotated key", "the event signed with the current key and a throwaway second key", "answers 2xx"},
}

// CheckSpecs returns the rows of a check's report, in order.
func CheckSpecs() []CheckSpec { return slices.Clone(checkSpecs) }

// checkBody is what the checks send when no event type with an example
// applies.
const checkBody = `{"type":"webhook.check","data":{"note":"A receiver self-check: not a real event."}}`

// CheckArgs asks for one check to be run.
type CheckArgs struct {
	CheckID uuid.UUID `json:"check_id"`
}

// Kind is never renamed: jobs already queued carry it.
func (CheckArgs) Kind() string { return "hookd.check" }

// InsertOpts puts checks on their own queue.
func (CheckArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueCheck, MaxAttempts: checkMaxAttempts}
}

// checkJobTimeout is how long one run of a check job may take: seven
// requests of at most the delivery timeout, and their writes.
func checkJobTimeout(sendTimeout time.Duration) time.Duration {
	return 7*(sendTimeout+2*time.Second) + 15*time.Second
}

// StartCheck starts a receiver self-check of an endpoint and returns it,
// running. Its valid request carries the example of eventType, or when
// eventType is "" of the first event type (by name) that the endpoint wants
// and that has an example, or else a body of hookd's own.
//
// It returns an error wrapping store.ErrNotFound when the tenant has no such
// endpoint, ErrEventType when eventType is unknown or archived, and a
// *store.CheckTooSoonError when the endpoint was checked less than
// CheckInterval ago or a check of it is still running.
func (s *Service) StartCheck(ctx context.Context, tenant string, endpoint uuid.UUID, eventType string) (store.Check, error) {
	var out store.Check
	err := s.store.InTx(ctx, func(tx pgx.Tx) error {
		st := s.store.WithTx(tx)
		e, err := st.GetEndpoint(ctx, tenant, endpoint)
		if err != nil {
			return err
		}
		c := store.Check{TenantID: tenant, EndpointID: e.ID, URL: e.URL, WebhookID: store.NewID().String(),
			Payload: []byte(checkBody)}
		if c.EventType, c.Payload, err = checkPayload(ctx, st, e, eventType); err != nil {
			return err
		}
		if out, err = st.CreateCheck(ctx, c, CheckInterval, checkJobTimeout(s.cfg.Sender.Timeout)); err != nil {
			return err
		}
		_, err = s.river.InsertTx(ctx, tx, CheckArgs{CheckID: out.ID}, nil)
		return err
	})
	if err != nil {
		return store.Check{}, fmt.Errorf("start check of %s: %w", endpoint, err)
	}
	return out, nil
}

// checkPayload picks the event type and body of a check (see StartCheck).
func checkPayload(ctx context.Context, st *store.Store, e store.Endpoint, name string) (string, []byte, error) {
	if name != "" {
		et, err := st.GetEventType(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return "", nil, fmt.Errorf("%w: %s is not a known event type", ErrEventType, name)
		}
		if err != nil {
			return "", nil, err
		}
		if et.Archived {
			return "", nil, fmt.Errorf("%w: %s is archived", ErrEventType, name)
		}
		if len(et.Example) == 0 {
			return et.Name, []byte(checkBody), nil
		}
		return et.Name, et.Example, nil
	}
	types, _, err := st.ListEventTypes(ctx, false, store.Page{Limit: 250})
	if err != nil {
		return "", nil, err
	}
	slices.SortFunc(types, func(a, b store.EventType) int { return strings.Compare(a.Name, b.Name) })
	for _, et := range types {
		if len(et.Example) > 0 && (len(e.EventTypes) == 0 || matchesEventType(e.EventTypes, et.Name)) {
			return et.Name, et.Example, nil
		}
	}
	return "", []byte(checkBody), nil
}

// checkWorker runs a check's requests and records its report.
type checkWorker struct {
	river.WorkerDefaults[CheckArgs]
	s *Service
}

// Timeout lets a check wait for each of its requests.
func (w *checkWorker) Timeout(*river.Job[CheckArgs]) time.Duration {
	return checkJobTimeout(w.s.cfg.Sender.Timeout)
}

func (w *checkWorker) Work(ctx context.Context, job *river.Job[CheckArgs]) error {
	err := w.s.runCheck(ctx, job.Args.CheckID)
	if err != nil && job.Attempt >= job.MaxAttempts && ctx.Err() == nil {
		// The last try: say so on the check rather than leave it running.
		reason := "hookd could not finish the check: " + err.Error()
		if ferr := w.s.store.FinishCheck(ctx, job.Args.CheckID, store.CheckAborted, reason); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	return err
}

// runCheck sends the requests of a check that are not recorded yet, in
// order, recording each row as it is judged.
func (s *Service) runCheck(ctx context.Context, id uuid.UUID) error {
	w, err := s.store.LoadCheckWork(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted with its endpoint
	}
	if err != nil {
		return err
	}
	if w.Check.Status != store.CheckRunning {
		return nil
	}
	if w.SecretsErr != nil || len(w.Secrets) == 0 {
		s.logger.Error("check cannot sign", "check", id, "endpoint", w.Endpoint.ID, "error", w.SecretsErr)
		return s.store.FinishCheck(ctx, id, store.CheckAborted,
			"hookd cannot read this endpoint's signing key or custom headers; ask the operators to check HOOKD_SECRET_KEY")
	}
	r, err := newCheckRun(s, w)
	if err != nil {
		return err
	}
	for _, step := range checkSteps {
		if r.recorded(step.names...) {
			continue
		}
		rows, err := step.run(ctx, r)
		if err != nil {
			return fmt.Errorf("check %s: %s: %w", id, step.names[0], err)
		}
		if err := s.store.RecordCheckResults(ctx, id, rows); errors.Is(err, store.ErrNotFound) {
			return nil // deleted meanwhile
		} else if err != nil {
			return err
		}
		for _, row := range rows {
			r.done[row.Name] = row
		}
	}
	return s.store.FinishCheck(ctx, id, store.CheckFinished, "")
}

// checkRun is one run of a check's requests.
type checkRun struct {
	s         *Service
	check     store.Check
	endpoint  store.Endpoint
	keys      []string // the endpoint's signing keys, current first
	throwaway string   // a key of the same kind that the receiver cannot know
	done      map[string]store.CheckResult
}

func newCheckRun(s *Service, w store.CheckWork) (*checkRun, error) {
	var throwaway string
	var err error
	if strings.HasPrefix(w.Secrets[0], PrivateKeyPrefix) {
		throwaway, _, err = GenerateKeyPair()
	} else {
		throwaway, err = GenerateSecret()
	}
	if err != nil {
		return nil, err
	}
	r := &checkRun{s: s, check: w.Check, endpoint: w.Endpoint, keys: w.Secrets, throwaway: throwaway,
		done: make(map[string]store.CheckResult, len(checkSpecs))}
	for _, row := range w.Check.Results {
		r.done[row.Name] = row
	}
	return r, nil
}

func (r *checkRun) recorded(names ...string) bool {
	for _, n := range names {
		if _, ok := r.done[n]; !ok {
			return false
		}
	}
	return true
}

// validPassed tells whether the valid request was accepted: until it is,
// refusals of the forged requests show nothing.
func (r *checkRun) validPassed() bool { return r.done[CheckValid].Verdict == store.VerdictPass }

// checkRequest is one request of a check.
type checkRequest struct {
	name     string    // the webhook-check header
	msgID    string    // webhook-id
	ts       time.Time // webhook-timestamp
	body     []byte    // what is sent
	signed   []byte    // what is signed (body unless tampered)
	keys     []string
	describe string // what was sent, for the report
}

// send signs and sends one request, as a delivery attempt would, with the
// webhook-check header.
func (r *checkRun) send(ctx context.Context, q checkRequest) (Result, store.Attempt, error) {
	if q.signed == nil {
		q.signed = q.body
	}
	sig, err := Sign(q.msgID, q.ts, q.signed, q.keys)
	if err != nil {
		return Result{}, store.Attempt{}, err
	}
	h := make(http.Header, len(r.endpoint.Headers)+7)
	for k, v := range r.endpoint.Headers {
		if !reservedHeaders[strings.ToLower(k)] {
			h.Set(k, v)
		}
	}
	h.Set("webhook-id", q.msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(q.ts.Unix(), 10))
	h.Set("webhook-signature", sig)
	h.Set("webhook-check", q.name)
	h.Set("content-type", "application/json")
	h.Set("user-agent", r.s.sender.UserAgent())
	started := time.Now()
	res := r.s.sender.Send(ctx, Request{URL: r.check.URL, Headers: h, Body: q.body})
	if res.ErrorClass == ClassCanceled {
		return res, store.Attempt{}, fmt.Errorf("interrupted: %s", res.Error)
	}
	a := store.Attempt{
		TenantID: r.check.TenantID, EndpointID: r.check.EndpointID, Trigger: store.TriggerCheck,
		StatusCode: res.StatusCode, RequestHeaders: redacted(h, r.endpoint.SecretHeaders),
		ResponseHeaders: res.ResponseHeaders, ResponseBody: res.ResponseBody, BodyTruncated: res.Truncated,
		ErrorClass: res.ErrorClass, Error: res.Error, RemoteAddr: res.RemoteAddr, URL: r.check.URL,
		Duration: res.Duration, StartedAt: started,
		Timings: store.Timings{DNS: res.DNS, Connect: res.Connect, TLS: res.TLS, TTFB: res.TTFB},
	}
	return res, a, nil
}

// checkStep sends one request and judges the rows it answers.
type checkStep struct {
	names []string
	run   func(ctx context.Context, r *checkRun) ([]store.CheckResult, error)
}

var checkSteps = []checkStep{
	{[]string{CheckValid, CheckFast}, func(ctx context.Context, r *checkRun) ([]store.CheckResult, error) {
		q := checkRequest{name: CheckValid, msgID: r.check.WebhookID, ts: time.Now(), body: r.check.Payload, keys: r.keys,
			describe: "a correctly signed example event" + r.payloadOf() + ", webhook-id " + r.check.WebhookID}
		res, a, err := r.send(ctx, q)
		if err != nil {
			return nil, err
		}
		timeout := r.s.cfg.Sender.Timeout
		valid := judgeValid(res, timeout)
		valid.Name, valid.Sent, valid.Attempt = CheckValid, q.describe, a
		fast := judgeFast(res, timeout)
		fast.Name, fast.Sent, fast.Attempt = CheckFast, "the valid request (the same one)", a
		return []store.CheckResult{valid, fast}, nil
	}},
	{[]string{CheckBadSignature}, refusalStep(func(r *checkRun) checkRequest {
		return checkRequest{name: CheckBadSignature, msgID: store.NewID().String(), ts: time.Now(), body: r.check.Payload,
			keys: []string{r.throwaway}, describe: "the example event with a signature made with a key that is not this endpoint's"}
	})},
	{[]string{CheckTamperedBody}, refusalStep(func(r *checkRun) checkRequest {
		body, at := tamper(r.check.Payload)
		return checkRequest{name: CheckTamperedBody, msgID: store.NewID().String(), ts: time.Now(), body: body,
			signed: r.check.Payload, keys: r.keys, describe: fmt.Sprintf(
				"the example event signed correctly, then byte %d of the body changed from %q to %q",
				at+1, r.check.Payload[at], body[at])}
	})},
	{[]string{CheckStaleTimestamp}, refusalStep(func(r *checkRun) checkRequest {
		ts := time.Now().Add(-checkSkew)
		return checkRequest{name: CheckStaleTimestamp, msgID: store.NewID().String(), ts: ts, body: r.check.Payload,
			keys: r.keys, describe: fmt.Sprintf("the example event correctly signed with webhook-timestamp %d, 10 minutes ago", ts.Unix())}
	})},
	{[]string{CheckFutureTimestamp}, refusalStep(func(r *checkRun) checkRequest {
		ts := time.Now().Add(checkSkew)
		return checkRequest{name: CheckFutureTimestamp, msgID: store.NewID().String(), ts: ts, body: r.check.Payload,
			keys: r.keys, describe: fmt.Sprintf("the example event correctly signed with webhook-timestamp %d, 10 minutes ahead", ts.Unix())}
	})},
	{[]string{CheckDuplicate}, acceptStep(func(r *checkRun) checkRequest {
		return checkRequest{name: CheckDuplicate, msgID: r.check.WebhookID, ts: time.Now(), body: r.check.Payload, keys: r.keys,
			describe: "the valid request again with the same webhook-id " + r.check.WebhookID + " (a new timestamp and signature, as on a retry)"}
	})},
	{[]string{CheckRotatedKey}, acceptStep(func(r *checkRun) checkRequest {
		return checkRequest{name: CheckRotatedKey, msgID: store.NewID().String(), ts: time.Now(), body: r.check.Payload,
			keys:     []string{r.throwaway, r.keys[0]},
			describe: "the example event with two signatures: first one of a throwaway key, then one of the current key"}
	})},
}

func (r *checkRun) payloadOf() string {
	if r.check.EventType == "" {
		return ""
	}
	return " (the example of " + r.check.EventType + ")"
}

// refusalStep sends a request a correct receiver refuses.
func refusalStep(build func(*checkRun) checkRequest) func(context.Context, *checkRun) ([]store.CheckResult, error) {
	return func(ctx context.Context, r *checkRun) ([]store.CheckResult, error) {
		q := build(r)
		res, a, err := r.send(ctx, q)
		if err != nil {
			return nil, err
		}
		row := judgeRefusal(q.name, res, r.validPassed(), r.s.cfg.Sender.Timeout)
		row.Name, row.Sent, row.Attempt = q.name, q.describe, a
		return []store.CheckResult{row}, nil
	}
}

// acceptStep sends a request a correct receiver accepts.
func acceptStep(build func(*checkRun) checkRequest) func(context.Context, *checkRun) ([]store.CheckResult, error) {
	return func(ctx context.Context, r *checkRun) ([]store.CheckResult, error) {
		q := build(r)
		res, a, err := r.send(ctx, q)
		if err != nil {
			return nil, err
		}
		row := judgeAcceptance(q.name, res, r.validPassed(), r.s.cfg.Sender.Timeout)
		row.Name, row.Sent, row.Attempt = q.name, q.describe, a
		return []store.CheckResult{row}, nil
	}
}

// tamper returns a copy of body, which is not empty, with one byte
// changed, and its index: the last letter or digit, moved to the next one,
// or else the last byte.
func tamper(body []byte) ([]byte, int) {
	out := slices.Clone(body)
	for i := len(out) - 1; i >= 0; i-- {
		switch c := out[i]; {
		case c == 'z', c == 'Z', c == '9':
			out[i] = map[byte]byte{'z': 'a', 'Z': 'A', '9': '0'}[c]
			return out, i
		case c >= 'a' && c < 'z', c >= 'A' && c < 'Z', c >= '0' && c < '9':
			out[i] = c + 1
			return out, i
		}
	}
	out[len(out)-1] ^= 1
	return out, len(out) - 1
}
