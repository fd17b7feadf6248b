package delivery_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// checkReceiver is a receiver on loopback for self-checks: strict verifies
// every request with the Standard Webhooks library (5 minutes' tolerance)
// and answers 401 to what does not verify; otherwise it answers code to
// everything.
type checkReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []received
	code int
}

func newCheckReceiver(t *testing.T, strict bool, code int, header http.Header) *checkReceiver {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(storetest.TestSecret)
	require.NoError(t, err)
	rc := &checkReceiver{code: code}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, path: r.URL.Path})
		rc.mu.Unlock()
		for k, v := range header {
			w.Header()[k] = v
		}
		if strict && wh.Verify(body, r.Header) != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *checkReceiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitCheck waits until a check is no longer running.
func waitCheck(t *testing.T, st *store.Store, c store.Check) store.Check {
	t.Helper()
	var got store.Check
	require.Eventually(t, func() bool {
		var err error
		got, err = st.GetCheck(context.Background(), c.TenantID, c.EndpointID, c.ID)
		require.NoError(t, err)
		return got.Status != store.CheckRunning
	}, 30*time.Second, 20*time.Millisecond, "the check never finished")
	return got
}

func verdicts(c store.Check) map[string]string {
	out := map[string]string{}
	for _, r := range c.Results {
		out[r.Name] = r.Verdict
	}
	return out
}

func result(c store.Check, name string) store.CheckResult {
	for _, r := range c.Results {
		if r.Name == name {
			return r
		}
	}
	return store.CheckResult{}
}

func TestCheckOfACorrectReceiver(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	ctx := context.Background()
	rc := newCheckReceiver(t, true, http.StatusNoContent, nil)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/hook", EventTypes: []string{"invoice.*"},
		Headers: map[string]string{"X-Team": "billing", "Authorization": "Bearer tok_9"}})
	example := `{"invoice": "in_1", "amount": 10}`
	_, err := f.st.CreateEventType(ctx, store.EventType{Name: "invoice.paid", Example: []byte(example)})
	require.NoError(t, err)
	_, err = f.st.CreateEventType(ctx, store.EventType{Name: "a.unwanted", Example: []byte(`{"no": 1}`)})
	require.NoError(t, err)

	c, err := f.svc.StartCheck(ctx, tn.ID, ep.ID, "")
	require.NoError(t, err)
	require.Equal(t, store.CheckRunning, c.Status)
	require.Equal(t, "invoice.paid", c.EventType, "the first event type the endpoint wants, with an example")
	c = waitCheck(t, f.st, c)
	require.Equal(t, store.CheckFinished, c.Status)
	want := map[string]string{}
	for _, s := range delivery.CheckSpecs() {
		want[s.Name] = store.VerdictPass
	}
	require.Equal(t, want, verdicts(c))

	got := rc.requests()
	var names []string
	for _, r := range got {
		names = append(names, r.header.Get("webhook-check"))
		require.Equal(t, "/hook", r.path)
		require.Equal(t, "billing", r.header.Get("X-Team"), "the endpoint's custom headers go with checks too")
		require.Equal(t, "Bearer tok_9", r.header.Get("Authorization"))
	}
	require.Equal(t, []string{"valid", "bad_signature", "tampered_body", "stale_timestamp", "future_timestamp",
		"duplicate", "rotated_key"}, names, "seven requests, each saying which check it is")
	require.Equal(t, example, string(got[0].body))
	require.Equal(t, c.WebhookID, got[0].header.Get("webhook-id"))
	require.Equal(t, c.WebhookID, got[5].header.Get("webhook-id"), "the duplicate repeats the webhook-id")
	require.NotEqual(t, c.WebhookID, got[1].header.Get("webhook-id"))
	require.Len(t, got[2].body, len(example))
	require.NotEqual(t, example, string(got[2].body), "a byte of the tampered body changed")
	require.Contains(t, got[6].header.Get("webhook-signature"), " ", "two signatures")

	valid := result(c, delivery.CheckValid)
	require.Equal(t, store.TriggerCheck, valid.Attempt.Trigger)
	require.Equal(t, http.StatusNoContent, valid.Attempt.StatusCode)
	require.Equal(t, delivery.Redacted, valid.Attempt.RequestHeaders.Get("webhook-signature"))
	require.Equal(t, delivery.Redacted, valid.Attempt.RequestHeaders.Get("Authorization"))
	require.Equal(t, "valid", valid.Attempt.RequestHeaders.Get("webhook-check"))
	require.Contains(t, valid.Got, "answered 204 No Content")
	require.Contains(t, valid.Sent, "invoice.paid")
	require.Equal(t, valid.Attempt.StartedAt, result(c, delivery.CheckFast).Attempt.StartedAt, "fast judges the valid request")
	require.Contains(t, result(c, delivery.CheckTamperedBody).Sent, "changed from")
	require.Contains(t, result(c, delivery.CheckDuplicate).Got, "cannot be seen from here")
	require.Equal(t, http.StatusUnauthorized, result(c, delivery.CheckBadSignature).Attempt.StatusCode)

	// Not deliveries: no message, no attempt, nothing in the endpoint's health.
	requireNoHealthTrace(t, f, tn.ID, ep.ID)

	// One run a minute; an unknown event type is refused.
	_, err = f.svc.StartCheck(ctx, tn.ID, ep.ID, "")
	var soon *store.CheckTooSoonError
	require.ErrorAs(t, err, &soon)
	require.Greater(t, soon.Wait, 50*time.Second)
	_, err = f.svc.StartCheck(ctx, tn.ID, ep.ID, "no.such")
	require.ErrorIs(t, err, delivery.ErrEventType)
	_, err = f.svc.StartCheck(ctx, storetest.Tenant(t, f.st, nil).ID, ep.ID, "")
	require.ErrorIs(t, err, store.ErrNotFound, "another tenant's endpoint")
}

// requireNoHealthTrace checks that nothing of a check shows where an
// endpoint's health is judged.
func requireNoHealthTrace(t *testing.T, f fixture, tenant string, endpoint uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	attempts, _, err := f.st.ListAttempts(ctx, tenant, store.AttemptFilter{EndpointID: endpoint}, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, attempts)
	stats, err := f.st.EndpointStats(ctx, tenant, endpoint, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Zero(t, stats.Attempts)
	require.Nil(t, stats.LastAttemptAt)
	failing, _, err := f.st.FailingEndpoints(ctx, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, failing)
	e, err := f.st.GetEndpoint(ctx, tenant, endpoint)
	require.NoError(t, err)
	require.False(t, e.Disabled, "disabled by a check")
	ms, _, err := f.st.ListMessages(ctx, tenant, store.MessageFilter{}, store.Page{Limit: 10})
	require.NoError(t, err)
	require.Empty(t, ms)
}

func TestCheckNeverCountsTowardHealth(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	ctx := context.Background()
	// Everything a receiver can say to stop deliveries: 410 and the header.
	rc := newCheckReceiver(t, false, http.StatusGone, http.Header{"Webhook-Delivery": {"disable"}})
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	c, err := f.svc.StartCheck(ctx, tn.ID, ep.ID, "")
	require.NoError(t, err)
	require.Equal(t, `{"type":"webhook.check","data":{"note":"A receiver self-check: not a real event."}}`, string(c.Payload),
		"no event type: hookd's own body")
	c = waitCheck(t, f.st, c)
	v := verdicts(c)
	require.Equal(t, store.VerdictFail, v[delivery.CheckValid])
	require.Contains(t, result(c, delivery.CheckValid).Fix, "410 Gone to a real delivery disables the endpoint")
	require.Equal(t, store.VerdictWarn, v[delivery.CheckBadSignature], "refused, but so was the valid request")
	require.Len(t, rc.requests(), 7)
	requireNoHealthTrace(t, f, tn.ID, ep.ID)
}

func TestCheckOfADisabledEndpoint(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	ctx := context.Background()
	rc := newCheckReceiver(t, false, http.StatusOK, nil) // accepts everything
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	ep.Disabled, ep.DisabledReason = true, "failing for 5 days"
	_, err := f.st.UpdateEndpoint(ctx, ep)
	require.NoError(t, err)
	c, err := f.svc.StartCheck(ctx, tn.ID, ep.ID, "")
	require.NoError(t, err, "a disabled endpoint can be checked before it is enabled")
	c = waitCheck(t, f.st, c)
	require.Equal(t, map[string]string{
		delivery.CheckValid: store.VerdictPass, delivery.CheckFast: store.VerdictPass,
		delivery.CheckBadSignature: store.VerdictFail, delivery.CheckTamperedBody: store.VerdictFail,
		delivery.CheckStaleTimestamp: store.VerdictFail, delivery.CheckFutureTimestamp: store.VerdictFail,
		delivery.CheckDuplicate: store.VerdictPass, delivery.CheckRotatedKey: store.VerdictPass,
	}, verdicts(c), "a receiver that accepts everything")
	require.Contains(t, result(c, delivery.CheckBadSignature).Fix, "anyone who knows the URL")
	require.Contains(t, result(c, delivery.CheckStaleTimestamp).Fix, "replayed")
	e, err := f.st.GetEndpoint(ctx, tn.ID, ep.ID)
	require.NoError(t, err)
	require.True(t, e.Disabled, "still disabled")
}

func TestCheckGoesThroughTheGuard(t *testing.T) {
	t.Parallel()
	f := start(t, delivery.Config{}, nil) // the guard as in production: loopback refused
	ctx := context.Background()
	rc := newCheckReceiver(t, true, http.StatusNoContent, nil)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL})
	c, err := f.svc.StartCheck(ctx, tn.ID, ep.ID, "")
	require.NoError(t, err)
	c = waitCheck(t, f.st, c)
	valid := result(c, delivery.CheckValid)
	require.Equal(t, store.VerdictFail, valid.Verdict)
	require.Equal(t, delivery.ClassBlocked, valid.Attempt.ErrorClass)
	require.Contains(t, valid.Got, "not sent")
	require.Contains(t, valid.Fix, "private address")
	require.Empty(t, rc.requests(), "nothing reached the loopback receiver")
}

// TestCheckOfAV1aReceiver checks an ed25519 endpoint with a receiver that
// verifies v1a signatures with crypto/ed25519 (any one of them) and the
// timestamp within 5 minutes: every row passes, and the wrong and
// throwaway keys are ed25519 keys too.
func TestCheckOfAV1aReceiver(t *testing.T) {
	t.Parallel()
	f := setup(t, delivery.Config{})
	ctx := context.Background()
	whsk, pub := v1aKey(t)
	var mu sync.Mutex
	var sigs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := received{header: r.Header, body: body}
		mu.Lock()
		sigs = append(sigs, strings.Fields(r.Header.Get("webhook-signature"))...)
		mu.Unlock()
		ts, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute {
			http.Error(w, "stale", http.StatusBadRequest)
			return
		}
		for _, sig := range strings.Fields(r.Header.Get("webhook-signature")) {
			if verifyEd25519(got, sig, pub) {
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		http.Error(w, "bad signature", http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	tn := storetest.Tenant(t, f.st, nil)
	ep := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: srv.URL, SignatureScheme: "v1a", Secret: whsk})
	c, err := f.svc.StartCheck(ctx, tn.ID, ep.ID, "")
	require.NoError(t, err)
	c = waitCheck(t, f.st, c)
	for _, r := range c.Results {
		require.Equal(t, store.VerdictPass, r.Verdict, "%s: %s %s", r.Name, r.Got, r.Fix)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, sigs, 8, "seven requests, the rotated one with two signatures")
	for _, s := range sigs {
		require.True(t, strings.HasPrefix(s, "v1a,"), s)
	}
}
