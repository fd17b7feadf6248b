package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

// opPath is a path under /api/v1/operational-endpoints.
func opPath(rest string) string { return "/api/v1/operational-endpoints" + rest }

// requireOperationalEvent checks that r is a signed operational webhook of
// type typ whose body matches the document's `webhooks` entry, and returns
// its data.
func requireOperationalEvent(t *testing.T, secret string, r received, typ string) obj {
	t.Helper()
	verify(t, secret, r)
	var ev obj
	require.NoError(t, json.Unmarshal(r.body, &ev), "body: %s", r.body)
	require.Equal(t, typ, ev["type"], "body: %s", r.body)
	checkEventAgainstDocument(t, r.body)
	return ev["data"].(obj)
}

// checkEventAgainstDocument validates an operational webhook's body with
// the schema the document's `webhooks` give its type, as JSON Schema
// 2020-12 (the dialect of OpenAPI 3.1).
func checkEventAgainstDocument(t testing.TB, body []byte) {
	t.Helper()
	var head struct{ Type string }
	require.NoError(t, json.Unmarshal(body, &head))
	item := doc(t).doc.Webhooks[head.Type]
	require.NotNil(t, item, "the document's webhooks have no %s", head.Type)
	schema := item.Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	var v any
	require.NoError(t, json.Unmarshal(body, &v))
	require.NoError(t, schema.VisitJSON(v, openapi3.EnableJSONSchema2020()), "the %s payload breaks its schema in the document: %s", head.Type, body)
}

// TestOperationalWebhooksCatalog checks the document's event catalog: one
// webhook per operational event type, each with an example that its own
// schema accepts.
func TestOperationalWebhooksCatalog(t *testing.T) {
	t.Parallel()
	d := doc(t).doc
	var names []string
	for name, item := range d.Webhooks {
		names = append(names, name)
		require.NotNil(t, item.Post, name)
		require.NotEmpty(t, item.Post.Summary, name)
		schema := item.Post.RequestBody.Value.Content.Get("application/json").Schema.Value
		require.NotEmpty(t, schema.Examples, "%s has an example", name)
		for _, ex := range schema.Examples {
			raw, err := json.Marshal(ex)
			require.NoError(t, err)
			checkEventAgainstDocument(t, raw)
		}
	}
	sort.Strings(names)
	want := slices.Clone(delivery.OperationalEventTypes)
	sort.Strings(want)
	require.Equal(t, want, names, "the document's webhooks are the operational event types")
}

// TestOperationalEndpointsHearOfEndpointChanges registers an operational
// endpoint and changes a customer's endpoint: each change arrives, signed
// with the operational endpoint's secret, as the document describes it.
func TestOperationalEndpointsHearOfEndpointChanges(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ops := newReceiver(t, nil)
	status, _, raw := h.do(t, http.MethodPost, opPath(""), adminKey, obj{"url": ops.url, "description": "On-call",
		"event_types": []string{"endpoint.created", "endpoint.updated", "endpoint.deleted", "endpoint.secret_rotated"}})
	op := decode[obj](t, http.StatusCreated, status, raw)
	require.Equal(t, store.OperationalTenant, op["tenant_id"])
	opID := op["id"].(string)
	status, _, raw = h.do(t, http.MethodGet, opPath("/"+opID+"/secret"), adminKey, nil)
	secret := decode[struct{ Secret string }](t, http.StatusOK, status, raw).Secret
	require.Len(t, h.list(t, opPath(""), adminKey).Data, 1)
	status, _, raw = h.do(t, http.MethodGet, opPath("/"+opID), adminKey, nil)
	require.Equal(t, "On-call", decode[obj](t, http.StatusOK, status, raw)["description"])

	// A customer's endpoint is created, changed, rotated and deleted.
	tenant := h.tenant(t)
	ep := h.endpoint(t, tenant, obj{"url": "http://127.0.0.1:9/customer"})
	epID := ep["id"].(string)
	epPath := "/api/v1/tenants/" + tenant + "/endpoints/" + epID
	got := ops.waitRequests(t, 1)
	data := requireOperationalEvent(t, secret, got[0], "endpoint.created")
	require.Equal(t, tenant, data["tenant_id"])
	require.Equal(t, epID, data["endpoint_id"])
	require.Equal(t, "http://127.0.0.1:9/customer", data["url"])

	status, _, raw = h.do(t, http.MethodPatch, epPath, adminKey, obj{"url": "http://127.0.0.1:9/moved", "description": "moved"})
	require.Equal(t, http.StatusOK, status, "body: %s", raw)
	got = ops.waitRequests(t, 2)
	data = requireOperationalEvent(t, secret, got[1], "endpoint.updated")
	require.Equal(t, []any{"url", "description"}, data["changed"])
	require.Equal(t, "http://127.0.0.1:9/moved", data["url"])
	status, _, raw = h.do(t, http.MethodPatch, epPath, adminKey, obj{"description": "moved"})
	require.Equal(t, http.StatusOK, status, "body: %s", raw)

	status, _, raw = h.do(t, http.MethodPost, epPath+"/secret/rotate", adminKey, obj{"grace_period_seconds": 60})
	require.Equal(t, http.StatusOK, status, "body: %s", raw)
	got = ops.waitRequests(t, 3)
	data = requireOperationalEvent(t, secret, got[2], "endpoint.secret_rotated")
	require.Contains(t, data["reason"], "the previous one signs too until")

	status, _, _ = h.do(t, http.MethodDelete, epPath, adminKey, nil)
	require.Equal(t, http.StatusNoContent, status)
	got = ops.waitRequests(t, 4)
	requireOperationalEvent(t, secret, got[3], "endpoint.deleted")
	time.Sleep(300 * time.Millisecond)
	require.Len(t, ops.requests(), 4, "a PATCH that changes nothing sends nothing")

	// Every event is in the operational endpoint's attempt log.
	var attempts []obj
	eventually(t, func() (bool, string) {
		attempts = h.list(t, opPath("/"+opID+"/attempts"), adminKey).Data
		return len(attempts) == 4, fmt.Sprintf("%d attempts logged, not 4", len(attempts))
	})
	for _, a := range attempts {
		require.Equal(t, "succeeded", a["status"])
		require.Equal(t, "scheduled", a["trigger"])
	}
	require.Len(t, h.list(t, opPath("/"+opID+"/attempts?status=failed"), adminKey).Data, 0)

	// Narrowed to deletions, rotated, and another operational endpoint
	// added: changes to operational endpoints are never reported.
	status, _, raw = h.do(t, http.MethodPatch, opPath("/"+opID), adminKey, obj{"event_types": []string{"endpoint.deleted"}})
	require.Equal(t, []any{"endpoint.deleted"}, decode[obj](t, http.StatusOK, status, raw)["event_types"])
	status, _, raw = h.do(t, http.MethodPost, opPath("/"+opID+"/secret/rotate"), adminKey, obj{"grace_period_seconds": 0})
	rotated := decode[struct{ Secret string }](t, http.StatusOK, status, raw).Secret
	require.NotEqual(t, secret, rotated)
	status, _, raw = h.do(t, http.MethodPost, opPath(""), adminKey, obj{"url": "http://127.0.0.1:9/second-ops"})
	second := decode[obj](t, http.StatusCreated, status, raw)["id"].(string)
	status, _, _ = h.do(t, http.MethodDelete, opPath("/"+second), adminKey, nil)
	require.Equal(t, http.StatusNoContent, status)
	other := h.endpoint(t, tenant, obj{"url": "http://127.0.0.1:9/other"})
	status, _, _ = h.do(t, http.MethodDelete, "/api/v1/tenants/"+tenant+"/endpoints/"+other["id"].(string), adminKey, nil)
	require.Equal(t, http.StatusNoContent, status)
	got = ops.waitRequests(t, 5)
	data = requireOperationalEvent(t, rotated, got[4], "endpoint.deleted")
	require.Equal(t, other["id"], data["endpoint_id"])
	time.Sleep(300 * time.Millisecond)
	require.Len(t, ops.requests(), 5, "only the deletion it chose, and nothing about operational endpoints")

	// The operational tenant is hookd's, not a customer.
	for _, tn := range h.list(t, "/api/v1/tenants?limit=250", adminKey).Data {
		require.NotEqual(t, store.OperationalTenant, tn["id"])
	}
	status, _, _ = h.do(t, http.MethodDelete, opPath("/"+opID), adminKey, nil)
	require.Equal(t, http.StatusNoContent, status)
	status, header, raw := h.do(t, http.MethodGet, opPath("/"+opID), adminKey, nil)
	requireProblem(t, http.StatusNotFound, status, header, raw)
}

// TestOperationalEndpointsRefuseWhatMakesNoSense: bad choices are 422s
// that change nothing; the reserved tenant cannot be used as a customer;
// tenant keys cannot reach operational endpoints.
func TestOperationalEndpointsRefuseWhatMakesNoSense(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, tc := range []struct {
		body  obj
		field string
	}{
		{obj{"url": "http://127.0.0.1:9/ops", "event_types": []string{"invoice.paid"}}, "event_types"},
		{obj{"url": "http://127.0.0.1:9/ops", "event_types": []string{"endpoint.disabled", "invoice.*"}}, "event_types"},
		{obj{"url": "http://127.0.0.1:9/ops", "channels": []string{"eu"}}, "channels"},
		{obj{"url": "ftp://127.0.0.1/ops"}, "url"},
		{obj{"description": "no url"}, "url"},
	} {
		status, header, raw := h.do(t, http.MethodPost, opPath(""), adminKey, tc.body)
		requireInvalid(t, tc.field, status, header, raw)
	}
	require.Empty(t, h.list(t, opPath(""), adminKey).Data, "nothing was created")

	status, _, raw := h.do(t, http.MethodPost, opPath(""), adminKey, obj{"url": "http://127.0.0.1:9/ops", "event_types": []string{"endpoint.*"}})
	opID := decode[obj](t, http.StatusCreated, status, raw)["id"].(string)
	status, header, raw := h.do(t, http.MethodPatch, opPath("/"+opID), adminKey, obj{"event_types": []string{"user.created"}})
	requireInvalid(t, "event_types", status, header, raw)

	tenant := h.tenant(t)
	status, _, raw = h.do(t, http.MethodPost, "/api/v1/tenants/"+tenant+"/keys", adminKey, nil)
	tenantKey := decode[struct{ Key string }](t, http.StatusCreated, status, raw).Key
	status, header, raw = h.do(t, http.MethodGet, opPath(""), tenantKey, nil)
	requireProblem(t, http.StatusForbidden, status, header, raw)
	status, header, raw = h.do(t, http.MethodGet, opPath("/"+opID+"/secret"), tenantKey, nil)
	requireProblem(t, http.StatusForbidden, status, header, raw)
	status, header, raw = h.do(t, http.MethodGet, opPath("/01936d3c-0000-7000-8000-000000000000"), adminKey, nil)
	requireProblem(t, http.StatusNotFound, status, header, raw)

	reserved := "/api/v1/tenants/" + store.OperationalTenant
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{http.MethodPut, reserved, obj{"name": "mine now"}},
		{http.MethodDelete, reserved, nil},
		{http.MethodPost, reserved + "/keys", nil},
		{http.MethodPost, reserved + "/portal-links", obj{}},
		{http.MethodPost, reserved + "/messages", obj{"event_type": "endpoint.disabled", "payload": obj{}}},
		{http.MethodPost, reserved + "/endpoints", obj{"url": "http://127.0.0.1:9/x"}},
		{http.MethodPost, reserved + "/endpoints/" + opID + "/test", obj{"event_type": "endpoint.disabled"}},
	} {
		status, header, raw := h.do(t, tc.method, tc.path, adminKey, tc.body)
		p := requireInvalid(t, "tenant", status, header, raw)
		require.Contains(t, p.Detail, store.OperationalTenant, "%s %s", tc.method, tc.path)
	}
	tn, err := h.st.GetTenant(context.Background(), store.OperationalTenant)
	require.NoError(t, err)
	require.Equal(t, "Operational webhooks", tn.Name, "the reserved tenant is as hookd made it")
	require.Len(t, h.list(t, opPath(""), adminKey).Data, 1)
}

// TestOperationalEndpointHearsOfExhaustedDeliveries: a delivery that fails
// all its attempts is reported with its message and its last answer.
func TestOperationalEndpointHearsOfExhaustedDeliveries(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil) // retries 50 ms apart, twice: three attempts
	ops := newReceiver(t, nil)
	status, _, raw := h.do(t, http.MethodPost, opPath(""), adminKey, obj{"url": ops.url, "event_types": []string{"message.*"}})
	opID := decode[obj](t, http.StatusCreated, status, raw)["id"].(string)
	secret := h.secretOf(t, opPath("/"+opID+"/secret"))

	down := newReceiver(t, func(int) (int, string) { return http.StatusServiceUnavailable, "maintenance" })
	tenant := h.tenant(t)
	et := h.eventType(t, "")
	ep := h.endpoint(t, tenant, obj{"url": down.url})
	m := h.publish(t, tenant, et, `{"id":"inv_1"}`)
	h.waitDelivery(t, tenant, m["id"].(string), "failed")

	got := ops.waitRequests(t, 1)
	data := requireOperationalEvent(t, secret, got[0], "message.attempt.exhausted")
	require.Equal(t, tenant, data["tenant_id"])
	require.Equal(t, ep["id"], data["endpoint_id"])
	require.Equal(t, m["id"], data["message_id"])
	require.Equal(t, et, data["event_type"])
	require.EqualValues(t, 3, data["attempts"])
	require.Equal(t, "the retry schedule is exhausted after 3 attempts", data["reason"])
	last := data["last_attempt"].(obj)
	require.EqualValues(t, 503, last["status_code"])
	attempts := h.list(t, fmt.Sprintf("/api/v1/tenants/%s/messages/%s/attempts", tenant, m["id"]), adminKey).Data
	require.Equal(t, attempts[0]["id"], last["id"], "the newest attempt of the log")
	time.Sleep(300 * time.Millisecond)
	require.Len(t, ops.requests(), 1)
}

// secretOf reads a signing secret from path.
func (h *harness) secretOf(t testing.TB, path string) string {
	t.Helper()
	status, _, raw := h.do(t, http.MethodGet, path, adminKey, nil)
	return decode[struct{ Secret string }](t, http.StatusOK, status, raw).Secret
}
