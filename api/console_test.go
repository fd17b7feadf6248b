package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The cross-tenant routes the operators' console reads: failing endpoints,
// deliveries and River's queue.

func TestConsoleRoutesNeedAnAdminKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tenant := h.tenant(t)
	_, key := h.tenantKey(t, tenant)
	for _, path := range []string{"/api/v1/endpoints/failing", "/api/v1/deliveries", "/api/v1/deliveries?tenant_id=" + tenant, "/api/v1/queue"} {
		status, header, raw := h.do(t, http.MethodGet, path, key, nil)
		p := requireProblem(t, http.StatusForbidden, status, header, raw)
		require.Contains(t, p.Detail, "admin key")
		status, header, raw = h.do(t, http.MethodGet, path, "", nil)
		requireProblem(t, http.StatusUnauthorized, status, header, raw)
	}
}

func TestFailingEndpointsAndDeliveries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil) // two quick retries, then failed
	et := h.eventType(t, "")
	broken := newReceiver(t, func(int) (int, string) { return http.StatusInternalServerError, "down for maintenance" })
	fine := newReceiver(t, nil)
	acme, globex := h.tenant(t), h.tenant(t)

	bad := h.endpoint(t, acme, obj{"url": broken.url, "description": "billing"})
	h.endpoint(t, globex, obj{"url": fine.url})
	off := h.endpoint(t, globex, obj{"url": fine.url, "disabled": true, "disabled_reason": "moving servers"})

	failedMsg := h.publish(t, acme, et, `{"n": 1}`)
	h.waitDelivery(t, acme, failedMsg["id"].(string), "failed")
	okMsg := h.publish(t, globex, et, `{"n": 2}`) // the disabled endpoint's is parked
	h.waitDelivery(t, globex, okMsg["id"].(string), "succeeded")

	// Failing: the broken endpoint (latest attempt failed) and the disabled
	// one; not the healthy one. Newest problem first.
	list := h.list(t, "/api/v1/endpoints/failing", adminKey)
	require.Len(t, list.Data, 2, "%v", list.Data)
	byID := map[string]obj{}
	for _, e := range list.Data {
		byID[e["id"].(string)] = e
	}
	b := byID[bad["id"].(string)]
	require.NotNil(t, b, "the broken endpoint is listed")
	require.Equal(t, acme, b["tenant_id"])
	require.Equal(t, broken.url, b["url"])
	require.EqualValues(t, 500, b["last_status_code"])
	require.EqualValues(t, 1, b["failed_deliveries"])
	require.NotNil(t, b["last_attempt_at"])
	bh := b["health"].(obj)
	require.NotNil(t, bh["failing_since"], "its run of failures has begun")
	require.Equal(t, "answered 500 Internal Server Error: down for maintenance", bh["last_error"], "what its server answered")
	require.Equal(t, "closed", b["circuit"].(obj)["state"])
	require.EqualValues(t, 0, b["parked_count"])
	o := byID[off["id"].(string)]
	require.NotNil(t, o, "the disabled endpoint is listed")
	require.Equal(t, true, o["disabled"])
	require.Equal(t, "moving servers", o["disabled_reason"])
	require.Nil(t, o["last_attempt_at"])
	require.EqualValues(t, 0, o["failed_deliveries"])
	require.Equal(t, "disabled", o["health"].(obj)["state"])
	require.EqualValues(t, 1, o["parked_count"], "the message published while it was disabled waits for it")
	p0, _ := time.Parse(time.RFC3339Nano, list.Data[0]["problem_at"].(string))
	p1, _ := time.Parse(time.RFC3339Nano, list.Data[1]["problem_at"].(string))
	require.False(t, p0.Before(p1), "newest problem first")

	// Paging: one at a time, the same two.
	first := h.list(t, "/api/v1/endpoints/failing?limit=1", adminKey)
	require.Len(t, first.Data, 1)
	require.NotNil(t, first.NextCursor)
	second := h.list(t, "/api/v1/endpoints/failing?limit=1&cursor="+url.QueryEscape(*first.NextCursor), adminKey)
	require.Len(t, second.Data, 1)
	require.Nil(t, second.NextCursor)
	require.Equal(t, list.Data[1]["id"], second.Data[0]["id"])

	// Deliveries across tenants: the failed one, with its event type and
	// latest answer.
	failed := h.list(t, "/api/v1/deliveries?status=failed", adminKey)
	require.Len(t, failed.Data, 1)
	d := failed.Data[0]
	require.Equal(t, acme, d["tenant_id"])
	require.Equal(t, failedMsg["id"], d["message_id"])
	require.Equal(t, bad["id"], d["endpoint_id"])
	require.Equal(t, broken.url, d["endpoint_url"])
	require.Equal(t, et, d["event_type"])
	require.Equal(t, "failed", d["status"])
	require.EqualValues(t, 3, d["attempts"], "the first try and two retries")
	require.EqualValues(t, 500, d["last_status_code"])

	// All deliveries, newest first: the healthy endpoint's too, and the
	// one parked for the disabled endpoint.
	all := h.list(t, "/api/v1/deliveries", adminKey)
	require.Len(t, all.Data, 3)
	require.Equal(t, okMsg["id"], all.Data[0]["message_id"], "newest first")
	for _, tc := range []struct {
		query string
		n     int
	}{
		{"status=succeeded", 1},
		{"status=parked", 1},
		{"tenant_id=" + globex, 2},
		{"tenant_id=" + acme + "&status=failed", 1},
		{"endpoint_id=" + bad["id"].(string), 1},
		{"event_type=" + et, 3},
		{"event_type=nope.nothing", 0},
		{"since=" + url.QueryEscape(time.Now().Add(time.Hour).Format(time.RFC3339)), 0},
		{"until=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)), 0},
		{"since=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339)), 3},
	} {
		got := h.list(t, "/api/v1/deliveries?"+tc.query, adminKey)
		require.Len(t, got.Data, tc.n, "?%s", tc.query)
	}
	page1 := h.list(t, "/api/v1/deliveries?limit=1", adminKey)
	require.NotNil(t, page1.NextCursor)
	page2 := h.list(t, "/api/v1/deliveries?limit=1&cursor="+*page1.NextCursor, adminKey)
	require.Len(t, page2.Data, 1)
	require.Less(t, page2.Data[0]["id"].(string), page1.Data[0]["id"].(string), "newest first")

	// Bad filters are refused by name.
	for field, query := range map[string]string{
		"status":      "status=lost",
		"endpoint_id": "endpoint_id=42",
		"since":       "since=yesterday",
		"until":       "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
		"tenant_id":   "tenant_id=" + url.QueryEscape("a b"),
		"limit":       "limit=1000",
		"cursor":      "cursor=nope",
	} {
		status, header, raw := h.do(t, http.MethodGet, "/api/v1/deliveries?"+query, adminKey, nil)
		requireInvalid(t, field, status, header, raw)
	}
	status, header, raw := h.do(t, http.MethodGet, "/api/v1/endpoints/failing?cursor=nope", adminKey, nil)
	requireInvalid(t, "cursor", status, header, raw)
}

func TestQueue(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.eventType(t, "")
	rc := newReceiver(t, nil)
	tenant := h.tenant(t)
	h.endpoint(t, tenant, obj{"url": rc.url})
	m := h.publish(t, tenant, et, `{"n": 1}`)
	h.waitDelivery(t, tenant, m["id"].(string), "succeeded")

	type queues struct {
		Queues []struct {
			Name   string         `json:"name"`
			Counts map[string]int `json:"counts"`
		} `json:"queues"`
		At string `json:"at"`
	}
	var q queues
	eventually(t, func() (bool, string) {
		status, _, raw := h.do(t, http.MethodGet, "/api/v1/queue", adminKey, nil)
		q = decode[queues](t, http.StatusOK, status, raw)
		completed := 0
		for _, x := range q.Queues {
			completed += x.Counts["completed"]
		}
		return completed >= 1, "the delivery job is completed: " + string(raw)
	})
	names := []string{}
	for _, x := range q.Queues {
		names = append(names, x.Name)
		require.Len(t, x.Counts, 8, "every state is counted")
	}
	require.Contains(t, names, "deliver")
	require.Contains(t, names, "fanout")
	require.NotEmpty(t, q.At)
}

// An endpoint in a run of failures is listed as failing even when its
// attempts are gone (as the retention prunes them), with its last error.
func TestFailingEndpointsListARunOfFailures(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.eventType(t, "")
	broken := newReceiver(t, func(int) (int, string) { return http.StatusBadGateway, "no upstream" })
	tn := h.tenant(t)
	ep := h.endpoint(t, tn, obj{"url": broken.url})
	m := h.publish(t, tn, et, `{"n": 1}`)
	h.waitDelivery(t, tn, m["id"].(string), "failed")
	path := "/api/v1/tenants/" + tn + "/endpoints/" + ep["id"].(string)
	eventually(t, func() (bool, string) {
		status, _, raw := h.do(t, http.MethodGet, path, adminKey, nil)
		got := decode[obj](t, http.StatusOK, status, raw)["health"].(obj)
		return got["failing_since"] != nil, fmt.Sprintf("health %v", got)
	})
	_, err := h.pool.Exec(context.Background(), `DELETE FROM attempts WHERE endpoint_id = $1`, ep["id"])
	require.NoError(t, err)

	list := h.list(t, "/api/v1/endpoints/failing", adminKey)
	require.Len(t, list.Data, 1)
	e := list.Data[0]
	require.Equal(t, ep["id"], e["id"])
	require.Nil(t, e["last_attempt_at"], "no attempt is left")
	require.Equal(t, "answered 502 Bad Gateway: no upstream", e["health"].(obj)["last_error"])
	require.Equal(t, e["health"].(obj)["last_failure_at"], e["problem_at"], "the trouble was last seen at its last failure")
}
