package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"
)

// TestEveryRouteRefusesBadInput walks every operation of api/openapi.json
// and sends it bad input: each path parameter, query parameter and body
// field (from the operation's request schema) replaced by NUL, invalid
// UTF-8, numbers that overflow, huge strings and arrays, wrong types; and
// bodies that are not JSON or not UTF-8. Each with an admin key and a
// tenant key. No answer may be a 5xx, text that cannot be stored must be
// refused with a 4xx, and the database must be the same afterwards.
func TestEveryRouteRefusesBadInput(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	fx := newFixtures(t, h)
	before := snapshot(t, h.pool)

	var reqs []badRequest
	for path, item := range doc(t).doc.Paths.Map() {
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		for method, op := range item.Operations() {
			params := slices.Concat(item.Parameters, op.Parameters)
			reqs = append(reqs, badRequests(method, path, params, op)...)
		}
	}
	var sent atomic.Int64
	var mu sync.Mutex
	var failures []string
	work := make(chan badRequest)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for r := range work {
				for _, key := range []string{adminKey, fx.tenantKey} {
					sent.Add(1)
					if msg := fx.send(h, r, key); msg != "" {
						mu.Lock()
						failures = append(failures, msg)
						mu.Unlock()
					}
				}
			}
		})
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	wg.Wait()
	sort.Strings(failures)
	if len(failures) > 20 {
		failures = append(failures[:20], fmt.Sprintf("... and %d more", len(failures)-20))
	}
	require.Empty(t, failures)
	require.Equal(t, before, snapshot(t, h.pool), "bad input changed the database")
	t.Logf("sent %d bad requests to %d operations", sent.Load(), countOperations(t))
}

func countOperations(t *testing.T) int {
	n := 0
	for path, item := range doc(t).doc.Paths.Map() {
		if strings.HasPrefix(path, "/api/v1/") {
			n += len(item.Operations())
		}
	}
	return n
}

// badRequest is one request of the walk. refuse says that the server must
// answer it with a 4xx; otherwise only a 5xx is a failure (a huge number
// is a fine filter for a text query parameter).
type badRequest struct {
	method, path string // path with {params} still in it
	params       map[string]string
	query        string
	header       http.Header
	body         []byte // nil: none
	refuse       bool
	what         string
}

// Bad values for each kind of input.
var (
	badPathValues = []string{"%00", "a%00b", "%FF", "%C0%AF", "%ED%A0%80", ".", "..", "%2E%2E", "a%2Fb",
		strings.Repeat("a", 300)}
	// Query values that are not text; a server must refuse them.
	badQueryText = []string{"%00", "a%00b", "%FF", "%C0%AF", "%ED%A0%80"}
	// Query values that are text but odd: no 5xx.
	oddQueryValues = []string{"-1", "0", "99999999999999999999", "9223372036854775808", "-9223372036854775809", "1e400",
		"2147483648", strings.Repeat("x", 8<<10)}
	badStrings = []string{`"\u0000"`, `"a\u0000b"`, "\"\xff\xfe\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", `"\ud800"`,
		`"x\udc00"`, `"` + strings.Repeat("a", 100<<10) + `"`}
	badNumbers = []string{"-1", "1.5", "2147483648", "9223372036854775808", "-9223372036854775808", "1e400", "-1e-400"}
	hugeArray  = "[" + strings.Repeat(`"a",`, 20000) + `"a"]`
	hugeObject = func() string {
		var b strings.Builder
		b.WriteString("{")
		for i := range 2000 {
			fmt.Fprintf(&b, `"k%d":"v",`, i)
		}
		b.WriteString(`"last":"v"}`)
		return b.String()
	}()
	deepObject = strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	// Inside an object or array field: bad keys and values at depth.
	badNested = []string{`{"k\u0000": 1}`, `{"k": "\u0000"}`, "{\"\xff\": 1}", "{\"k\": \"\xff\"}", `{"k": {"k2": ["\u0000"]}}`,
		`{"k": 1e400}`, `{"k\ud800": 1}`, deepObject, `["\u0000"]`, "[\"\xff\"]", `[1e400]`}
	// Bodies that are not JSON, or not UTF-8, for every operation.
	badBodies = []string{"not json", "\xff\xfe{}", `{"a":`, `{}]`, `{} {}`, "{\"x\": \"\xff\"}", `{"x": "\u0000"}`,
		strings.Repeat("[", 200) + strings.Repeat("]", 200), `{"a": "` + strings.Repeat("a", 300<<10) + `"}`}
)

// exactMembers are the body fields kept as exact bytes, where \u0000 and
// any valid JSON is legal (api/input.go's exactFields).
var exactMembers = map[string][]string{
	"POST /api/v1/tenants/{tenant}/messages": {"payload", "payloads"},
	"POST /api/v1/event-types":               {"schema", "example"},
	"PATCH /api/v1/event-types/{name}":       {"schema", "example"},
	"PUT /api/v1/event-types/{name}":         {"schema", "example"},
}

// badRequests lists the bad requests for one operation.
func badRequests(method, path string, params openapi3.Parameters, op *openapi3.Operation) []badRequest {
	var out []badRequest
	add := func(r badRequest) {
		r.method, r.path = method, path
		out = append(out, r)
	}
	hasBody := op.RequestBody != nil
	emptyBody := func() []byte {
		if hasBody {
			return []byte("{}")
		}
		return nil
	}
	for _, p := range params {
		switch p.Value.In {
		case openapi3.ParameterInPath:
			for _, v := range badPathValues {
				add(badRequest{params: map[string]string{p.Value.Name: v}, body: emptyBody(), refuse: true,
					what: "path " + p.Value.Name + "=" + trunc(v)})
			}
		case openapi3.ParameterInQuery:
			for _, v := range badQueryText {
				add(badRequest{query: p.Value.Name + "=" + v, refuse: true, what: "query " + p.Value.Name + "=" + v})
			}
			for _, v := range oddQueryValues {
				add(badRequest{query: p.Value.Name + "=" + v, what: "query " + p.Value.Name + "=" + trunc(v)})
			}
		case openapi3.ParameterInHeader:
			add(badRequest{header: http.Header{p.Value.Name: {"\xff\xfe"}}, body: emptyBody(), refuse: true,
				what: "header " + p.Value.Name})
		}
	}
	// Every operation: a query parameter it does not know, that is not
	// text; and a stored header that is not text.
	add(badRequest{query: "x=%00", body: emptyBody(), refuse: true, what: "unknown query x=%00"})
	add(badRequest{query: "%FF=1", body: emptyBody(), refuse: true, what: "query name %FF"})
	add(badRequest{header: http.Header{"Idempotency-Key": {"\xff"}}, body: emptyBody(), refuse: true, what: "Idempotency-Key \\xff"})
	for _, b := range badBodies {
		add(badRequest{body: []byte(b), refuse: true, what: "body " + trunc(b)})
	}
	if !hasBody {
		return out
	}
	// A field the operation does not have.
	add(badRequest{body: []byte(`{"no_such_field": 1}`), refuse: true, what: "unknown body field"})
	sch := op.RequestBody.Value.Content.Get("application/json").Schema.Value
	exact := exactMembers[method+" "+path]
	for name, prop := range sch.Properties {
		types := schemaTypes(prop.Value)
		var values []string
		values = append(values, badStrings...)
		values = append(values, badNumbers...)
		values = append(values, hugeArray)
		if !slices.Contains(exact, name) {
			values = append(values, hugeObject) // an exact member may be any object that fits the body
		}
		for _, w := range []struct{ typ, v string }{{"string", `"x"`}, {"boolean", "true"}, {"object", "{}"},
			{"array", "[]"}, {"integer", "7"}} {
			if !types[w.typ] && (w.typ != "integer" || !types["number"]) {
				values = append(values, w.v)
			}
		}
		if types["object"] || types["array"] {
			for _, v := range badNested {
				if slices.Contains(exact, name) && !strings.Contains(v, "\xff") {
					continue // legal in an exact member
				}
				values = append(values, v)
			}
		}
		for _, v := range values {
			body := `{"` + name + `": ` + v + `}`
			add(badRequest{body: []byte(body), refuse: true, what: "body " + name + "=" + trunc(v)})
		}
	}
	return out
}

// schemaTypes lists the JSON types a schema allows, through anyOf/oneOf.
func schemaTypes(s *openapi3.Schema) map[string]bool {
	out := map[string]bool{}
	if s.Type != nil {
		for _, t := range s.Type.Slice() {
			out[t] = true
		}
	}
	for _, sub := range slices.Concat(s.AnyOf, s.OneOf) {
		for t := range schemaTypes(sub.Value) {
			out[t] = true
		}
	}
	return out
}

func trunc(s string) string {
	if len(s) > 40 {
		return fmt.Sprintf("%q...(%d bytes)", s[:40], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// fixtures are real resources for the walk's path parameters, so that a
// bad value in one place meets real values everywhere else.
type fixtures struct {
	values    map[string]string // path parameter -> a real value
	tenantKey string
	client    *http.Client
}

func newFixtures(t *testing.T, h *harness) *fixtures {
	t.Helper()
	tn := h.tenant(t)
	keyID, key := h.tenantKey(t, tn)
	et := h.eventType(t, amountSchema)
	rc := newReceiver(t, nil)
	ep := h.endpoint(t, tn, obj{"url": rc.url, "metadata": obj{"plan": "pro"}})
	m := h.publish(t, tn, et, `{"amount": 5}`)
	msg := m["id"].(string)
	h.waitDelivery(t, tn, msg, "succeeded")
	status, _, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages/"+msg+"/resend", adminKey, obj{})
	replay := decode[obj](t, http.StatusAccepted, status, raw)["replay_id"].(string)
	rc.waitRequests(t, 2)
	eventually(t, func() (bool, string) {
		status, _, raw := h.do(t, http.MethodGet, "/api/v1/replays/"+replay, adminKey, nil)
		r := decode[obj](t, http.StatusOK, status, raw)
		return r["done"] == float64(1) && r["status"] != "running", fmt.Sprintf("the resend never finished: %v", r)
	})
	attempts := h.list(t, "/api/v1/tenants/"+tn+"/messages/"+msg+"/attempts", adminKey)
	require.NotEmpty(t, attempts.Data)
	return &fixtures{
		values: map[string]string{"tenant": tn, "key": keyID, "name": et, "endpoint": ep["id"].(string),
			"message": msg, "replay": replay, "attempt": attempts.Data[0]["id"].(string)},
		tenantKey: key,
		client:    &http.Client{Timeout: 20 * time.Second},
	}
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// send sends r with key and returns what is wrong with the answer, or "".
func (fx *fixtures) send(h *harness, r badRequest, key string) string {
	path := pathParam.ReplaceAllStringFunc(r.path, func(m string) string {
		name := m[1 : len(m)-1]
		if v, ok := r.params[name]; ok {
			return v
		}
		return fx.values[name]
	})
	url := h.url + path
	if r.query != "" {
		url += "?" + r.query
	}
	var body io.Reader = http.NoBody
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, url, body)
	if err != nil {
		return fmt.Sprintf("%s %s (%s): cannot build the request: %v", r.method, r.path, r.what, err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	res, err := fx.client.Do(req)
	if err != nil {
		return fmt.Sprintf("%s %s (%s): %v", r.method, r.path, r.what, err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	who := "admin"
	if key != adminKey {
		who = "tenant key"
	}
	switch {
	case res.StatusCode >= 500:
		return fmt.Sprintf("%s %s (%s, %s): %d %s", r.method, r.path, r.what, who, res.StatusCode, truncate(got, 300))
	case r.refuse && res.StatusCode < 400:
		return fmt.Sprintf("%s %s (%s, %s): accepted with %d %s", r.method, r.path, r.what, who, res.StatusCode, truncate(got, 300))
	case res.StatusCode >= 400 && res.Header.Get("Content-Type") != "application/problem+json":
		return fmt.Sprintf("%s %s (%s, %s): %d is %q, not a problem", r.method, r.path, r.what, who, res.StatusCode,
			res.Header.Get("Content-Type"))
	case res.Header.Get("X-Content-Type-Options") != "nosniff":
		return fmt.Sprintf("%s %s (%s, %s): no X-Content-Type-Options: nosniff", r.method, r.path, r.what, who)
	}
	return ""
}

// snapshot is every app table's row count and the md5 of its rows. River's
// tables and workers (the heartbeats, every 2 s) are left out: maintenance,
// not requests, touches them.
func snapshot(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE 'river%'
			AND table_name <> 'workers'`) // River's tables and the worker heartbeats change on their own
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Subset(t, tables, []string{"tenants", "event_types", "endpoints", "endpoint_secrets", "messages", "deliveries",
		"attempts", "replays", "api_keys"})
	out := map[string]string{}
	for _, table := range tables {
		var sum string
		err := pool.QueryRow(ctx, `SELECT count(*) || ' rows ' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '')
			FROM `+pgx.Identifier{table}.Sanitize()+` t`).Scan(&sum)
		require.NoError(t, err)
		out[table] = sum
	}
	return out
}
