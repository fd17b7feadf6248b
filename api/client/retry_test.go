package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api/client"
)

// upstream is a loopback HTTP server that answers from a script, standing
// in for a hookd behind a proxy that fails now and then.
type upstream struct {
	url string
	mu  sync.Mutex
	got []*http.Request
}

// newUpstream serves answer(n, w, r) for the n-th request (1-based).
func newUpstream(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *upstream {
	t.Helper()
	u := &upstream{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		u.mu.Lock()
		u.got = append(u.got, r)
		n := len(u.got)
		u.mu.Unlock()
		answer(n, w, r)
	}))
	t.Cleanup(srv.Close)
	u.url = srv.URL
	return u
}

func (u *upstream) requests() []*http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*http.Request(nil), u.got...)
}

// quick retries fast, for tests.
var quick = client.WithRetry(client.Retry{MinWait: time.Millisecond, MaxWait: 50 * time.Millisecond})

func ok(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`)
}

func unavailable(w http.ResponseWriter, retryAfter string) {
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = io.WriteString(w, `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"database unreachable"}`)
}

// hangUp closes the connection without an answer: a network error.
func hangUp(t *testing.T, w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	require.NoError(t, err)
	conn.Close()
}

func TestRetriesIdempotentCalls(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		first func(t *testing.T, w http.ResponseWriter)
	}{
		{"503", func(t *testing.T, w http.ResponseWriter) { unavailable(w, "") }},
		{"502 from a proxy", func(t *testing.T, w http.ResponseWriter) { http.Error(w, "bad gateway", http.StatusBadGateway) }},
		{"504 from a proxy", func(t *testing.T, w http.ResponseWriter) { http.Error(w, "timeout", http.StatusGatewayTimeout) }},
		{"429", func(t *testing.T, w http.ResponseWriter) { http.Error(w, "slow down", http.StatusTooManyRequests) }},
		{"network error", hangUp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if n <= 2 {
					tc.first(t, w)
					return
				}
				ok(w)
			})
			h, err := client.New(u.url, "k", quick).Health(t.Context())
			require.NoError(t, err)
			require.Equal(t, "ok", h.Status)
			require.Len(t, u.requests(), 3, "two failures, then the answer")
		})
	}
}

func TestGivesUpAfterAttempts(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) { unavailable(w, "") })
	c := client.New(u.url, "k", client.WithRetry(client.Retry{Attempts: 3, MinWait: time.Millisecond}))
	_, err := c.GetTenant(t.Context(), "acme")
	e := requireProblem(t, http.StatusServiceUnavailable, err)
	require.Equal(t, "database unreachable", e.Detail)
	require.Len(t, u.requests(), 3)
}

func TestDoesNotRetryCallsThatAreNotIdempotent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		answer func(t *testing.T, w http.ResponseWriter)
	}{
		{"503", func(t *testing.T, w http.ResponseWriter) { unavailable(w, "") }},
		{"network error", hangUp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := newUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) { tc.answer(t, w) })
			c := client.New(u.url, "k", quick)
			_, err := c.CreateEndpoint(t.Context(), "acme", client.EndpointParams{URL: "http://127.0.0.1:9/hook"})
			require.Error(t, err)
			_, err = c.ResendMessage(t.Context(), "acme", uuid.New(), nil)
			require.Error(t, err)
			require.Len(t, u.requests(), 2, "each POST was sent once")
		})
	}
}

func TestHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			unavailable(w, "1")
			return
		}
		ok(w)
	})
	c := client.New(u.url, "k", client.WithRetry(client.Retry{MinWait: time.Millisecond, MaxWait: 5 * time.Second}))
	start := time.Now()
	_, err := c.Health(t.Context())
	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "it waited as Retry-After said, not its own 1ms")
	require.Len(t, u.requests(), 2)
}

func TestDoesNotWaitForALongRetryAfter(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) { unavailable(w, "120") })
	start := time.Now()
	_, err := client.New(u.url, "k", quick).Health(t.Context())
	requireStatus(t, http.StatusServiceUnavailable, err)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Len(t, u.requests(), 1, "two minutes is the caller's to wait, not the client's")
}

func TestContextEndsRetries(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) { unavailable(w, "") })
	c := client.New(u.url, "k", client.WithRetry(client.Retry{MinWait: time.Minute, MaxWait: time.Minute}))
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Health(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	requireStatus(t, http.StatusServiceUnavailable, err) // and says why it was retrying
	require.Less(t, time.Since(start), 10*time.Second)
	require.Len(t, u.requests(), 1)

	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.Health(canceled)
	require.ErrorIs(t, err, context.Canceled)
	require.Len(t, u.requests(), 1, "a canceled context sends nothing")
}

func TestSendsKeyAndJSON(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"acme","name":"Acme","metadata":{},"created_at":"2026-01-02T15:04:05Z","updated_at":"2026-01-02T15:04:05Z"}`)
	})
	_, err := client.New(u.url+"/", "hk_admin_x", client.WithUserAgent("billing/1.2")).
		UpsertTenant(t.Context(), "acme:eu", client.TenantParams{Name: "Acme"})
	require.NoError(t, err)
	_, err = client.New(u.url, "").GetTenant(t.Context(), "acme")
	require.NoError(t, err)
	got := u.requests()
	require.Len(t, got, 2)
	put, get := got[0], got[1]
	require.Equal(t, http.MethodPut, put.Method)
	require.Equal(t, "/api/v1/tenants/acme:eu", put.URL.Path)
	require.Equal(t, "Bearer hk_admin_x", put.Header.Get("Authorization"))
	require.Equal(t, "billing/1.2", put.Header.Get("User-Agent"))
	require.Equal(t, "application/json", put.Header.Get("Content-Type"))
	body, _ := io.ReadAll(put.Body)
	require.JSONEq(t, `{"name":"Acme"}`, string(body))
	require.Empty(t, get.Header.Get("Authorization"), "an empty key sends none")
	require.Empty(t, get.Header.Get("Content-Type"), "no body, no content type")
}

func TestEmptyIDsAreRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) { ok(w) })
	c := client.New(u.url, "k")
	_, err := c.GetTenant(t.Context(), "")
	require.ErrorContains(t, err, "tenant id is required")
	_, err = c.GetEndpoint(t.Context(), "acme", uuid.Nil)
	require.ErrorContains(t, err, "endpoint id is required")
	_, err = c.Publish(t.Context(), "", client.PublishParams{EventType: "a.b", Payload: map[string]any{}})
	require.ErrorContains(t, err, "tenant id is required")
	require.Empty(t, u.requests())
}

func TestAnswersThatAreNotProblems(t *testing.T) {
	t.Parallel()
	u := newUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>upstream is down</html>\n")
	})
	c := client.New(u.url, "k", client.WithRetry(client.Retry{Attempts: 1}))
	_, err := c.GetTenant(t.Context(), "acme")
	var e *client.Error
	require.True(t, errors.As(err, &e), "%T: %v", err, err)
	require.Equal(t, http.StatusBadGateway, e.Status)
	require.Equal(t, "Bad Gateway", e.Title)
	require.Equal(t, "<html>upstream is down</html>", e.Detail)
	require.Equal(t, "GET /api/v1/tenants/acme: 502 Bad Gateway: <html>upstream is down</html>", e.Error())
}

// TestPublishRetriesWithOneIdempotencyKey puts a proxy in front of a real
// hookd that loses the answer to the first publish after hookd stored the
// message: the client's retry carries the same key, so hookd answers with
// that message and there is one message, not two.
func TestPublishRetriesWithOneIdempotencyKey(t *testing.T) {
	t.Parallel()
	h := newHookd(t)
	admin := client.New(h.url, adminKey)
	_, err := admin.UpsertTenant(t.Context(), "acme", client.TenantParams{Name: "Acme"})
	require.NoError(t, err)
	_, err = admin.CreateEventType(t.Context(), client.EventTypeParams{Name: "invoice.paid"})
	require.NoError(t, err)

	for _, tc := range []struct{ name, key string }{{"a key made up", ""}, {"the caller's key", "order-42-paid"}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			proxy := newUpstream(t, func(n int, w http.ResponseWriter, r *http.Request) {
				req, err := http.NewRequestWithContext(r.Context(), r.Method, h.url+r.URL.RequestURI(), r.Body)
				require.NoError(t, err)
				req.Header = r.Header.Clone()
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer res.Body.Close()
				if n == 1 {
					hangUp(t, w) // hookd has stored it; the client never hears
					return
				}
				w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
				w.WriteHeader(res.StatusCode)
				_, _ = io.Copy(w, res.Body)
			})
			c := client.New(proxy.url, adminKey, quick)
			tenant := "t" + tc.key
			_, err := admin.UpsertTenant(t.Context(), tenant, client.TenantParams{})
			require.NoError(t, err)
			msg, err := c.Publish(t.Context(), tenant, client.PublishParams{EventType: "invoice.paid",
				Payload: map[string]any{"id": "inv_1"}, IdempotencyKey: tc.key})
			require.NoError(t, err)

			got := proxy.requests()
			require.Len(t, got, 2)
			key := got[0].Header.Get("Idempotency-Key")
			require.NotEmpty(t, key)
			require.Equal(t, key, got[1].Header.Get("Idempotency-Key"), "the retry carries the same key")
			if tc.key != "" {
				require.Equal(t, tc.key, key)
			}
			require.Equal(t, key, *msg.IdempotencyKey)
			page, err := admin.ListMessages(t.Context(), tenant, nil)
			require.NoError(t, err)
			require.Equal(t, []string{msg.ID.String()}, mapped(page.Data, func(m client.Message) string { return m.ID.String() }),
				"one message, the first")
		})
	}
}
