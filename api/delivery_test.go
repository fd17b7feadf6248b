package api_test

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPublishIsDeliveredSigned(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	et := h.eventType(t, "")
	rc := newReceiver(t, func(int) (int, string) { return http.StatusAccepted, "thanks" })
	ep := h.endpoint(t, tn, obj{"url": rc.url, "headers": obj{"X-Team": "billing"}})
	epID := ep["id"].(string)
	secret := h.secret(t, tn, epID)

	payload := `{"b":1,   "a":2 ,"nested": {"z": [1, 2 ]}, "é": "ü"}`
	m := h.publish(t, tn, et, payload)
	id := m["id"].(string)

	got := rc.waitRequests(t, 1)
	require.Equal(t, payload, string(got[0].body), "the receiver gets the published bytes exactly")
	verify(t, secret, got[0])
	require.Equal(t, id, got[0].header.Get("webhook-id"))
	require.Equal(t, "billing", got[0].header.Get("X-Team"))
	require.Equal(t, "application/json", got[0].header.Get("Content-Type"))

	d := h.waitDelivery(t, tn, id, "succeeded")
	require.Equal(t, epID, d["endpoint_id"])
	require.Equal(t, float64(1), d["attempts"])
	require.Equal(t, float64(http.StatusAccepted), d["last_status_code"])
	require.Nil(t, d["next_attempt_at"])

	for _, path := range []string{"/messages/" + id + "/attempts", "/endpoints/" + epID + "/attempts"} {
		as := h.list(t, "/api/v1/tenants/"+tn+path, adminKey)
		require.Len(t, as.Data, 1, path)
		a := as.Data[0]
		require.Equal(t, float64(http.StatusAccepted), a["status_code"])
		require.Equal(t, "succeeded", a["status"])
		require.Equal(t, "scheduled", a["trigger"])
		require.Equal(t, float64(1), a["attempt"])
		require.Equal(t, "thanks", a["response_body"])
		require.Nil(t, a["error"])
		require.Equal(t, id, a["message_id"])
		require.Equal(t, epID, a["endpoint_id"])
		require.Equal(t, rc.url, a["url"])
		sig, ok := a["request_headers"].(obj)["Webhook-Signature"].([]any)
		require.True(t, ok, "request_headers: %v", a["request_headers"])
		require.NotContains(t, fmt.Sprint(sig), "v1,", "signatures are not shown")
	}

	// The message shows in the endpoint's log and its status filter.
	require.Len(t, h.list(t, "/api/v1/tenants/"+tn+"/messages?endpoint_id="+epID+"&status=succeeded", adminKey).Data, 1)
	require.Empty(t, h.list(t, "/api/v1/tenants/"+tn+"/messages?status=failed", adminKey).Data)
}

func TestSecretRotationKeepsVerifying(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	et := h.eventType(t, "")
	rc := newReceiver(t, nil)
	ep := h.endpoint(t, tn, obj{"url": rc.url})
	epID := ep["id"].(string)
	old := h.secret(t, tn, epID)
	status, _, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/endpoints/"+epID+"/secret/rotate", adminKey,
		obj{"grace_period_seconds": 3600})
	rotated := decode[struct{ Secret string }](t, http.StatusOK, status, raw).Secret

	h.publish(t, tn, et, `{"after":"rotation"}`)
	got := rc.waitRequests(t, 1)
	verify(t, rotated, got[0])
	verify(t, old, got[0]) // during the grace period, the old secret verifies too
}

func TestFailedDeliveryThenResendRecoverReplay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	et := h.eventType(t, "")
	var healthy atomic.Bool
	rc := newReceiver(t, func(int) (int, string) {
		if healthy.Load() {
			return http.StatusOK, "ok"
		}
		return http.StatusInternalServerError, "boom"
	})
	ep := h.endpoint(t, tn, obj{"url": rc.url})
	epID := ep["id"].(string)
	since := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)
	m := h.publish(t, tn, et, `{"n":1}`)
	id := m["id"].(string)
	attemptsPath := "/api/v1/tenants/" + tn + "/messages/" + id + "/attempts"

	// One try and two retries on the 50ms schedule, then failed.
	d := h.waitDelivery(t, tn, id, "failed")
	require.Equal(t, float64(3), d["attempts"])
	require.Equal(t, float64(500), d["last_status_code"])
	as := h.list(t, attemptsPath, adminKey)
	require.Len(t, as.Data, 3)
	for i, a := range as.Data {
		require.Equal(t, float64(3-i), a["attempt"], "newest first")
		require.Equal(t, "failed", a["status"])
		require.Equal(t, float64(500), a["status_code"])
		require.Equal(t, "boom", a["response_body"])
		require.Equal(t, "status", a["error"])
		require.Equal(t, "scheduled", a["trigger"])
	}
	require.Len(t, rc.requests(), 3)
	require.Len(t, h.list(t, "/api/v1/tenants/"+tn+"/messages?status=failed", adminKey).Data, 1)

	// Resend: one manual attempt with the same webhook-id.
	status, _, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages/"+id+"/resend", adminKey, nil)
	requireEnqueued(t, h, 1, status, raw)
	got := rc.waitRequests(t, 4)
	require.Equal(t, id, got[3].header.Get("webhook-id"))
	var manual obj
	require.Eventually(t, func() bool {
		as = h.list(t, attemptsPath, adminKey)
		manual = as.Data[0]
		return len(as.Data) == 4
	}, 10*time.Second, 20*time.Millisecond)
	require.Equal(t, "manual", manual["trigger"])
	require.Equal(t, "boom", manual["response_body"])
	h.waitDelivery(t, tn, id, "failed")

	// Resend to one endpoint; to an unknown one is 404.
	status, _, raw = h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages/"+id+"/resend", adminKey, obj{"endpoint_id": epID})
	requireEnqueued(t, h, 1, status, raw)
	rc.waitRequests(t, 5)
	require.Eventually(t, func() bool { return len(h.list(t, attemptsPath, adminKey).Data) == 5 }, 10*time.Second, 20*time.Millisecond)
	h.waitDelivery(t, tn, id, "failed")
	status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages/"+id+"/resend", adminKey,
		obj{"endpoint_id": "0190a0a0-0000-7000-8000-000000000000"})
	requireProblem(t, http.StatusNotFound, status, header, raw)

	// Recover the endpoint's failed deliveries.
	recoverPath := "/api/v1/tenants/" + tn + "/endpoints/" + epID + "/recover"
	status, header, raw = h.do(t, http.MethodPost, recoverPath, adminKey, obj{})
	requireInvalid(t, "since", status, header, raw)
	status, header, raw = h.do(t, http.MethodPost, recoverPath, adminKey, obj{"since": since, "until": since})
	requireInvalid(t, "until", status, header, raw)
	status, _, raw = h.do(t, http.MethodPost, recoverPath, adminKey, obj{"since": since})
	requireEnqueued(t, h, 1, status, raw)
	rc.waitRequests(t, 6)
	require.Eventually(t, func() bool { return len(h.list(t, attemptsPath, adminKey).Data) == 6 }, 10*time.Second, 20*time.Millisecond)
	h.waitDelivery(t, tn, id, "failed")
	status, _, raw = h.do(t, http.MethodPost, recoverPath, adminKey, obj{"since": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	requireEnqueued(t, h, 0, status, raw, "nothing failed in that window")

	// Bulk replay: a dry run counts, a real one replays and reports progress.
	filter := obj{"tenant_id": tn, "status": "failed", "since": since}
	status, _, raw = h.do(t, http.MethodPost, "/api/v1/replays", adminKey, with(filter, "dry_run", true))
	require.Equal(t, obj{"matched": float64(1), "dry_run": true}, decode[obj](t, http.StatusOK, status, raw))
	status, _, raw = h.do(t, http.MethodPost, "/api/v1/replays", adminKey, with(filter, "event_type", "other.type", "dry_run", true))
	require.Equal(t, obj{"matched": float64(0), "dry_run": true}, decode[obj](t, http.StatusOK, status, raw))
	require.Len(t, rc.requests(), 6, "a dry run sends nothing")

	healthy.Store(true)
	status, _, raw = h.do(t, http.MethodPost, "/api/v1/replays", adminKey, filter)
	replay := decode[obj](t, http.StatusAccepted, status, raw)
	require.Equal(t, float64(1), replay["matched"])
	require.Equal(t, "admin", replay["created_by"])
	require.Equal(t, tn, replay["filter"].(obj)["tenant_id"])
	replayPath := "/api/v1/replays/" + replay["id"].(string)
	require.Eventually(t, func() bool {
		status, _, raw := h.do(t, http.MethodGet, replayPath, adminKey, nil)
		replay = decode[obj](t, http.StatusOK, status, raw)
		return replay["status"] == "finished" && replay["done"] == replay["enqueued"]
	}, 15*time.Second, 20*time.Millisecond, "the replay never finished: %v", replay)
	require.Equal(t, float64(1), replay["enqueued"])
	require.NotNil(t, replay["finished_at"])

	require.Equal(t, "succeeded", h.waitDelivery(t, tn, id, "succeeded")["status"])
	got = rc.waitRequests(t, 7)
	require.Equal(t, id, got[6].header.Get("webhook-id"), "a replay keeps the webhook-id")
	as = h.list(t, attemptsPath, adminKey)
	require.Len(t, as.Data, 7)
	require.Equal(t, "manual", as.Data[0]["trigger"])
	require.Equal(t, "succeeded", as.Data[0]["status"])
	require.Equal(t, float64(200), as.Data[0]["status_code"])

	status, header, raw = h.do(t, http.MethodGet, "/api/v1/replays/0190a0a0-0000-7000-8000-000000000000", adminKey, nil)
	requireProblem(t, http.StatusNotFound, status, header, raw)
}

func TestReplayValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name, field string
		body        obj
	}{
		{"status missing", "status", obj{"since": since}},
		{"status not failed", "status", obj{"status": "succeeded", "since": since}},
		{"since missing", "since", obj{"status": "failed"}},
		{"until before since", "until", obj{"status": "failed", "since": since, "until": "2000-01-01T00:00:00Z"}},
		{"bad tenant id", "tenant_id", obj{"status": "failed", "since": since, "tenant_id": "a b"}},
		{"since not a time", "since", obj{"status": "failed", "since": "yesterday"}},
		{"endpoint_id not an id", "endpoint_id", obj{"status": "failed", "since": since, "endpoint_id": "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, header, raw := h.do(t, http.MethodPost, "/api/v1/replays", adminKey, tc.body)
			requireInvalid(t, tc.field, status, header, raw)
		})
	}
}

// with returns a copy of o with more fields (name, value, ...).
func with(o obj, kv ...any) obj {
	out := obj{}
	for k, v := range o {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// requireEnqueued checks a resend or recover answer: n deliveries queued,
// and a replay on the record that says so.
func requireEnqueued(t *testing.T, h *harness, n int, status int, raw []byte, msgAndArgs ...any) {
	t.Helper()
	got := decode[obj](t, http.StatusAccepted, status, raw)
	require.Equal(t, float64(n), got["enqueued"], msgAndArgs...)
	id, _ := got["replay_id"].(string)
	require.NotEmpty(t, id, "the re-send is recorded as a replay")
	st, _, body := h.do(t, http.MethodGet, "/api/v1/replays/"+id, adminKey, nil)
	replay := decode[obj](t, http.StatusOK, st, body)
	require.Equal(t, float64(n), replay["enqueued"])
	require.Equal(t, "finished", replay["status"])
	require.Equal(t, "admin", replay["created_by"])
}
