package api_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTextThatPostgresRefusesIsNamed checks that text with NUL or invalid
// UTF-8 is a 422 naming the field wherever it is: body fields, keys and
// values deep in metadata, query parameters, headers; and a 404 in a path.
func TestTextThatPostgresRefusesIsNamed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	et := h.eventType(t, "")
	ep := h.endpoint(t, tn, obj{"url": "https://example.com/hook"})
	endpoints := "/api/v1/tenants/" + tn + "/endpoints"
	messages := "/api/v1/tenants/" + tn + "/messages"

	for _, tc := range []struct {
		name, method, path, field string
		body                      string
		header                    http.Header
	}{
		{"NUL in a metadata value", http.MethodPost, endpoints, "metadata.foo",
			`{"url":"https://example.com/a","metadata":{"foo":"a\u0000b"}}`, nil},
		{"NUL deep in metadata", http.MethodPut, "/api/v1/tenants/" + tn, "metadata.a.b[1]",
			`{"metadata":{"a":{"b":["ok","\u0000"]}}}`, nil},
		{"NUL in a metadata key", http.MethodPatch, endpoints + "/" + ep["id"].(string), "metadata",
			`{"metadata":{"a\u0000":1}}`, nil},
		{"invalid UTF-8 in a metadata key", http.MethodPatch, endpoints + "/" + ep["id"].(string), "metadata",
			"{\"metadata\":{\"\xff\":1}}", nil},
		{"unpaired surrogate in metadata", http.MethodPut, "/api/v1/tenants/" + tn, "metadata.x",
			`{"metadata":{"x":"\ud800"}}`, nil},
		{"number past numeric in metadata", http.MethodPut, "/api/v1/tenants/" + tn, "metadata.x",
			`{"metadata":{"x":1e400}}`, nil},
		{"metadata nested too deep", http.MethodPut, "/api/v1/tenants/" + tn, "metadata" + strings.Repeat(".a", 32),
			`{"metadata":` + strings.Repeat(`{"a":`, 33) + "1" + strings.Repeat("}", 33) + `}`, nil},
		{"NUL in a name", http.MethodPut, "/api/v1/tenants/" + tn, "name", `{"name":"Acme\u0000"}`, nil},
		{"invalid UTF-8 in a description", http.MethodPost, endpoints, "description",
			"{\"url\":\"https://example.com/a\",\"description\":\"caf\xe9\"}", nil},
		{"NUL in a header value", http.MethodPost, endpoints, "headers.X-Team",
			`{"url":"https://example.com/a","headers":{"X-Team":"a\u0000"}}`, nil},
		{"NUL in a channel", http.MethodPost, endpoints, "channels[0]",
			`{"url":"https://example.com/a","channels":["\u0000"]}`, nil},
		{"NUL in event_type", http.MethodPost, messages, "event_type", `{"event_type":"a\u0000","payload":{}}`, nil},
		{"NUL in idempotency_key", http.MethodPost, messages, "idempotency_key",
			`{"event_type":"` + et + `","payload":{},"idempotency_key":"\u0000"}`, nil},
		{"invalid UTF-8 in the Idempotency-Key header", http.MethodPost, messages, "idempotency_key",
			`{"event_type":"` + et + `","payload":{}}`, http.Header{"Idempotency-Key": {"k\xff"}}},
		{"invalid UTF-8 in a payload", http.MethodPost, messages, "payload",
			"{\"event_type\":\"" + et + "\",\"payload\":{\"a\":\"\xff\"}}", nil},
		{"NUL in a query filter", http.MethodGet, messages + "?event_type=%00", "event_type", "", nil},
		{"invalid UTF-8 in a query filter", http.MethodGet, "/api/v1/deliveries?event_type=%FF", "event_type", "", nil},
		{"NUL in replay's event_type", http.MethodPost, "/api/v1/replays", "event_type",
			`{"status":"failed","since":"2026-01-01T00:00:00Z","event_type":"\u0000"}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var body any
			if tc.body != "" {
				body = tc.body
			}
			status, header, raw := h.doHeader(t, tc.method, tc.path, adminKey, body, tc.header)
			requireInvalid(t, tc.field, status, header, raw)
		})
	}

	t.Run("a path id that cannot exist is 404", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/api/v1/tenants/%00/endpoints", "/api/v1/tenants/%FF", "/api/v1/tenants/../endpoints",
			"/api/v1/event-types/a%00b", "/api/v1/tenants/" + tn + "/endpoints/%00"} {
			status, header, raw := h.do(t, http.MethodGet, path, adminKey, nil)
			requireProblem(t, http.StatusNotFound, status, header, raw)
		}
		status, header, raw := h.do(t, http.MethodPut, "/api/v1/tenants/..", adminKey, obj{})
		requireInvalid(t, "tenant", status, header, raw)
	})

	t.Run("a body that is not UTF-8 or not JSON is refused", func(t *testing.T) {
		t.Parallel()
		for _, body := range []string{"\xff\xfe{}", "{} []", `{"url":`} {
			status, header, raw := h.do(t, http.MethodPost, endpoints, adminKey, body)
			requireProblem(t, http.StatusBadRequest, status, header, raw)
		}
		// Even where the operation takes no body: nothing is deleted.
		status, header, raw := h.do(t, http.MethodDelete, endpoints+"/"+ep["id"].(string), adminKey, "not json")
		requireProblem(t, http.StatusBadRequest, status, header, raw)
		status, _, raw = h.do(t, http.MethodGet, endpoints+"/"+ep["id"].(string), adminKey, nil)
		require.Equal(t, http.StatusOK, status, "body: %s", raw)
	})

	t.Run("NUL in a payload is kept byte for byte", func(t *testing.T) {
		t.Parallel()
		payload := `{"note":"a\u0000b", "k\u0000":1}`
		m := h.publish(t, tn, et, payload)
		var stored string
		require.NoError(t, h.pool.QueryRow(context.Background(), `SELECT convert_from(payload, 'UTF8') FROM messages WHERE id = $1`,
			m["id"]).Scan(&stored))
		require.Equal(t, payload, stored)
	})
}

// TestNumbersFitTheirColumns checks the integers that used to overflow.
func TestNumbersFitTheirColumns(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	ep := h.endpoint(t, tn, obj{"url": "https://example.com/hook"})
	epPath := "/api/v1/tenants/" + tn + "/endpoints/" + ep["id"].(string)
	secret := h.secret(t, tn, ep["id"].(string))
	for _, tc := range []struct {
		name, method, path, field, body string
	}{
		{"rate_limit past integer", http.MethodPatch, epPath, "rate_limit", `{"rate_limit":2147483648}`},
		{"rate_limit past the limit", http.MethodPatch, epPath, "rate_limit", `{"rate_limit":10001}`},
		{"grace that wrapped to 0", http.MethodPost, epPath + "/secret/rotate", "grace_period_seconds",
			`{"grace_period_seconds":-9223372036854775808}`},
		{"grace past 7 days", http.MethodPost, epPath + "/secret/rotate", "grace_period_seconds",
			`{"grace_period_seconds":604801}`},
		{"grace past int64", http.MethodPost, epPath + "/secret/rotate", "grace_period_seconds",
			`{"grace_period_seconds":9223372036854775808}`},
		{"link lifetime that wraps", http.MethodPost, "/api/v1/tenants/" + tn + "/portal-links", "expires_in_seconds",
			`{"expires_in_seconds":9223372036}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, header, raw := h.do(t, tc.method, tc.path, adminKey, tc.body)
			requireInvalid(t, tc.field, status, header, raw)
		})
	}
	t.Run("nothing changed", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, secret, h.secret(t, tn, ep["id"].(string)))
	})
}

// TestLimits checks the lengths and counts README's "Limits" lists.
func TestLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	endpoints := "/api/v1/tenants/" + tn + "/endpoints"
	many := func(n int, f string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf(f, i)
		}
		return out
	}
	big := obj{}
	for i := range 1200 {
		big[fmt.Sprintf("key%04d", i)] = "value"
	}
	for _, tc := range []struct {
		name, method, path, field string
		body                      any
	}{
		{"a 2049-byte URL", http.MethodPost, endpoints, "url", obj{"url": "https://example.com/" + strings.Repeat("a", 2029)}},
		{"a 100 KB URL", http.MethodPost, endpoints, "url", obj{"url": "https://example.com/" + strings.Repeat("a", 100<<10)}},
		{"101 channels", http.MethodPost, endpoints, "channels", obj{"url": "https://example.com/", "channels": many(101, "c%d")}},
		{"a 129-byte channel", http.MethodPost, endpoints, "channels", obj{"url": "https://example.com/",
			"channels": []string{strings.Repeat("c", 129)}}},
		{"101 event type filters", http.MethodPost, endpoints, "event_types", obj{"url": "https://example.com/",
			"event_types": many(101, "e%d")}},
		{"a 131-byte filter", http.MethodPost, endpoints, "event_types", obj{"url": "https://example.com/",
			"event_types": []string{strings.Repeat("e", 129) + ".*"}}},
		{"a 2001-byte description", http.MethodPost, endpoints, "description", obj{"url": "https://example.com/",
			"description": strings.Repeat("d", 2001)}},
		{"a 501-byte disabled_reason", http.MethodPost, endpoints, "disabled_reason", obj{"url": "https://example.com/",
			"disabled": true, "disabled_reason": strings.Repeat("r", 501)}},
		{"metadata over 16 KiB", http.MethodPost, endpoints, "metadata", obj{"url": "https://example.com/", "metadata": big}},
		{"tenant metadata over 16 KiB", http.MethodPut, "/api/v1/tenants/" + tn, "metadata", obj{"metadata": big}},
		{"a 257-byte tenant name", http.MethodPut, "/api/v1/tenants/" + tn, "name", obj{"name": strings.Repeat("n", 257)}},
		{"101 channels on a message", http.MethodPost, "/api/v1/tenants/" + tn + "/messages", "channels",
			obj{"event_type": "x", "payload": obj{}, "channels": many(101, "c%d")}},
		{"a 129-byte event type", http.MethodPost, "/api/v1/tenants/" + tn + "/messages", "event_type",
			obj{"event_type": strings.Repeat("e", 129), "payload": obj{}}},
		{"a 257-byte idempotency key", http.MethodPost, "/api/v1/tenants/" + tn + "/messages", "idempotency_key",
			obj{"event_type": "x", "payload": obj{}, "idempotency_key": strings.Repeat("k", 257)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, header, raw := h.do(t, tc.method, tc.path, adminKey, tc.body)
			requireInvalid(t, tc.field, status, header, raw)
		})
	}
	t.Run("at the limits is fine", func(t *testing.T) {
		t.Parallel()
		h.endpoint(t, tn, obj{"url": "https://example.com/" + strings.Repeat("a", 2028), "channels": many(100, "c%d"),
			"event_types": many(100, "e%d"), "description": strings.Repeat("d", 2000), "rate_limit": 10000})
	})
}

// TestEndpointsPerTenant checks that a tenant gets at most
// MaxEndpointsPerTenant endpoints, counted in the database, also when
// they are created at once.
func TestEndpointsPerTenant(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &harnessOpts{MaxEndpoints: 3})
	tn, other := h.tenant(t), h.tenant(t)
	path := "/api/v1/tenants/" + tn + "/endpoints"

	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() {
			statuses[i], _, _ = h.do(t, http.MethodPost, path, adminKey, obj{"url": fmt.Sprintf("https://example.com/%d", i)})
		})
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		if s == http.StatusCreated {
			created++
		} else {
			require.Equal(t, http.StatusUnprocessableEntity, s)
		}
	}
	require.Equal(t, 3, created, "statuses: %v", statuses)
	require.Len(t, h.list(t, path, adminKey).Data, 3)

	status, header, raw := h.do(t, http.MethodPost, path, adminKey, obj{"url": "https://example.com/more"})
	p := requireProblem(t, http.StatusUnprocessableEntity, status, header, raw)
	require.Contains(t, p.Detail, "has 3 endpoints, the most a tenant may have")

	h.endpoint(t, other, obj{"url": "https://example.com/other"}) // the limit is per tenant

	// Deleting one makes room.
	id := h.list(t, path, adminKey).Data[0]["id"].(string)
	status, _, _ = h.do(t, http.MethodDelete, path+"/"+id, adminKey, nil)
	require.Equal(t, http.StatusNoContent, status)
	h.endpoint(t, tn, obj{"url": "https://example.com/again"})
}

// TestTestSendsPerMinute checks that an endpoint gets at most
// TestSendsPerMinute test events a minute, with a 429 and Retry-After
// past that, and that refused sends do not count.
func TestTestSendsPerMinute(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &harnessOpts{TestSends: 2})
	tn := h.tenant(t)
	_, key := h.tenantKey(t, tn)
	et := h.eventType(t, "")
	rc := newReceiver(t, nil)
	one, two := h.endpoint(t, tn, obj{"url": rc.url}), h.endpoint(t, tn, obj{"url": rc.url})
	test := func(ep obj, eventType string) (int, http.Header, []byte) {
		return h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/endpoints/"+ep["id"].(string)+"/test", key,
			obj{"event_type": eventType})
	}

	status, header, raw := test(one, "no.such.type")
	requireInvalid(t, "event_type", status, header, raw)
	for range 2 {
		status, _, raw := test(one, et)
		require.Equal(t, http.StatusAccepted, status, "body: %s", raw)
	}
	status, header, raw = test(one, et)
	p := requireProblem(t, http.StatusTooManyRequests, status, header, raw)
	require.Contains(t, p.Detail, "2 test events in the last minute")
	retry, err := strconv.Atoi(header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After: %q", header.Get("Retry-After"))
	require.True(t, retry >= 1 && retry <= 60, "Retry-After: %d", retry)

	status, _, raw = test(two, et)
	require.Equal(t, http.StatusAccepted, status, "the limit is per endpoint; body: %s", raw)
	rc.waitRequests(t, 3)
	time.Sleep(100 * time.Millisecond)
	require.Len(t, rc.requests(), 3, "the refused send sent nothing")
}

// TestSchemasAreSelfContained checks that an event type's schema cannot
// reach files or the network, and that a stored schema that does not
// compile is a 422 at publish and update, not a 500 or a panic.
func TestSchemasAreSelfContained(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	rc := newReceiver(t, nil) // a schema server that must never be asked
	fifo := filepath.Join(t.TempDir(), "fifo.json")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))

	for _, ref := range []string{"file:///proc/self/environ", "file://" + fifo, rc.url + "/schema.json", "other.json",
		"urn:x:y"} {
		t.Run(ref, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			body := obj{"name": uniq("ref.t"), "schema": obj{"$ref": ref}}
			status, header, raw := h.do(t, http.MethodPost, "/api/v1/event-types", adminKey, body)
			p := requireInvalid(t, "schema", status, header, raw)
			require.Contains(t, p.Detail, "refer only to itself")
			require.Less(t, time.Since(start), 5*time.Second)
			body = obj{"schema": obj{"$schema": ref, "type": "object"}}
			status, header, raw = h.do(t, http.MethodPatch, "/api/v1/event-types/"+h.eventType(t, ""), adminKey, body)
			requireInvalid(t, "schema", status, header, raw)
		})
	}

	t.Run("references inside the schema resolve", func(t *testing.T) {
		t.Parallel()
		schema := `{"$defs":{"amount":{"type":"integer"}},"type":"object","properties":{"amount":{"$ref":"#/$defs/amount"}},` +
			`"$schema":"https://json-schema.org/draft/2020-12/schema"}`
		et := h.eventType(t, schema)
		tn := h.tenant(t)
		status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey,
			obj{"event_type": et, "payload": obj{"amount": "ten"}})
		requireInvalid(t, "payload/amount", status, header, raw)
		h.publish(t, tn, et, `{"amount": 10}`)
	})

	t.Run("a stored schema that does not compile", func(t *testing.T) {
		t.Parallel()
		name := uniq("broken.t")
		_, err := h.pool.Exec(context.Background(), `INSERT INTO event_types (name, schema, example) VALUES ($1, $2, $3)`,
			name, []byte(`{"$ref":"file:///etc/hostname"}`), []byte(`{"a":1}`))
		require.NoError(t, err)
		tn := h.tenant(t)
		status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey,
			obj{"event_type": name, "payload": obj{"a": 1}})
		p := requireInvalid(t, "event_type", status, header, raw)
		require.Contains(t, p.Detail, "does not compile")

		path := "/api/v1/event-types/" + name
		status, header, raw = h.do(t, http.MethodPatch, path, adminKey, obj{"description": "still broken"})
		p = requireInvalid(t, "schema", status, header, raw)
		require.Contains(t, p.Detail, "the stored schema no longer compiles")

		status, _, raw = h.do(t, http.MethodPatch, path, adminKey, obj{"schema": obj{"type": "object"}})
		require.Equal(t, http.StatusOK, status, "a new schema fixes it; body: %s", raw)
		h.publish(t, tn, name, `{"a": 1}`)
	})

	require.Empty(t, rc.requests(), "no schema was fetched")
}

// TestAPIAnswersAreNotSniffed checks X-Content-Type-Options on answers and
// problems alike.
func TestAPIAnswersAreNotSniffed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, tc := range []struct {
		method, path, key string
		body              any
	}{
		{http.MethodGet, "/api/v1/tenants", adminKey, nil},
		{http.MethodGet, "/api/v1/tenants", "", nil},
		{http.MethodGet, "/api/v1/tenants/nobody", adminKey, nil},
		{http.MethodPost, "/api/v1/event-types", adminKey, obj{"name": "bad name"}},
		{http.MethodGet, "/api/openapi.json", "", nil},
		{http.MethodGet, "/healthz", "", nil},
	} {
		_, header, _ := h.do(t, tc.method, tc.path, tc.key, tc.body)
		require.Equal(t, "nosniff", header.Get("X-Content-Type-Options"), "%s %s", tc.method, tc.path)
	}
	res, err := http.Get(h.url + "/api/nothing")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
}
