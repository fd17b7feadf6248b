package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Schemas of two versions of one event: v1 has amount in euros, v2 in
// cents with a currency.
const (
	v1Schema = `{"type": "object", "required": ["amount"], "properties": {"amount": {"type": "number"}}}`
	v2Schema = `{"type": "object", "required": ["amount_cents", "currency"], "properties": {
		"amount_cents": {"type": "integer"}, "currency": {"type": "string"}}}`
)

// versionedEventType creates an event type with versions 1 and 2 and
// returns its name.
func (h *harness) versionedEventType(t testing.TB) string {
	t.Helper()
	name := uniq("invoice.paid")
	body := fmt.Sprintf(`{"name": %q, "description": "An invoice was paid.", "versions": {
		"1": {"schema": %s, "example": {"amount": 42.5}},
		"2": {"schema": %s, "example": {"amount_cents": 4250, "currency": "eur"}, "changes": "amount is in cents, with its currency"}}}`,
		name, v1Schema, v2Schema)
	status, _, raw := h.do(t, http.MethodPost, "/api/v1/event-types", adminKey, body)
	et := decode[obj](t, http.StatusCreated, status, raw)
	require.Equal(t, float64(2), et["version"], "the highest version is the latest")
	return name
}

// attemptsOf lists a message's attempts.
func (h *harness) attemptsOf(t testing.TB, tenant, message string) []obj {
	t.Helper()
	return h.list(t, "/api/v1/tenants/"+tenant+"/messages/"+message+"/attempts", adminKey).Data
}

// deliveryTo is the delivery of a message to one endpoint.
func deliveryTo(t testing.TB, m obj, endpoint string) obj {
	t.Helper()
	for _, d := range m["deliveries"].([]any) {
		if d.(obj)["endpoint_id"] == endpoint {
			return d.(obj)
		}
	}
	t.Fatalf("message %v has no delivery to %s", m["id"], endpoint)
	return nil
}

// TestEachEndpointGetsItsPinnedVersion publishes an event in two versions
// to two endpoints, one pinned to v1 and one pinned to nothing: each gets
// its version's exact bytes, signed over them, with webhook-version. A
// publish without the pinned version is accepted, delivered to the other
// endpoint, and fails for the pinned one with error class version.
func TestEachEndpointGetsItsPinnedVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.versionedEventType(t)
	tn := h.tenant(t)
	oldRC, newRC := newReceiver(t, nil), newReceiver(t, nil)
	pinned := h.endpoint(t, tn, obj{"url": oldRC.url, "version_pins": obj{et: 1}})
	require.Equal(t, obj{et: float64(1)}, pinned["version_pins"])
	latest := h.endpoint(t, tn, obj{"url": newRC.url})
	require.Equal(t, obj{}, latest["version_pins"])
	pinnedSecret, latestSecret := h.secret(t, tn, pinned["id"].(string)), h.secret(t, tn, latest["id"].(string))

	// Odd spacing and key order: the bytes, not the JSON value, are sent.
	v1 := `{ "amount" :12.5,"note":"v1"  }`
	v2 := `{"currency":"eur",   "amount_cents": 1250}`
	body := fmt.Sprintf(`{"event_type": %q, "payloads": {"1": %s, "2": %s}}`, et, v1, v2)
	status, _, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey, body)
	msg := decode[obj](t, http.StatusAccepted, status, raw)
	require.Equal(t, float64(2), msg["version"], "the latest, as no version was named")
	require.JSONEq(t, v2, string(mustJSON(t, msg["payload"])))
	require.Len(t, msg["payloads"], 2)

	got := oldRC.waitRequests(t, 1)[0]
	require.Equal(t, v1, string(got.body), "the pinned endpoint gets v1's exact bytes")
	require.Equal(t, "1", got.header.Get("webhook-version"))
	require.Equal(t, msg["id"], got.header.Get("webhook-id"))
	verify(t, pinnedSecret, got)
	got = newRC.waitRequests(t, 1)[0]
	require.Equal(t, v2, string(got.body), "the unpinned endpoint gets the latest")
	require.Equal(t, "2", got.header.Get("webhook-version"))
	verify(t, latestSecret, got)

	m := h.getMessage(t, tn, msg["id"].(string))
	require.Equal(t, float64(2), m["version"])
	payloads := m["payloads"].(obj)
	require.JSONEq(t, v1, string(mustJSON(t, payloads["1"])))
	require.JSONEq(t, v2, string(mustJSON(t, payloads["2"])))
	eventually(t, func() (bool, string) {
		m := h.getMessage(t, tn, msg["id"].(string))
		a, b := deliveryTo(t, m, pinned["id"].(string)), deliveryTo(t, m, latest["id"].(string))
		return a["status"] == "succeeded" && b["status"] == "succeeded", fmt.Sprintf("deliveries: %v, %v", a, b)
	})

	// Only the latest version: the pinned endpoint is sent nothing, its
	// delivery fails at once (not retried) with error class version, and
	// the other endpoint gets it.
	only := h.publish(t, tn, et, `{"amount_cents": 99, "currency": "usd"}`)
	newRC.waitRequests(t, 2)
	var failed obj
	eventually(t, func() (bool, string) {
		failed = deliveryTo(t, h.getMessage(t, tn, only["id"].(string)), pinned["id"].(string))
		return failed["status"] == "failed", fmt.Sprintf("the pinned delivery never failed: %v", failed)
	})
	require.Equal(t, float64(1), failed["attempts"], "not retried")
	var versionAttempt obj
	for _, a := range h.attemptsOf(t, tn, only["id"].(string)) {
		if a["endpoint_id"] == pinned["id"] {
			versionAttempt = a
		}
	}
	require.NotNil(t, versionAttempt, "the failure is in the attempt log")
	require.Equal(t, "version", versionAttempt["error"])
	require.Equal(t, "failed", versionAttempt["status"])
	require.Nil(t, versionAttempt["status_code"], "nothing was sent")
	require.Contains(t, versionAttempt["error_detail"], "pins version 1 of "+et)
	time.Sleep(200 * time.Millisecond) // the schedule's retries are 50 ms apart: none comes
	require.Len(t, oldRC.requests(), 1, "the pinned endpoint was sent nothing")
	attempts := h.list(t, "/api/v1/tenants/"+tn+"/endpoints/"+pinned["id"].(string)+"/attempts", adminKey).Data
	require.Len(t, attempts, 2)

	// A publish of v1 alone: the pinned endpoint gets it, and so does the
	// unpinned one (it is the message's version).
	status, _, raw = h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey,
		fmt.Sprintf(`{"event_type": %q, "version": 1, "payload": {"amount": 1}}`, et))
	one := decode[obj](t, http.StatusAccepted, status, raw)
	require.Equal(t, float64(1), one["version"])
	require.Nil(t, one["payloads"], "one payload: no payloads")
	got = oldRC.waitRequests(t, 2)[1]
	require.Equal(t, `{"amount": 1}`, string(got.body))
	require.Equal(t, "1", got.header.Get("webhook-version"))
	got = newRC.waitRequests(t, 3)[2]
	require.Equal(t, "1", got.header.Get("webhook-version"))

	// An event type without versions is version 1 of itself.
	plain := h.eventType(t, "")
	h.publish(t, tn, plain, `{"x": 1}`)
	got = newRC.waitRequests(t, 4)[3]
	require.Equal(t, "1", got.header.Get("webhook-version"))
	oldRC.waitRequests(t, 3)

	// A resend after the customer dropped the pin sends the latest.
	status, _, raw = h.do(t, http.MethodPatch, "/api/v1/tenants/"+tn+"/endpoints/"+pinned["id"].(string), adminKey,
		obj{"version_pins": nil})
	require.Equal(t, obj{}, decode[obj](t, http.StatusOK, status, raw)["version_pins"])
	status, _, raw = h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages/"+only["id"].(string)+"/resend", adminKey,
		obj{"endpoint_id": pinned["id"]})
	require.Equal(t, http.StatusAccepted, status, "body: %s", raw)
	got = oldRC.waitRequests(t, 4)[3]
	require.Equal(t, `{"amount_cents": 99, "currency": "usd"}`, string(got.body))
	require.Equal(t, "2", got.header.Get("webhook-version"))
	verify(t, pinnedSecret, got)
}

// TestPublishIsCheckedAgainstItsVersion checks each payload against its
// own version's schema, and refuses what cannot be delivered as asked.
// Nothing refused is stored.
func TestPublishIsCheckedAgainstItsVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.versionedEventType(t)
	tn := h.tenant(t)
	path := "/api/v1/tenants/" + tn + "/messages"

	for _, tc := range []struct {
		name, body, field, detail string
	}{
		{"the latest's schema", `{"event_type": %q, "payload": {"amount": 5}}`, "payload", "amount_cents"},
		{"v1's schema", `{"event_type": %q, "version": 1, "payload": {"amount": "five"}}`, "payload/amount", "number"},
		{"a v2 payload as v1", `{"event_type": %q, "version": 1, "payload": {"amount_cents": 5, "currency": "eur"}}`, "payload", "amount"},
		{"no such version", `{"event_type": %q, "version": 3, "payload": {}}`, "version", "has no version 3; its versions are 1 and 2"},
		{"version 0", `{"event_type": %q, "version": 0, "payload": {}}`, "version", "from 1 to"},
		{"one of payloads", `{"event_type": %q, "payloads": {"1": {"amount": 1}, "2": {"amount_cents": 1.5, "currency": "eur"}}}`,
			"payloads.2/amount_cents", "integer"},
		{"a payload of no version", `{"event_type": %q, "payloads": {"2": {"amount_cents": 1, "currency": "eur"}, "7": {}}}`,
			"payloads.7", "has no version 7"},
		{"without the latest", `{"event_type": %q, "payloads": {"1": {"amount": 1}}}`, "payloads", "the latest"},
		{"without the named version", `{"event_type": %q, "version": 2, "payloads": {"1": {"amount": 1}}}`, "payloads",
			"version 2 (\"version\")"},
		{"payload and payloads", `{"event_type": %q, "payload": {"amount": 1}, "payloads": {"1": {"amount": 1}}}`, "payload", "not both"},
		{"empty payloads", `{"event_type": %q, "payloads": {}}`, "payloads", "at least one"},
		{"a key that is no version", `{"event_type": %q, "payloads": {"v1": {}}}`, "payloads", "is not a version"},
		{"a payload that is no object", `{"event_type": %q, "payloads": {"2": [1]}}`, "payloads.2", "JSON object"},
		{"too many", `{"event_type": %q, "payloads": {"1": {}, "2": {}, "3": {}, "4": {}, "5": {}}}`, "payloads", "at most 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, header, raw := h.do(t, http.MethodPost, path, adminKey, fmt.Sprintf(tc.body, et))
			p := requireInvalid(t, tc.field, status, header, raw)
			require.Contains(t, p.Detail, tc.detail)
		})
	}
	require.Empty(t, h.list(t, path, adminKey).Data, "nothing refused was stored")

	// Good ones are accepted: v1 by name, and v1 as the message's version
	// among payloads.
	status, _, raw := h.do(t, http.MethodPost, path, adminKey, fmt.Sprintf(`{"event_type": %q, "version": 1, "payload": {"amount": 1}}`, et))
	require.Equal(t, http.StatusAccepted, status, "body: %s", raw)
	status, _, raw = h.do(t, http.MethodPost, path, adminKey, fmt.Sprintf(
		`{"event_type": %q, "version": 1, "payloads": {"1": {"amount": 1}, "2": {"amount_cents": 100, "currency": "eur"}}}`, et))
	require.Equal(t, http.StatusAccepted, status, "body: %s", raw)

	// The same idempotency key again answers the first message, with its payloads.
	body := fmt.Sprintf(`{"event_type": %q, "idempotency_key": "k-versions", "payloads": {"1": {"amount": 2}, "2": {"amount_cents": 200, "currency": "eur"}}}`, et)
	status, _, raw = h.do(t, http.MethodPost, path, adminKey, body)
	first := decode[obj](t, http.StatusAccepted, status, raw)
	status, _, raw = h.do(t, http.MethodPost, path, adminKey, body)
	again := decode[obj](t, http.StatusAccepted, status, raw)
	require.Equal(t, first["id"], again["id"])
	require.Equal(t, first["payloads"], again["payloads"])
}

// TestEventTypeVersions adds, changes and deprecates versions through the
// API, and refuses what would break them.
func TestEventTypeVersions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.versionedEventType(t)
	path := "/api/v1/event-types/" + et

	status, _, raw := h.do(t, http.MethodGet, path, adminKey, nil)
	got := decode[obj](t, http.StatusOK, status, raw)
	versions := got["versions"].(obj)
	require.Len(t, versions, 2)
	require.JSONEq(t, v2Schema, string(mustJSON(t, got["schema"])), "the top-level schema is the latest's")
	require.JSONEq(t, v1Schema, string(mustJSON(t, versions["1"].(obj)["schema"])))
	require.Equal(t, "amount is in cents, with its currency", versions["2"].(obj)["changes"])
	require.Nil(t, versions["1"].(obj)["deprecated_at"])

	// A tenant key sees the versions too (the portal's catalog).
	tn := h.tenant(t)
	_, key := h.tenantKey(t, tn)
	status, _, raw = h.do(t, http.MethodGet, path, key, nil)
	require.Len(t, decode[obj](t, http.StatusOK, status, raw)["versions"], 2)

	for _, tc := range []struct {
		name, body, field, detail string
	}{
		{"top-level schema with versions", `{"schema": {}, "versions": {"3": {}}}`, "versions", "not be sent with versions"},
		{"removing a version", `{"versions": {"1": null}}`, "versions.1", "cannot be removed"},
		{"deprecating the latest", `{"versions": {"2": {"deprecated_at": "2026-01-01T00:00:00Z"}}}`, "versions.2.deprecated_at", "latest"},
		{"a schema that does not compile", `{"versions": {"3": {"schema": {"type": 5}}}}`, "versions.3.schema", "not a valid JSON Schema"},
		{"a schema that refers out", `{"versions": {"3": {"schema": {"$ref": "https://example.com/s.json"}}}}`, "versions.3.schema", "refer only to itself"},
		{"an example off its schema", `{"versions": {"1": {"example": {"amount": "x"}}}}`, "versions.1.example/amount", "number"},
		{"a new schema the kept example breaks", `{"versions": {"1": {"schema": {"type": "object", "required": ["id"]}}}}`,
			"versions.1.example", "id"},
		{"version 0", `{"versions": {"0": {}}}`, "versions", "is not a version"},
		{"version 01", `{"versions": {"01": {}}}`, "versions", "is not a version"},
		{"a bad date", `{"versions": {"1": {"deprecated_at": "soon"}}}`, "versions.1.deprecated_at", "RFC 3339"},
		{"an unknown field", `{"versions": {"1": {"shape": {}}}}`, "versions.1", "must be an object with"},
		{"too long changes", `{"versions": {"1": {"changes": "` + strings.Repeat("x", 2001) + `"}}}`, "versions.1.changes", "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, header, raw := h.do(t, http.MethodPatch, path, adminKey, tc.body)
			p := requireInvalid(t, tc.field, status, header, raw)
			require.Contains(t, p.Detail, tc.detail)
		})
	}
	status, _, raw = h.do(t, http.MethodGet, path, adminKey, nil)
	require.Equal(t, got, decode[obj](t, http.StatusOK, status, raw), "nothing refused changed it")

	// Add v3, deprecate v1 in the same PATCH.
	v3 := `{"type": "object", "required": ["amount_cents", "currency", "paid_at"]}`
	status, _, raw = h.do(t, http.MethodPatch, path, adminKey, fmt.Sprintf(`{"versions": {
		"1": {"deprecated_at": "2026-03-01T00:00:00Z"},
		"3": {"schema": %s, "example": {"amount_cents": 1, "currency": "eur", "paid_at": "2026-01-01"}, "changes": "paid_at"}}}`, v3))
	got = decode[obj](t, http.StatusOK, status, raw)
	require.Equal(t, float64(3), got["version"])
	require.JSONEq(t, v3, string(mustJSON(t, got["schema"])))
	versions = got["versions"].(obj)
	require.Len(t, versions, 3, "versions left out are kept")
	require.Equal(t, "2026-03-01T00:00:00Z", versions["1"].(obj)["deprecated_at"])
	require.JSONEq(t, v1Schema, string(mustJSON(t, versions["1"].(obj)["schema"])), "fields left out are kept")
	require.Equal(t, "paid_at", versions["3"].(obj)["changes"])

	// The top-level schema is the latest version's: a PATCH of it changes v3.
	status, _, raw = h.do(t, http.MethodPatch, path, adminKey, `{"schema": {"type": "object"}, "example": null}`)
	got = decode[obj](t, http.StatusOK, status, raw)
	require.JSONEq(t, `{"type": "object"}`, string(mustJSON(t, got["versions"].(obj)["3"].(obj)["schema"])))
	require.Nil(t, got["versions"].(obj)["3"].(obj)["example"])
	require.Equal(t, "paid_at", got["versions"].(obj)["3"].(obj)["changes"], "and keeps what it does not name")
	require.JSONEq(t, v2Schema, string(mustJSON(t, got["versions"].(obj)["2"].(obj)["schema"])))

	// An event type made without versions is version 1, as the list shows too.
	plain := h.eventType(t, amountSchema)
	status, _, raw = h.do(t, http.MethodGet, "/api/v1/event-types/"+plain, adminKey, nil)
	got = decode[obj](t, http.StatusOK, status, raw)
	require.Equal(t, float64(1), got["version"])
	require.JSONEq(t, amountSchema, string(mustJSON(t, got["versions"].(obj)["1"].(obj)["schema"])))
	for _, e := range h.list(t, "/api/v1/event-types?limit=250", adminKey).Data {
		require.NotEmpty(t, e["versions"], "%s has its versions in the list", e["name"])
	}

	// Creating with versions: only those given; with none, refused.
	status, header, raw := h.do(t, http.MethodPost, "/api/v1/event-types", adminKey, obj{"name": uniq("order.created"), "versions": obj{}})
	requireInvalid(t, "versions", status, header, raw)
	status, _, raw = h.do(t, http.MethodPost, "/api/v1/event-types", adminKey,
		obj{"name": uniq("order.created"), "versions": obj{"2": obj{"changes": "starts at 2"}}})
	got = decode[obj](t, http.StatusCreated, status, raw)
	require.Equal(t, float64(2), got["version"])
	require.Len(t, got["versions"], 1)
}

// TestVersionPinsAndDeprecation pins endpoints to versions, refuses pins
// that cannot hold, and lists, for the operator, who still uses a
// deprecated version.
func TestVersionPinsAndDeprecation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.versionedEventType(t)
	tn := h.tenant(t)
	_, key := h.tenantKey(t, tn)
	rc := newReceiver(t, nil)
	eps := "/api/v1/tenants/" + tn + "/endpoints"

	for _, tc := range []struct {
		name  string
		pins  any
		field string
		text  string
	}{
		{"an unknown event type", obj{"no.such": 1}, "version_pins.no.such", "not a known event type"},
		{"a version it lacks", obj{et: 3}, "version_pins." + et, "has no version 3; its versions are 1, 2"},
		{"not a number", obj{et: "1"}, "version_pins." + et, "must be a version"},
		{"zero", obj{et: 0}, "version_pins." + et, "must be a version"},
		{"not a name", obj{"a b": 1}, "version_pins", "not an event type name"},
		{"not an object", []int{1}, "version_pins", "must be an object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, header, raw := h.do(t, http.MethodPost, eps, key, obj{"url": rc.url, "version_pins": tc.pins})
			p := requireInvalid(t, tc.field, status, header, raw)
			require.Contains(t, p.Detail, tc.text)
		})
	}
	require.Empty(t, h.list(t, eps, adminKey).Data, "nothing refused was stored")

	// Customers pin with their tenant key.
	a := h.endpoint(t, tn, obj{"url": rc.url + "/a", "version_pins": obj{et: 1}})
	status, _, raw := h.do(t, http.MethodPost, eps, key, obj{"url": rc.url + "/b", "version_pins": obj{et: 1}})
	b := decode[obj](t, http.StatusCreated, status, raw)
	other := h.tenant(t)
	c := h.endpoint(t, other, obj{"url": rc.url + "/c", "version_pins": obj{et: 1}})
	h.endpoint(t, other, obj{"url": rc.url + "/d", "version_pins": obj{et: 2}})
	h.endpoint(t, other, obj{"url": rc.url + "/e"})

	// Deprecate v1: the operator sees who still uses it, across tenants.
	status, _, raw = h.do(t, http.MethodPatch, "/api/v1/event-types/"+et, adminKey,
		obj{"versions": obj{"1": obj{"deprecated_at": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}}})
	require.Equal(t, http.StatusOK, status, "body: %s", raw)
	users := "/api/v1/event-types/" + et + "/versions/1/endpoints"
	list := h.list(t, users, adminKey).Data
	require.Len(t, list, 3)
	require.Equal(t, []any{a["id"], b["id"], c["id"]}, []any{list[0]["id"], list[1]["id"], list[2]["id"]}, "oldest first")
	require.Equal(t, tn, list[0]["tenant_id"])
	require.Equal(t, other, list[2]["tenant_id"])
	paged := h.list(t, users+"?limit=2", adminKey)
	require.Len(t, paged.Data, 2)
	require.NotNil(t, paged.NextCursor)
	rest := h.list(t, users+"?limit=2&cursor="+*paged.NextCursor, adminKey)
	require.Len(t, rest.Data, 1)
	require.Equal(t, c["id"], rest.Data[0]["id"])
	require.Len(t, h.list(t, "/api/v1/event-types/"+et+"/versions/2/endpoints", adminKey).Data, 1)

	status, header, raw := h.do(t, http.MethodGet, users, key, nil)
	requireProblem(t, http.StatusForbidden, status, header, raw)
	for _, p := range []string{"/versions/3/endpoints", "/versions/x/endpoints", "/versions/01/endpoints"} {
		status, header, raw := h.do(t, http.MethodGet, "/api/v1/event-types/"+et+p, adminKey, nil)
		requireProblem(t, http.StatusNotFound, status, header, raw)
	}

	// A deprecated version cannot be newly pinned; an endpoint that pins
	// it keeps it while it changes other things, and upgrades.
	status, header, raw = h.do(t, http.MethodPatch, eps+"/"+c["id"].(string), adminKey, obj{"version_pins": obj{et: 2}})
	requireProblem(t, http.StatusNotFound, status, header, raw) // another tenant's endpoint
	e := h.endpoint(t, tn, obj{"url": rc.url + "/f"})
	status, header, raw = h.do(t, http.MethodPatch, eps+"/"+e["id"].(string), key, obj{"version_pins": obj{et: 1}})
	p := requireInvalid(t, "version_pins."+et, status, header, raw)
	require.Contains(t, p.Detail, "deprecated")
	require.Contains(t, p.Detail, "pin version 2")
	status, _, raw = h.do(t, http.MethodPatch, eps+"/"+a["id"].(string), key, obj{"description": "still v1", "version_pins": obj{et: 1}})
	require.Equal(t, obj{et: float64(1)}, decode[obj](t, http.StatusOK, status, raw)["version_pins"])
	status, _, raw = h.do(t, http.MethodPatch, eps+"/"+a["id"].(string), key, obj{"version_pins": obj{et: 2}})
	require.Equal(t, obj{et: float64(2)}, decode[obj](t, http.StatusOK, status, raw)["version_pins"])
	require.Len(t, h.list(t, users, adminKey).Data, 2, "one endpoint fewer uses v1")
}

// TestTestEventOfAVersion sends test events: of the pinned version by
// default, and of any version when asked, whatever the pin.
func TestTestEventOfAVersion(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.versionedEventType(t)
	tn := h.tenant(t)
	rc := newReceiver(t, nil)
	ep := h.endpoint(t, tn, obj{"url": rc.url, "version_pins": obj{et: 1}})
	test := "/api/v1/tenants/" + tn + "/endpoints/" + ep["id"].(string) + "/test"

	status, _, raw := h.do(t, http.MethodPost, test, adminKey, obj{"event_type": et})
	require.Equal(t, http.StatusAccepted, status, "body: %s", raw)
	got := rc.waitRequests(t, 1)[0]
	require.JSONEq(t, `{"amount": 42.5}`, string(got.body), "the pinned version's example")
	require.Equal(t, "1", got.header.Get("webhook-version"))

	status, _, raw = h.do(t, http.MethodPost, test, adminKey, obj{"event_type": et, "version": 2})
	sent := decode[obj](t, http.StatusAccepted, status, raw)
	got = rc.waitRequests(t, 2)[1]
	require.JSONEq(t, `{"amount_cents": 4250, "currency": "eur"}`, string(got.body), "v2's example, though it pins v1")
	require.Equal(t, "2", got.header.Get("webhook-version"))
	verify(t, h.secret(t, tn, ep["id"].(string)), got)
	h.waitDelivery(t, tn, sent["message_id"].(string), "succeeded")
	require.Equal(t, float64(2), h.getMessage(t, tn, sent["message_id"].(string))["version"])

	status, header, raw := h.do(t, http.MethodPost, test, adminKey, obj{"event_type": et, "version": 9})
	p := requireInvalid(t, "version", status, header, raw)
	require.Contains(t, p.Detail, "has no version 9")
	status, header, raw = h.do(t, http.MethodPost, test, adminKey, obj{"event_type": et, "version": -1})
	requireInvalid(t, "version", status, header, raw)
}

// TestVersionHeaderIsReserved: an endpoint cannot set webhook-version.
func TestVersionHeaderIsReserved(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/endpoints", adminKey,
		obj{"url": "http://127.0.0.1:9/x", "headers": obj{"Webhook-Version": "7"}})
	p := requireInvalid(t, "headers", status, header, raw)
	require.Contains(t, p.Detail, "set by hookd")
}
