package client_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/api/client"
	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// The tests run the client against real hookds: the real api, delivery
// and store packages on a throwaway Postgres, served on loopback. Each
// hookd checks every request and answer against the OpenAPI document and
// records which operations answered 2xx.

// adminKey is the bootstrap admin key of every test hookd.
const adminKey = "hk_admin_client_test_5b0c7e1d"

// hookdURL is the hookd that the examples call: API only (no workers, so
// nothing is ever delivered), with the tenant acme and the event type
// invoice.paid, as `hookd dev` has them. TestMain starts it.
var hookdURL string

func TestMain(m *testing.M) {
	tb := &mainTB{}
	ops := newOpSet()
	if err := startExampleHookd(tb, ops); err != nil {
		fmt.Fprintln(os.Stderr, "client_test: the examples' hookd did not start:", err)
	}
	code := storetest.Run(m)
	for _, f := range tb.cleanups {
		f()
	}
	if p := ops.problems(); len(p) > 0 {
		fmt.Fprintln(os.Stderr, "client_test: the examples' hookd saw answers that break the OpenAPI document:")
		for _, s := range p {
			fmt.Fprintln(os.Stderr, "  ", s)
		}
		code = 1
	}
	os.Exit(code)
}

// mainTB lets TestMain take a database from storetest, which wants a
// testing.TB, before any test runs. Only the methods below are called.
type mainTB struct {
	testing.TB // nil
	cleanups   []func()
}

func (*mainTB) Helper()                           {}
func (tb *mainTB) Cleanup(f func())               { tb.cleanups = append([]func(){f}, tb.cleanups...) }
func (*mainTB) Errorf(format string, args ...any) { panic(fmt.Errorf(format, args...)) }
func (*mainTB) Fatalf(format string, args ...any) { panic(fmt.Errorf(format, args...)) }
func (*mainTB) FailNow()                          { panic("FailNow") }

func startExampleHookd(tb *mainTB, ops *opSet) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	h := startHookd(tb, ops, false)
	hookdURL = h.url
	ctx := context.Background()
	c := client.New(h.url, adminKey)
	if _, err := c.UpsertTenant(ctx, "acme", client.TenantParams{Name: "Acme"}); err != nil {
		return err
	}
	_, err = c.CreateEventType(ctx, client.EventTypeParams{Name: "invoice.paid", Description: "An invoice was paid"})
	return err
}

// hookd is one running hookd for a test.
type hookd struct {
	url  string
	pool *pgxpool.Pool
	ops  *opSet
}

// newHookd starts a hookd with workers (retries 50ms apart, loopback
// allowed) on a fresh database; answers that break the document fail t.
func newHookd(t *testing.T) *hookd {
	t.Helper()
	ops := newOpSet()
	h := startHookd(t, ops, true)
	t.Cleanup(func() {
		for _, p := range ops.problems() {
			t.Error(p)
		}
	})
	return h
}

func startHookd(tb testing.TB, ops *opSet, workers bool) *hookd {
	tb.Helper()
	pool := storetest.DB(tb)
	st := store.New(pool)
	svc, err := delivery.New(pool, st, delivery.Config{
		RunWorkers:        workers,
		Schedule:          delivery.Schedule{50 * time.Millisecond, 50 * time.Millisecond},
		FetchPollInterval: 20 * time.Millisecond,
		Sender:            delivery.SenderConfig{Timeout: 5 * time.Second},
		AllowNetworks:     delivery.LoopbackNetworks(), // the receivers are on loopback
	})
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(tb, svc.Start(ctx))
	handler := api.New(api.Config{Store: st, Delivery: svc, AdminKey: adminKey, Version: "test"})
	srv := httptest.NewServer(ops.check(handler))
	tb.Cleanup(func() {
		srv.Close()
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = svc.Stop(stopCtx)
		cancel()
	})
	return &hookd{url: srv.URL, pool: pool, ops: ops}
}

// opSet checks a hookd's traffic against the OpenAPI document and records
// the operations that answered 2xx.
type opSet struct {
	mu  sync.Mutex
	ok  map[string]int // operationId -> 2xx answers
	bad []string
}

func newOpSet() *opSet { return &opSet{ok: map[string]int{}} }

// succeeded returns the operationIds that answered 2xx.
func (o *opSet) succeeded() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.ok))
	for k, v := range o.ok {
		out[k] = v
	}
	return out
}

func (o *opSet) problems() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.bad...)
}

func (o *opSet) fail(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.bad = append(o.bad, fmt.Sprintf(format, args...))
}

// check wraps a hookd's handler: it validates each request and answer
// under /api/v1 and the root routes against the document. Requests that
// hookd refused may break the document (tests send bad input on purpose);
// the answers may not.
func (o *opSet) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqBody, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(reqBody))
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)

		d, err := loadDoc()
		if err != nil {
			o.fail("openapi: %v", err)
			return
		}
		vreq := r.Clone(context.Background())
		vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
		vreq.URL.Scheme, vreq.URL.Host = "http", r.Host
		route, params, err := d.router.FindRoute(vreq)
		if err != nil {
			if r.URL.Path == "/portal/login" {
				return // the link a browser opens: a page, not an operation
			}
			o.fail("openapi: %s %s is not in the document: %v", r.Method, r.URL.Path, err)
			return
		}
		for k, v := range params { // hookd decodes %3A and the like; the router does not
			if u, err := url.PathUnescape(v); err == nil {
				params[k] = u
			}
		}
		opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && rec.status < 300 {
			o.fail("openapi: hookd answered %d to %s %s, but the document says the request is invalid: %v",
				rec.status, r.Method, r.URL.Path, err)
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: rec.status,
			Header: rec.Header(), Body: io.NopCloser(bytes.NewReader(rec.body.Bytes())), Options: opts}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			o.fail("openapi: the answer %d to %s %s does not match the document: %v\nbody: %.2000s",
				rec.status, r.Method, r.URL.Path, err, rec.body.String())
		}
		o.mu.Lock()
		defer o.mu.Unlock()
		if rec.status < 300 {
			o.ok[route.Operation.OperationID]++
		}
	})
}

// recorder keeps a copy of what a handler answers.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// openAPIDoc is api/openapi.json and its router.
type openAPIDoc struct {
	doc    *openapi3.T
	router routers.Router
}

var loadDoc = sync.OnceValues(func() (openAPIDoc, error) {
	raw, err := os.ReadFile("../openapi.json")
	if err != nil {
		return openAPIDoc{}, err
	}
	d, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return openAPIDoc{}, fmt.Errorf("load openapi.json: %w", err)
	}
	r, err := gorillamux.NewRouter(d)
	if err != nil {
		return openAPIDoc{}, fmt.Errorf("route openapi.json: %w", err)
	}
	return openAPIDoc{doc: d, router: r}, nil
})

// received is one request a receiver got.
type received struct {
	path   string
	header http.Header
	body   []byte
}

// receiver is a webhook receiver on loopback: /ok answers 200, /fail 500.
type receiver struct {
	url string
	mu  sync.Mutex
	got []received
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{path: r.URL.Path, header: r.Header.Clone(), body: body})
		rc.mu.Unlock()
		if r.URL.Path == "/fail" {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "thanks")
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL
	return rc
}

// waitFor waits until the receiver got a request whose webhook-id is id,
// n times, and returns the last.
func (rc *receiver) waitFor(t *testing.T, id string, n int) received {
	t.Helper()
	var last received
	eventually(t, func() bool {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		count := 0
		for _, r := range rc.got {
			if r.header.Get("webhook-id") == id {
				count++
				last = r
			}
		}
		return count >= n
	}, "the receiver never got message %s %d times", id, n)
	return last
}

// verify checks a received request's Standard Webhooks signature.
func verify(t *testing.T, secret string, r received) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	require.NoError(t, wh.Verify(r.body, r.header), "the signature verifies with the endpoint's secret")
}

// eventually polls cond for up to 15s.
func eventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// requests returns what the receiver got so far.
func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}
