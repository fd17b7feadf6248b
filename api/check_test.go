package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
)

// checkReceiver is a receiver on loopback for self-checks. A strict one
// verifies every request with the Standard Webhooks library on the raw body
// (5 minutes' tolerance) and answers 400 to what does not verify; a lax one
// accepts everything. Either waits delay before answering what it accepts,
// as a receiver does that works before it answers.
type checkReceiver struct {
	url    string
	strict bool
	delay  time.Duration
	mu     sync.Mutex
	secret string
	got    []http.Header
}

func newCheckReceiver(t testing.TB, strict bool, delay time.Duration) *checkReceiver {
	t.Helper()
	rc := &checkReceiver{strict: strict, delay: delay}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, r.Header.Clone())
		secret := rc.secret
		rc.mu.Unlock()
		if rc.strict {
			wh, err := standardwebhooks.NewWebhook(secret)
			if err != nil || wh.Verify(body, r.Header) != nil {
				http.Error(w, "invalid signature", http.StatusBadRequest)
				return
			}
		}
		time.Sleep(rc.delay)
		w.Header().Set("X-Powered-By", "Express")
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/webhooks"
	return rc
}

func (rc *checkReceiver) setSecret(s string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secret = s
}

// checks returns the webhook-check header of each request received.
func (rc *checkReceiver) checks() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []string
	for _, h := range rc.got {
		out = append(out, h.Get("webhook-check"))
	}
	return out
}

type checkRow struct {
	Name    string          `json:"name"`
	Title   string          `json:"title"`
	Sent    string          `json:"sent"`
	Expects string          `json:"expects"`
	Verdict string          `json:"verdict"`
	Got     string          `json:"got"`
	Fix     string          `json:"fix"`
	Attempt json.RawMessage `json:"attempt"`
}

type checkOut struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	Verdict   *string    `json:"verdict"`
	EventType *string    `json:"event_type"`
	Payload   string     `json:"payload"`
	WebhookID string     `json:"webhook_id"`
	Results   []checkRow `json:"results"`
}

func (c checkOut) verdicts() map[string]string {
	out := map[string]string{}
	for _, r := range c.Results {
		out[r.Name] = r.Verdict
	}
	return out
}

func (c checkOut) row(name string) checkRow {
	for _, r := range c.Results {
		if r.Name == name {
			return r
		}
	}
	return checkRow{}
}

// startCheck starts a check of an endpoint and returns where to poll it.
func (h *harness) startCheck(t *testing.T, tenant, endpoint, key string) (checkOut, string) {
	t.Helper()
	status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints/"+endpoint+"/check", key, nil)
	c := decode[checkOut](t, http.StatusAccepted, status, raw)
	require.Equal(t, "running", c.Status)
	require.Nil(t, c.Verdict, "no verdict while running")
	require.Len(t, c.Results, 8, "every row, pending until judged")
	loc := header.Get("Location")
	require.Equal(t, "/api/v1/tenants/"+tenant+"/endpoints/"+endpoint+"/checks/"+c.ID, loc)
	return c, loc
}

// waitCheck polls a check until it is no longer running.
func (h *harness) waitCheck(t *testing.T, loc, key string) checkOut {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		status, _, raw := h.do(t, http.MethodGet, loc, key, nil)
		c := decode[checkOut](t, http.StatusOK, status, raw)
		if c.Status != "running" {
			return c
		}
		require.True(t, time.Now().Before(deadline), "the check never finished: %s", raw)
		time.Sleep(50 * time.Millisecond)
	}
}

var allChecks = []string{"valid", "fast", "bad_signature", "tampered_body", "stale_timestamp", "future_timestamp",
	"duplicate", "rotated_key"}

// sent is what each kind of receiver gets: seven requests, in order, each
// naming its check.
var sentChecks = []string{"valid", "bad_signature", "tampered_body", "stale_timestamp", "future_timestamp",
	"duplicate", "rotated_key"}

func verdictsOf(pass string, except map[string]string) map[string]string {
	out := map[string]string{}
	for _, n := range allChecks {
		out[n] = pass
	}
	for k, v := range except {
		out[k] = v
	}
	return out
}

func TestCheckOfThreeReceivers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tenant := h.tenant(t)
	_, tenantKey := h.tenantKey(t, tenant)
	et := uniq("invoice.paid")
	status, _, raw := h.do(t, http.MethodPost, "/api/v1/event-types", adminKey,
		`{"name": "`+et+`", "example": {"invoice": "in_1", "amount_paid": 4200}}`)
	require.Equal(t, http.StatusCreated, status, "%s", raw)

	correct := newCheckReceiver(t, true, 0)
	lax := newCheckReceiver(t, false, 0)
	slow := newCheckReceiver(t, true, 2500*time.Millisecond)
	type run struct {
		rc       *checkReceiver
		endpoint string
		loc      string
	}
	runs := map[string]*run{"correct": {rc: correct}, "lax": {rc: lax}, "slow": {rc: slow}}
	for _, r := range runs {
		r.endpoint = h.endpoint(t, tenant, obj{"url": r.rc.url})["id"].(string)
		r.rc.setSecret(h.secret(t, tenant, r.endpoint))
	}
	// Tenant keys may run checks of their own endpoints; all three run at once.
	for _, r := range runs {
		_, r.loc = h.startCheck(t, tenant, r.endpoint, tenantKey)
	}

	got := h.waitCheck(t, runs["correct"].loc, tenantKey)
	require.Equal(t, "finished", got.Status)
	require.Equal(t, verdictsOf("pass", nil), got.verdicts(), "the Standard Webhooks library passes every row")
	require.Equal(t, "pass", *got.Verdict)
	require.Equal(t, et, *got.EventType)
	require.JSONEq(t, `{"invoice": "in_1", "amount_paid": 4200}`, got.Payload)
	for _, r := range got.Results {
		require.NotEmpty(t, r.Title)
		require.NotEmpty(t, r.Sent)
		require.NotEmpty(t, r.Expects)
		require.NotEmpty(t, r.Got)
		require.Empty(t, r.Fix, "nothing to fix on a pass")
	}
	var attempt struct {
		Trigger        string              `json:"trigger"`
		StatusCode     int                 `json:"status_code"`
		RequestHeaders map[string][]string `json:"request_headers"`
	}
	require.NoError(t, json.Unmarshal(got.row("bad_signature").Attempt, &attempt))
	require.Equal(t, "check", attempt.Trigger)
	require.Equal(t, http.StatusBadRequest, attempt.StatusCode)
	require.Equal(t, []string{"bad_signature"}, attempt.RequestHeaders["Webhook-Check"])
	require.Equal(t, []string{"[redacted]"}, attempt.RequestHeaders["Webhook-Signature"])
	require.Equal(t, sentChecks, correct.checks())

	got = h.waitCheck(t, runs["lax"].loc, tenantKey)
	require.Equal(t, verdictsOf("pass", map[string]string{"bad_signature": "fail", "tampered_body": "fail",
		"stale_timestamp": "fail", "future_timestamp": "fail"}), got.verdicts(),
		"a receiver that accepts everything fails the signature and timestamp rows")
	require.Equal(t, "fail", *got.Verdict)
	for _, n := range []string{"bad_signature", "tampered_body", "stale_timestamp", "future_timestamp"} {
		require.NotEmpty(t, got.row(n).Fix, n)
		require.Contains(t, got.row(n).Got, "answered 204 No Content", n)
	}
	require.Equal(t, sentChecks, lax.checks())

	got = h.waitCheck(t, runs["slow"].loc, tenantKey)
	require.Equal(t, verdictsOf("pass", map[string]string{"fast": "warn"}), got.verdicts(),
		"a receiver that takes 2.5 s does not pass fast (a warning until the timeout)")
	require.Equal(t, "warn", *got.Verdict)
	require.Regexp(t, `answered in 2\.\d+ s`, got.row("fast").Got)
	require.Contains(t, got.row("fast").Fix, "Answer within 2 s")
	require.Equal(t, sentChecks, slow.checks())

	// Kept and readable; one run per endpoint per minute.
	ep := runs["correct"].endpoint
	base := "/api/v1/tenants/" + tenant + "/endpoints/" + ep
	list := h.list(t, base+"/checks", tenantKey)
	require.Len(t, list.Data, 1)
	require.Equal(t, "finished", list.Data[0]["status"])
	status, header, raw := h.do(t, http.MethodPost, base+"/check", tenantKey, obj{})
	p := requireProblem(t, http.StatusTooManyRequests, status, header, raw)
	require.Contains(t, p.Detail, "less than a minute ago")
	wait, err := strconv.Atoi(header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After: %q", header.Get("Retry-After"))
	require.True(t, wait >= 1 && wait <= 60, "Retry-After: %d", wait)
	require.Len(t, h.list(t, base+"/checks", tenantKey).Data, 1, "the refused run left nothing")

	// Never part of the endpoint's health: no attempts, no stats, not failing.
	for _, r := range runs {
		path := "/api/v1/tenants/" + tenant + "/endpoints/" + r.endpoint
		require.Empty(t, h.list(t, path+"/attempts", tenantKey).Data)
		status, _, raw := h.do(t, http.MethodGet, path+"/stats", tenantKey, nil)
		require.Equal(t, float64(0), decode[obj](t, http.StatusOK, status, raw)["attempts_24h"])
	}
	require.Empty(t, h.list(t, "/api/v1/endpoints/failing", adminKey).Data)
	require.Empty(t, h.list(t, "/api/v1/tenants/"+tenant+"/messages", tenantKey).Data)
}

func TestCheckRefusesBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tenant, other := h.tenant(t), h.tenant(t)
	rc := newCheckReceiver(t, true, 0)
	ep := h.endpoint(t, tenant, obj{"url": rc.url})["id"].(string)
	theirs := h.endpoint(t, other, obj{"url": rc.url})["id"].(string)
	_, key := h.tenantKey(t, tenant)
	base := "/api/v1/tenants/" + tenant + "/endpoints/"
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		status int
		field  string
	}{
		{"another tenant's endpoint", http.MethodPost, base + theirs + "/check", nil, http.StatusNotFound, ""},
		{"no such endpoint", http.MethodPost, base + "0194a2b0-0000-7000-8000-000000000000/check", nil, http.StatusNotFound, ""},
		{"not an id", http.MethodPost, base + "nope/check", nil, http.StatusNotFound, ""},
		{"unknown event type", http.MethodPost, base + ep + "/check", obj{"event_type": "no.such"}, http.StatusUnprocessableEntity, "event_type"},
		{"not an event type name", http.MethodPost, base + ep + "/check", obj{"event_type": "a\u0000b"}, http.StatusUnprocessableEntity, "event_type"},
		{"an unknown field", http.MethodPost, base + ep + "/check", obj{"evnt_type": "x"}, http.StatusBadRequest, ""},
		{"not JSON", http.MethodPost, base + ep + "/check", "{", http.StatusBadRequest, ""},
		{"their checks", http.MethodGet, base + theirs + "/checks", nil, http.StatusNotFound, ""},
		{"no such check", http.MethodGet, base + ep + "/checks/0194a2b0-0000-7000-8000-000000000000", nil, http.StatusNotFound, ""},
		{"not a check id", http.MethodGet, base + ep + "/checks/x", nil, http.StatusNotFound, ""},
		{"a bad cursor", http.MethodGet, base + ep + "/checks?cursor=x", nil, http.StatusUnprocessableEntity, "cursor"},
	} {
		status, header, raw := h.do(t, tc.method, tc.path, key, tc.body)
		p := requireProblem(t, tc.status, status, header, raw)
		if tc.field != "" {
			require.Equal(t, []string{tc.field}, p.fields(), tc.name)
		}
	}
	require.Empty(t, rc.checks(), "nothing was sent")
	require.Empty(t, h.list(t, base+ep+"/checks", key).Data, "nothing was started")

	// A check of someone else's endpoint, found through its own tenant, is not
	// reachable through this one.
	c, _ := h.startCheck(t, other, theirs, adminKey)
	status, header, raw := h.do(t, http.MethodGet, base+theirs+"/checks/"+c.ID, key, nil)
	requireProblem(t, http.StatusNotFound, status, header, raw)
}

func TestCheckOfAReceiverThatTimesOut(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &harnessOpts{SendTimeout: 2200 * time.Millisecond})
	tenant := h.tenant(t)
	rc := newCheckReceiver(t, true, 3*time.Second) // longer than the timeout
	ep := h.endpoint(t, tenant, obj{"url": rc.url})["id"].(string)
	rc.setSecret(h.secret(t, tenant, ep))
	_, loc := h.startCheck(t, tenant, ep, adminKey)
	got := h.waitCheck(t, loc, adminKey)
	require.Equal(t, "fail", got.row("fast").Verdict, "no answer within the timeout fails fast")
	require.Contains(t, got.row("fast").Got, "no complete answer within 2.2s")
	require.Equal(t, "fail", got.row("valid").Verdict)
	require.Contains(t, got.row("valid").Fix, "did not answer within 2.2s")
	require.Equal(t, "warn", got.row("bad_signature").Verdict, "refused at once, but the valid request got no answer")
	require.Equal(t, "fail", *got.Verdict)
	// Not a "pending" row in a finished check.
	for _, r := range got.Results {
		require.NotEqual(t, "pending", r.Verdict, r.Name)
	}
}
