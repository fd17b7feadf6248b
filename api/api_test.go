package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAuthentication(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	for _, tc := range []struct {
		name, method, path, key string
	}{
		{"no key", http.MethodGet, "/api/v1/tenants", ""},
		{"wrong key", http.MethodGet, "/api/v1/tenants", "hk_admin_wrong"},
		{"wrong key on a tenant route", http.MethodGet, "/api/v1/tenants/" + tn + "/endpoints", "hk_tenant_wrong"},
		{"no key on publish", http.MethodPost, "/api/v1/tenants/" + tn + "/messages", ""},
		{"no key on event types", http.MethodGet, "/api/v1/event-types", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var body any
			if tc.method == http.MethodPost {
				body = obj{"event_type": "a.b", "payload": obj{}}
			}
			status, header, raw := h.do(t, tc.method, tc.path, tc.key, body)
			requireProblem(t, http.StatusUnauthorized, status, header, raw)
		})
	}
	t.Run("not a bearer", func(t *testing.T) {
		t.Parallel()
		status, header, raw := h.doHeader(t, http.MethodGet, "/api/v1/tenants", "", nil,
			http.Header{"Authorization": {"Basic " + adminKey}})
		p := requireProblem(t, http.StatusUnauthorized, status, header, raw)
		require.Contains(t, p.Detail, "Bearer")
	})
	t.Run("nothing was published without a key", func(t *testing.T) {
		t.Parallel()
		page := h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey)
		require.Empty(t, page.Data)
	})
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, path := range []string{"/healthz", "/readyz"} {
		status, _, raw := h.do(t, http.MethodGet, path, "", nil)
		got := decode[obj](t, http.StatusOK, status, raw)
		require.Equal(t, "ok", got["status"], path)
	}
	status, _, raw := h.do(t, http.MethodGet, "/healthz", "", nil)
	require.Equal(t, "test", decode[obj](t, http.StatusOK, status, raw)["version"])

	tn := h.tenant(t)
	et := h.eventType(t, "")
	h.publish(t, tn, et, `{"n":1}`)
	status, header, raw := h.do(t, http.MethodGet, "/metrics", "", nil)
	require.Equal(t, http.StatusOK, status)
	require.True(t, strings.HasPrefix(header.Get("Content-Type"), "text/plain"), header.Get("Content-Type"))
	require.Contains(t, string(raw), "hookd_messages_published_total 1\n")
	require.Contains(t, string(raw), "hookd_http_request_duration_seconds")
}

func TestUnknownRouteIsAProblem(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	// Not in the document, so not through h.do.
	req, err := http.NewRequest(http.MethodGet, h.url+"/api/v1/no-such-thing", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
	var p problemJSON
	require.NoError(t, json.NewDecoder(res.Body).Decode(&p))
	require.Equal(t, http.StatusNotFound, p.Status)
	require.Contains(t, p.Detail, "/api/v1/no-such-thing")
}

func TestMalformedJSONIs400(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	for _, tc := range []struct{ name, body string }{
		{"not JSON", `{"name":`},
		{"trailing data", `{"name":"x"} {}`},
		{"empty", ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, header, raw := h.do(t, http.MethodPut, "/api/v1/tenants/"+tn, adminKey, tc.body)
			requireProblem(t, http.StatusBadRequest, status, header, raw)
		})
	}
	t.Run("unknown field", func(t *testing.T) {
		t.Parallel()
		status, header, raw := h.do(t, http.MethodPut, "/api/v1/tenants/"+tn, adminKey, obj{"nmae": "typo"})
		p := requireProblem(t, http.StatusBadRequest, status, header, raw)
		require.Contains(t, p.Detail, "nmae")
	})
	t.Run("wrong type names the field", func(t *testing.T) {
		t.Parallel()
		status, header, raw := h.do(t, http.MethodPut, "/api/v1/tenants/"+tn, adminKey, obj{"name": 5})
		requireInvalid(t, "name", status, header, raw)
	})
	t.Run("the tenant is unchanged", func(t *testing.T) {
		t.Parallel()
		status, _, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+tn, adminKey, nil)
		require.Equal(t, "Customer "+tn, decode[obj](t, http.StatusOK, status, raw)["name"])
	})
}

func TestMetricsCountErrorsByTheirStatus(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &harnessOpts{MaxPayloadBytes: 1024})
	tn := h.tenant(t)
	big := `{"event_type":"a.b","payload":{"pad":"` + strings.Repeat("x", 100<<10) + `"}}`
	status, _, _ := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey, big)
	require.Equal(t, http.StatusRequestEntityTooLarge, status)
	_, _, raw := h.do(t, http.MethodGet, "/metrics", "", nil)
	require.Contains(t, string(raw), `hookd_http_request_duration_seconds_count{method="POST",route="/api/v1/tenants/:tenant/messages",status="413"} 1`)
	require.NotContains(t, string(raw), `route="/api/v1/tenants/:tenant/messages",status="200"`)
}

func TestWrongMethodIs405(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)

	// Sent around the harness: the document rightly has no such operation.
	for _, tc := range []struct {
		method, path, allow string
		status              int
	}{
		{http.MethodPatch, "/api/v1/tenants/acme", "GET, PUT, DELETE", http.StatusMethodNotAllowed},
		{http.MethodPost, "/api/v1/replays/0190a0b0-0000-7000-8000-000000000000", "GET", http.StatusMethodNotAllowed},
		{http.MethodGet, "/api/v1/no-such-thing", "", http.StatusNotFound},
		{http.MethodGet, "/api/elsewhere", "", http.StatusNotFound},
	} {
		req, err := http.NewRequest(tc.method, h.url+tc.path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		require.Equal(t, tc.status, res.StatusCode, "%s %s: %s", tc.method, tc.path, body)
		require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
		require.Equal(t, tc.allow, res.Header.Get("Allow"))
	}
}

func TestRequestLimits(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)

	// Every route but publish reads at most 256 KiB of body.
	big := obj{"name": "x", "metadata": obj{"blob": strings.Repeat("x", 300<<10)}}
	status, header, raw := h.do(t, http.MethodPut, "/api/v1/tenants/big", adminKey, big)
	p := requireProblem(t, http.StatusRequestEntityTooLarge, status, header, raw)
	require.Contains(t, p.Detail, "262144 bytes")
	status, _, _ = h.do(t, http.MethodGet, "/api/v1/tenants/big", adminKey, nil)
	require.Equal(t, http.StatusNotFound, status, "nothing was stored")

	h.do(t, http.MethodPut, "/api/v1/tenants/lim", adminKey, obj{"name": "Lim"})
	many := obj{}
	for i := range 51 {
		many[fmt.Sprintf("X-H%d", i)] = "v"
	}
	for _, headers := range []obj{many, {"X-Long": strings.Repeat("v", 5<<10)}} {
		status, header, raw = h.do(t, http.MethodPost, "/api/v1/tenants/lim/endpoints", adminKey,
			obj{"url": "https://example.com/hook", "headers": headers})
		requireInvalid(t, "headers", status, header, raw)
	}
}
