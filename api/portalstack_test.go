package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/jackc/pgx/v5/pgxpool"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api"
	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/web"
)

// The helpers of the portal's tests (portal_test.go, portal_browser_test.go).

// portalSeq makes names no other test uses.
var portalSeq atomic.Int64

func init() {
	// The "link has expired" page is HTML; let the document check read it.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
}

// portalStack is the whole of hookd on a fresh database: API, web pages and
// delivery workers, served on loopback.
type portalStack struct {
	url  string
	pool *pgxpool.Pool
	st   *store.Store
	svc  *delivery.Service
}

// portalStackOpts changes a portalStack; nil means defaults.
type portalStackOpts struct {
	NoWeb      bool              // serve no web pages (api.Config.Web nil)
	PublicURL  string            // api.Config.PublicURL
	SessionTTL time.Duration     // api.Config.PortalSessionTTL
	Schedule   delivery.Schedule // nil: no retries, a failed attempt fails the delivery
	Branding   web.Config
	// SendTimeout is the delivery timeout; 0: the harness's 5s.
	SendTimeout time.Duration
}

func newPortalStack(t *testing.T, opts *portalStackOpts) *portalStack {
	t.Helper()
	if opts == nil {
		opts = &portalStackOpts{}
	}
	hopts := &harnessOpts{Schedule: opts.Schedule, PublicURL: opts.PublicURL, SessionTTL: opts.SessionTTL,
		SendTimeout: opts.SendTimeout}
	if hopts.Schedule == nil {
		hopts.Schedule = delivery.Schedule{} // no retries: a failed attempt fails the delivery
	}
	if !opts.NoWeb {
		hopts.Web = &opts.Branding
	}
	h := newHarness(t, hopts)
	return &portalStack{url: h.url, pool: h.pool, st: h.st, svc: h.svc}
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call sends a request to the stack. auth is a bearer key, a session
// (*portalSession) or nil; body is JSON unless it is a string. Answers of
// /api/ routes are checked against the OpenAPI document.
func (s *portalStack) call(t testing.TB, method, path string, auth any, body any, header http.Header) (int, http.Header, []byte) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(t, err)
	}
	target := s.url + path
	if strings.HasPrefix(path, "http") {
		// Only ever this stack, on loopback (a link may name a public URL).
		require.True(t, strings.HasPrefix(path, s.url+"/"), "%s is not on the test server %s", path, s.url)
		target = path
	}
	req, err := http.NewRequest(method, target, bytes.NewReader(raw))
	require.NoError(t, err)
	if body == nil {
		req.Body, req.ContentLength = http.NoBody, 0
	} else {
		req.Header.Set("Content-Type", "application/json")
	}
	switch a := auth.(type) {
	case string:
		req.Header.Set("Authorization", "Bearer "+a)
	case *portalSession:
		if a.bearer != "" {
			req.Header.Set("Authorization", "Bearer "+a.bearer)
			break
		}
		req.AddCookie(a.cookie)
		if method != http.MethodGet && method != http.MethodHead {
			req.Header.Set(api.CSRFHeader, a.csrf)
		}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := noRedirects.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if strings.HasPrefix(req.URL.Path, "/api/") {
		checkAgainstDocument(t, req, raw, res, got)
	}
	return res.StatusCode, res.Header, got
}

// must sends a request that must answer want and decodes the answer into a map.
func (s *portalStack) must(t testing.TB, want int, method, path string, auth any, body any) map[string]any {
	t.Helper()
	status, _, raw := s.call(t, method, path, auth, body, nil)
	require.Equal(t, want, status, "%s %s: %s", method, path, raw)
	out := map[string]any{}
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out))
	}
	return out
}

// newTenant creates a tenant with an id no other test uses.
func (s *portalStack) newTenant(t testing.TB, name string) string {
	t.Helper()
	id := fmt.Sprintf("acct_%d", portalSeq.Add(1))
	s.must(t, http.StatusCreated, http.MethodPut, "/api/v1/tenants/"+id, adminKey, map[string]any{"name": name})
	return id
}

// newEventType creates an event type with an example (and no schema) and
// returns its name.
func (s *portalStack) newEventType(t testing.TB, base, description, example string) string {
	t.Helper()
	name := fmt.Sprintf("%s%d", base, portalSeq.Add(1))
	body := fmt.Sprintf(`{"name": %q, "description": %q}`, name, description)
	if example != "" { // as a string, so that the example keeps its bytes
		body = fmt.Sprintf(`{"name": %q, "description": %q, "example": %s}`, name, description, example)
	}
	s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/event-types", adminKey, body)
	return name
}

// mintLink asks for a portal link of tenant as the admin and returns its URL.
func (s *portalStack) mintLink(t testing.TB, tenant string) string {
	t.Helper()
	out := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+tenant+"/portal-links", adminKey, map[string]any{})
	return out["url"].(string)
}

// portalSession is a logged-in portal browser, as far as the API knows it:
// a cookie and its CSRF token, or an embedded portal's session token.
type portalSession struct {
	cookie *http.Cookie
	csrf   string
	bearer string
}

// openLink opens a portal link as a browser would and returns the session
// it started.
func (s *portalStack) openLink(t testing.TB, link string) *portalSession {
	t.Helper()
	// The link may start with a configured public URL: open it here.
	status, header, body := s.call(t, http.MethodGet, "/portal/login?token="+linkToken(t, link), nil, nil, nil)
	require.Equal(t, http.StatusSeeOther, status, "body: %s", body)
	require.Equal(t, "/portal/", header.Get("Location"))
	res := http.Response{Header: header}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == api.SessionCookie {
			cookie = c
		}
	}
	require.NotNil(t, cookie, "the link sets the session cookie")
	sess := &portalSession{cookie: &http.Cookie{Name: cookie.Name, Value: cookie.Value}}
	info := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/portal/session", sess, nil)
	sess.csrf = info["csrf_token"].(string)
	return sess
}

// login mints a link for tenant and opens it.
func (s *portalStack) login(t testing.TB, tenant string) *portalSession {
	t.Helper()
	return s.openLink(t, s.mintLink(t, tenant))
}

// hookReceiver is a webhook receiver on loopback that checks every
// request's signature with the Standard Webhooks library against the
// secret it is told, and answers what it is told.
type hookReceiver struct {
	url    string
	mu     sync.Mutex
	secret string
	code   int
	body   string
	got    []hookRequest
}

type hookRequest struct {
	header   http.Header
	body     []byte
	verified bool // the signature verified with the secret the receiver had
}

func newHookReceiver(t testing.TB) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{code: http.StatusOK, body: `{"received":true}`}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		verified := false
		if rc.secret != "" {
			if wh, err := standardwebhooks.NewWebhook(rc.secret); err == nil {
				verified = wh.Verify(body, r.Header) == nil
			}
		}
		rc.got = append(rc.got, hookRequest{header: r.Header.Clone(), body: body, verified: verified})
		code, text := rc.code, rc.body
		rc.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Receiver", "test")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(srv.Close)
	rc.url = srv.URL + "/webhooks"
	return rc
}

// set changes what the receiver verifies with and answers.
func (rc *hookReceiver) set(secret string, code int, body string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secret, rc.code, rc.body = secret, code, body
}

func (rc *hookReceiver) requests() []hookRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookRequest(nil), rc.got...)
}

// waitFor waits until the receiver got n requests and returns them.
func (rc *hookReceiver) waitFor(t testing.TB, n int) []hookRequest {
	t.Helper()
	require.Eventually(t, func() bool { return len(rc.requests()) >= n }, 15*time.Second, 10*time.Millisecond,
		"the receiver never got %d requests (got %d)", n, len(rc.requests()))
	return rc.requests()
}

// linkToken is the token of a portal link URL (in its query, or in the
// fragment of an embed link).
func linkToken(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	require.NoError(t, err)
	if tok := u.Query().Get("token"); tok != "" {
		return tok
	}
	frag, err := url.ParseQuery(u.Fragment)
	require.NoError(t, err)
	return frag.Get("token")
}

// exchange spends a portal link's token as the embedded portal does and
// returns the bearer session it started.
func (s *portalStack) exchange(t testing.TB, link string) *portalSession {
	t.Helper()
	out := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/portal/sessions", nil, map[string]any{"token": linkToken(t, link)})
	return &portalSession{bearer: out["session_token"].(string)}
}
