package api_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
	"github.com/hookd/hookd/web"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// adminKey is the bootstrap admin key of every test server.
const adminKey = "hk_admin_test_6c1e0f3b9a7d42e8"

// harness is one hookd API on a fresh database, with a running delivery
// service, served on loopback.
type harness struct {
	url     string
	handler http.Handler
	svc     *delivery.Service
	pool    *pgxpool.Pool
	st      *store.Store
}

// harnessOpts changes a harness; nil means defaults.
type harnessOpts struct {
	MaxPayloadBytes int64
	Schedule        delivery.Schedule // nil: 50ms, 50ms
	Web             *web.Config       // serve the web pages with this branding; nil: none
	PublicURL       string            // api.Config.PublicURL
	SessionTTL      time.Duration     // api.Config.PortalSessionTTL
	Cipher          *store.Cipher     // encrypts secrets and custom headers at rest, as serve does; nil: plaintext
	// TracerProvider is given to the API and the delivery service; nil: none.
	TracerProvider trace.TracerProvider
	SendTimeout    time.Duration // the delivery timeout; 0: 5s
	MaxEndpoints   int           // api.Config.MaxEndpointsPerTenant
	TestSends      int           // api.Config.TestSendsPerMinute
}

func newHarness(t *testing.T, opts *harnessOpts) *harness {
	t.Helper()
	if opts == nil {
		opts = &harnessOpts{}
	}
	schedule := opts.Schedule
	if schedule == nil {
		schedule = delivery.Schedule{50 * time.Millisecond, 50 * time.Millisecond}
	}
	pool := storetest.DB(t)
	st := store.New(pool).WithCipher(opts.Cipher)
	reg := prometheus.NewRegistry() // the API's and delivery's series, on /metrics
	svc, err := delivery.New(pool, st, delivery.Config{
		Registry:          reg,
		TracerProvider:    opts.TracerProvider,
		RunWorkers:        true,
		Schedule:          schedule,
		FetchPollInterval: 20 * time.Millisecond,
		Sender:            delivery.SenderConfig{Timeout: cmp.Or(opts.SendTimeout, 5*time.Second)},
		// The receivers are on loopback, which the private-address guard
		// lets through only when told to, as in `hookd dev`.
		AllowNetworks: delivery.LoopbackNetworks(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, svc.Start(ctx))
	cfg := api.Config{Store: st, Delivery: svc, AdminKey: adminKey, MaxPayloadBytes: opts.MaxPayloadBytes, Version: "test",
		PublicURL: opts.PublicURL, PortalSessionTTL: opts.SessionTTL, Registry: reg, TracerProvider: opts.TracerProvider,
		MaxEndpointsPerTenant: opts.MaxEndpoints, TestSendsPerMinute: opts.TestSends}
	if opts.Web != nil {
		cfg.Web = web.Handler(*opts.Web)
		cfg.Branding = api.Branding{ProductName: opts.Web.ProductName, LogoURL: opts.Web.LogoURL, AccentColor: opts.Web.AccentColor}
		cfg.PortalEmbedOrigins = opts.Web.EmbedOrigins
	}
	h := api.New(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = svc.Stop(stopCtx)
		cancel()
	})
	return &harness{url: srv.URL, handler: h, svc: svc, pool: pool, st: st}
}

// do sends a request with key as bearer key (none when empty) and body
// (nil: none; string or []byte: sent as is; anything else: as JSON). The
// request and response are checked against the OpenAPI document.
func (h *harness) do(t testing.TB, method, path, key string, body any) (int, http.Header, []byte) {
	t.Helper()
	return h.doHeader(t, method, path, key, body, nil)
}

// doHeader is do with extra request headers.
func (h *harness) doHeader(t testing.TB, method, path, key string, body any, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(t, err)
	}
	req, err := http.NewRequest(method, h.url+path, bytes.NewReader(raw))
	require.NoError(t, err)
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	checkAgainstDocument(t, req, raw, res, got)
	return res.StatusCode, res.Header, got
}

// openAPI is the OpenAPI document and its router.
type openAPI struct {
	doc    *openapi3.T
	router routers.Router
}

var loadOpenAPI = sync.OnceValues(func() (openAPI, error) {
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		return openAPI{}, err
	}
	d, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return openAPI{}, fmt.Errorf("load openapi.json: %w", err)
	}
	r, err := gorillamux.NewRouter(d)
	if err != nil {
		return openAPI{}, fmt.Errorf("route openapi.json: %w", err)
	}
	return openAPI{doc: d, router: r}, nil
})

// doc returns the OpenAPI document, loaded once per test binary.
func doc(t testing.TB) openAPI {
	t.Helper()
	o, err := loadOpenAPI()
	if err != nil {
		t.Fatalf("openapi: %v", err)
	}
	return o
}

var validationOptions = &openapi3filter.Options{
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	IncludeResponseStatus: true,
	MultiError:            true,
}

// checkAgainstDocument fails the test when the response does not match the
// OpenAPI document, or when the server accepted (2xx) a request that the
// document says is invalid. Requests the server refused may well break the
// document: tests send bad input on purpose.
func checkAgainstDocument(t testing.TB, req *http.Request, reqBody []byte, res *http.Response, resBody []byte) {
	t.Helper()
	vreq := req.Clone(context.Background())
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := doc(t).router.FindRoute(vreq)
	for k, v := range params { // the server decodes %3A and the like; the router does not
		if u, err := url.PathUnescape(v); err == nil {
			params[k] = u
		}
	}
	if err != nil {
		t.Errorf("openapi: %s %s is not in the document: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: validationOptions}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil && res.StatusCode < 300 {
		t.Errorf("openapi: the server answered %d to %s %s, but the document says the request is invalid: %v",
			res.StatusCode, req.Method, req.URL.Path, err)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Body:                   io.NopCloser(bytes.NewReader(resBody)),
		Options:                validationOptions,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("openapi: the answer %d to %s %s does not match the document: %v\nbody: %s",
			res.StatusCode, req.Method, req.URL.Path, err, truncate(resBody, 2000))
	}
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// problemJSON is an error answer.
type problemJSON struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"errors"`
}

// fields lists the fields a problem names.
func (p problemJSON) fields() []string {
	out := make([]string, len(p.Errors))
	for i, e := range p.Errors {
		out[i] = e.Field
	}
	return out
}

// requireProblem checks that an answer is a problem with status and
// returns it.
func requireProblem(t testing.TB, status int, gotStatus int, header http.Header, body []byte) problemJSON {
	t.Helper()
	require.Equal(t, status, gotStatus, "body: %s", body)
	require.Equal(t, "application/problem+json", header.Get("Content-Type"))
	var p problemJSON
	require.NoError(t, json.Unmarshal(body, &p), "body: %s", body)
	require.Equal(t, status, p.Status)
	require.Equal(t, http.StatusText(status), p.Title)
	require.NotEmpty(t, p.Detail)
	return p
}

// requireInvalid checks for a 422 that names field.
func requireInvalid(t testing.TB, field string, gotStatus int, header http.Header, body []byte) problemJSON {
	t.Helper()
	p := requireProblem(t, http.StatusUnprocessableEntity, gotStatus, header, body)
	require.Contains(t, p.fields(), field, "detail: %s", p.Detail)
	require.Contains(t, p.Detail, field)
	return p
}

// decode unmarshals an answer that must have status want.
func decode[T any](t testing.TB, want int, status int, body []byte) T {
	t.Helper()
	require.Equal(t, want, status, "body: %s", body)
	var v T
	require.NoError(t, json.Unmarshal(body, &v), "body: %s", body)
	return v
}

// obj is a JSON object as the API answers it.
type obj = map[string]any

type page struct {
	Data       []obj   `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

var seq atomic.Int64

// uniq returns a name that no other test uses.
func uniq(prefix string) string { return fmt.Sprintf("%s%d", prefix, seq.Add(1)) }

// tenant creates a tenant and returns its id.
func (h *harness) tenant(t testing.TB) string {
	t.Helper()
	id := uniq("cus_")
	status, _, body := h.do(t, http.MethodPut, "/api/v1/tenants/"+id, adminKey, obj{"name": "Customer " + id})
	require.Equal(t, http.StatusCreated, status, "body: %s", body)
	return id
}

// eventType creates an event type (with schema when not empty) and returns
// its name.
func (h *harness) eventType(t testing.TB, schema string) string {
	t.Helper()
	name := uniq("invoice.paid")
	b := obj{"name": name, "description": "An invoice was paid."}
	if schema != "" {
		b["schema"] = json.RawMessage(schema)
	}
	status, _, body := h.do(t, http.MethodPost, "/api/v1/event-types", adminKey, b)
	require.Equal(t, http.StatusCreated, status, "body: %s", body)
	return name
}

// endpoint creates an endpoint of tenant from body and returns it.
func (h *harness) endpoint(t testing.TB, tenant string, body obj) obj {
	t.Helper()
	status, _, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints", adminKey, body)
	return decode[obj](t, http.StatusCreated, status, raw)
}

// secret returns an endpoint's signing secret through the API.
func (h *harness) secret(t testing.TB, tenant, endpoint string) string {
	t.Helper()
	status, _, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints/"+endpoint+"/secret", adminKey, nil)
	s := decode[struct{ Secret string }](t, http.StatusOK, status, raw)
	require.True(t, strings.HasPrefix(s.Secret, "whsec_"), "secret: %q", s.Secret)
	return s.Secret
}

// publish publishes payload (raw JSON) and returns the message.
func (h *harness) publish(t testing.TB, tenant, eventType, payload string) obj {
	t.Helper()
	body := fmt.Sprintf(`{"event_type": %q, "payload": %s}`, eventType, payload)
	status, _, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tenant+"/messages", adminKey, body)
	return decode[obj](t, http.StatusAccepted, status, raw)
}

// getMessage reads a message with its deliveries.
func (h *harness) getMessage(t testing.TB, tenant, message string) obj {
	t.Helper()
	status, _, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+tenant+"/messages/"+message, adminKey, nil)
	return decode[obj](t, http.StatusOK, status, raw)
}

// waitDelivery waits until the message's only delivery reaches status and
// returns it.
func (h *harness) waitDelivery(t testing.TB, tenant, message, status string) obj {
	t.Helper()
	var last obj
	eventually(t, func() (bool, string) {
		m := h.getMessage(t, tenant, message)
		all, _ := m["deliveries"].([]any)
		var ds []any // parked ones (for disabled endpoints) aside
		for _, d := range all {
			if d.(obj)["status"] != "parked" {
				ds = append(ds, d)
			}
		}
		if len(ds) != 1 {
			return false, fmt.Sprintf("the message has %d deliveries that are not parked, not 1", len(ds))
		}
		last = ds[0].(obj)
		return last["status"] == status, fmt.Sprintf("the delivery never became %s (last: %v)", status, last)
	})
	return last
}

// eventually polls cond for up to 15s and fails with its last message.
func eventually(t testing.TB, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// list GETs a list and returns its page.
func (h *harness) list(t testing.TB, path, key string) page {
	t.Helper()
	status, _, raw := h.do(t, http.MethodGet, path, key, nil)
	return decode[page](t, http.StatusOK, status, raw)
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a webhook receiver on loopback that answers from a script.
type receiver struct {
	url    string
	mu     sync.Mutex
	got    []received
	answer func(n int) (int, string) // n is 1-based
}

func newReceiver(t testing.TB, answer func(n int) (int, string)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body})
		n := len(rc.got)
		rc.mu.Unlock()
		code, text := http.StatusOK, "ok"
		if rc.answer != nil {
			code, text = rc.answer(n)
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/hook"
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// waitRequests waits until the receiver got at least n requests.
func (rc *receiver) waitRequests(t testing.TB, n int) []received {
	t.Helper()
	eventually(t, func() (bool, string) {
		got := len(rc.requests())
		return got >= n, fmt.Sprintf("the receiver never got %d requests (got %d)", n, got)
	})
	return rc.requests()
}

// verify checks a received request's Standard Webhooks signature with secret.
func verify(t testing.TB, secret string, r received) {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	require.NoError(t, err)
	require.NoError(t, wh.Verify(r.body, r.header), "the signature verifies with the endpoint's secret")
}
