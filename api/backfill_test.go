package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestBackfillSendsPastMessages publishes before an endpoint exists, then
// backfills it: a dry run counts, the backfill sends what its filters
// match (signed, with the messages' own ids, as attempts with trigger
// backfill), records it as a replay, and a second backfill finds nothing.
func TestBackfillSendsPastMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tenant := h.tenant(t)
	paid := h.eventType(t, "")
	other := h.eventType(t, "")
	m1 := h.publish(t, tenant, paid, `{"n":1}`)
	h.publish(t, tenant, other, `{"n":2}`)
	m3 := h.publish(t, tenant, paid, `{"n":3}`)
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)

	rc := newReceiver(t, nil)
	ep := h.endpoint(t, tenant, obj{"url": rc.url, "event_types": []string{paid}})
	require.NotContains(t, ep, "backfill", "no backfill was asked for")
	path := "/api/v1/tenants/" + tenant + "/endpoints/" + ep["id"].(string) + "/backfill"
	status, _, raw := h.do(t, http.MethodPost, path, adminKey, obj{"since": since, "dry_run": true})
	dry := decode[obj](t, http.StatusOK, status, raw)
	require.Equal(t, obj{"matched": 2.0, "dry_run": true, "limit": 10000.0}, dry)
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, rc.requests(), "a dry run sends nothing")

	status, _, raw = h.do(t, http.MethodPost, path, adminKey, obj{"since": since})
	started := decode[obj](t, http.StatusAccepted, status, raw)
	require.EqualValues(t, 2, started["enqueued"])
	require.Equal(t, false, started["more"])
	got := rc.waitRequests(t, 2)
	secret := h.secret(t, tenant, ep["id"].(string))
	var ids []string
	for _, r := range got {
		verify(t, secret, r)
		ids = append(ids, r.header.Get("webhook-id"))
	}
	require.ElementsMatch(t, []string{m1["id"].(string), m3["id"].(string)}, ids, "the past messages, with their own ids")
	h.waitDelivery(t, tenant, m1["id"].(string), "succeeded")
	for _, a := range h.list(t, "/api/v1/tenants/"+tenant+"/endpoints/"+ep["id"].(string)+"/attempts", adminKey).Data {
		require.Equal(t, "backfill", a["trigger"])
	}

	// The record: who, what, how far along.
	eventually(t, func() (bool, string) {
		status, _, raw := h.do(t, http.MethodGet, "/api/v1/replays/"+started["replay_id"].(string), adminKey, nil)
		r := decode[obj](t, http.StatusOK, status, raw)
		f := r["filter"].(obj)
		require.Equal(t, "backfill", f["kind"])
		require.Equal(t, ep["id"], f["endpoint_id"])
		require.Equal(t, "admin", r["created_by"])
		return r["done"] == 2.0 && r["status"] == "finished", "the backfill's record never showed both sent"
	})

	// Again: nothing left. A tenant key backfills its own endpoints only.
	status, _, raw = h.do(t, http.MethodPost, path, adminKey, obj{"since": since, "dry_run": true})
	require.EqualValues(t, 0, decode[obj](t, http.StatusOK, status, raw)["matched"])
	status, _, raw = h.do(t, http.MethodPost, "/api/v1/tenants/"+tenant+"/keys", adminKey, nil)
	key := decode[struct{ Key string }](t, http.StatusCreated, status, raw).Key
	status, _, raw = h.do(t, http.MethodPost, path, key, obj{"since": since})
	require.EqualValues(t, 0, decode[obj](t, http.StatusAccepted, status, raw)["enqueued"])
	stranger := h.tenant(t)
	status, _, raw = h.do(t, http.MethodPost, "/api/v1/tenants/"+stranger+"/keys", adminKey, nil)
	strangerKey := decode[struct{ Key string }](t, http.StatusCreated, status, raw).Key
	status, header, raw := h.do(t, http.MethodPost, path, strangerKey, obj{"since": since})
	requireProblem(t, http.StatusNotFound, status, header, raw)
	require.Len(t, rc.requests(), 2)
}

// TestBackfillOnCreate creates an endpoint with backfill_since: the answer
// says what was queued, and the past message arrives.
func TestBackfillOnCreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tenant := h.tenant(t)
	et := h.eventType(t, "")
	m := h.publish(t, tenant, et, `{"n":1}`)
	rc := newReceiver(t, nil)
	ep := h.endpoint(t, tenant, obj{"url": rc.url, "backfill_since": time.Now().Add(-time.Minute).Format(time.RFC3339Nano)})
	bf := ep["backfill"].(obj)
	require.EqualValues(t, 1, bf["enqueued"])
	require.Equal(t, false, bf["more"])
	got := rc.waitRequests(t, 1)
	require.Equal(t, m["id"], got[0].header.Get("webhook-id"))
	verify(t, h.secret(t, tenant, ep["id"].(string)), got[0])
}

// TestBackfillRefusesBadInput: each mistake is a clear 4xx that sends
// nothing and, on create, creates nothing.
func TestBackfillRefusesBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tenant := h.tenant(t)
	et := h.eventType(t, "")
	h.publish(t, tenant, et, `{"n":1}`)
	rc := newReceiver(t, nil)
	ep := h.endpoint(t, tenant, obj{"url": rc.url})
	path := "/api/v1/tenants/" + tenant + "/endpoints/" + ep["id"].(string)
	for _, tc := range []struct {
		body  any
		field string
		says  string
	}{
		{obj{}, "since", "is required"},
		{obj{"since": "yesterday"}, "since", "RFC 3339"},
		{obj{"since": time.Now().Add(time.Hour).Format(time.RFC3339)}, "since", "in the future"},
		{obj{"since": time.Now().Add(-40 * 24 * time.Hour).Format(time.RFC3339)}, "since", "retention window: messages are kept for 30 days"},
		{obj{"since": 5}, "since", "string"},
	} {
		status, header, raw := h.do(t, http.MethodPost, path+"/backfill", adminKey, tc.body)
		p := requireInvalid(t, tc.field, status, header, raw)
		require.Contains(t, p.Detail, tc.says)
	}
	status, header, raw := h.do(t, http.MethodPost, path+"/backfill", adminKey, obj{"since": time.Now().Format(time.RFC3339), "until": "x"})
	requireProblem(t, http.StatusBadRequest, status, header, raw)
	status, header, raw = h.do(t, http.MethodPatch, path, adminKey, obj{"backfill_since": time.Now().Format(time.RFC3339)})
	requireInvalid(t, "backfill_since", status, header, raw)
	status, header, raw = h.do(t, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints/01936d3c-0000-7000-8000-000000000000/backfill",
		adminKey, obj{"since": time.Now().Format(time.RFC3339)})
	requireProblem(t, http.StatusNotFound, status, header, raw)

	// A disabled endpoint is told to be enabled first.
	status, _, _ = h.do(t, http.MethodPatch, path, adminKey, obj{"disabled": true})
	require.Equal(t, http.StatusOK, status)
	status, header, raw = h.do(t, http.MethodPost, path+"/backfill", adminKey, obj{"since": time.Now().Add(-time.Hour).Format(time.RFC3339)})
	p := requireProblem(t, http.StatusConflict, status, header, raw)
	require.Contains(t, p.Detail, "is disabled")

	// On create: refused before anything is stored.
	before := len(h.list(t, "/api/v1/tenants/"+tenant+"/endpoints", adminKey).Data)
	for _, tc := range []struct {
		body obj
		says string
	}{
		{obj{"url": rc.url, "backfill_since": "last week"}, "RFC 3339"},
		{obj{"url": rc.url, "backfill_since": time.Now().Add(-800 * time.Hour).Format(time.RFC3339)}, "retention window"},
		{obj{"url": rc.url, "disabled": true, "backfill_since": time.Now().Format(time.RFC3339)}, "disabled"},
	} {
		status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints", adminKey, tc.body)
		p := requireInvalid(t, "backfill_since", status, header, raw)
		require.True(t, strings.Contains(p.Detail, tc.says), "detail: %s", p.Detail)
	}
	require.Len(t, h.list(t, "/api/v1/tenants/"+tenant+"/endpoints", adminKey).Data, before, "nothing was created")
	time.Sleep(100 * time.Millisecond)
	require.Empty(t, rc.requests())
}
