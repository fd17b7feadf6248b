package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTenants(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)

	t.Run("put creates then updates", func(t *testing.T) {
		t.Parallel()
		id := uniq("acme:eu.1_")
		status, _, raw := h.do(t, http.MethodPut, "/api/v1/tenants/"+id, adminKey, obj{"name": "Acme", "metadata": obj{"plan": "pro"}})
		created := decode[obj](t, http.StatusCreated, status, raw)
		require.Equal(t, id, created["id"])
		require.Equal(t, "Acme", created["name"])
		require.Equal(t, obj{"plan": "pro"}, created["metadata"])

		status, _, raw = h.do(t, http.MethodPut, "/api/v1/tenants/"+id, adminKey, obj{"name": "Acme Ltd"})
		updated := decode[obj](t, http.StatusOK, status, raw)
		require.Equal(t, "Acme Ltd", updated["name"])
		require.Equal(t, created["created_at"], updated["created_at"])

		status, _, raw = h.do(t, http.MethodGet, "/api/v1/tenants/"+id, adminKey, nil)
		require.Equal(t, "Acme Ltd", decode[obj](t, http.StatusOK, status, raw)["name"])
	})

	t.Run("empty body creates a tenant with no name", func(t *testing.T) {
		t.Parallel()
		id := uniq("bare-")
		status, _, raw := h.do(t, http.MethodPut, "/api/v1/tenants/"+id, adminKey, obj{})
		got := decode[obj](t, http.StatusCreated, status, raw)
		require.Equal(t, "", got["name"])
		require.Equal(t, obj{}, got["metadata"])
	})

	for _, tc := range []struct{ name, id string }{
		{"space", "has%20space"},
		{"slash-like", "a%2Fb"},
		{"too long", strings.Repeat("x", 129)},
		{"unicode", url.PathEscape("cliént")},
	} {
		t.Run("invalid id "+tc.name, func(t *testing.T) {
			t.Parallel()
			status, header, raw := h.do(t, http.MethodPut, "/api/v1/tenants/"+tc.id, adminKey, obj{"name": "x"})
			requireInvalid(t, "tenant", status, header, raw)
		})
	}

	t.Run("escaped id", func(t *testing.T) {
		t.Parallel()
		id := uniq("acme:eu-")
		status, _, raw := h.do(t, http.MethodPut, "/api/v1/tenants/"+url.PathEscape(id)+"%3A", adminKey, obj{})
		require.Equal(t, id+":", decode[obj](t, http.StatusCreated, status, raw)["id"])
		status, _, raw = h.do(t, http.MethodGet, "/api/v1/tenants/"+strings.ReplaceAll(id, ":", "%3A")+"%3A", adminKey, nil)
		require.Equal(t, id+":", decode[obj](t, http.StatusOK, status, raw)["id"])
	})

	t.Run("invalid body", func(t *testing.T) {
		t.Parallel()
		id := uniq("invalid-")
		for _, tc := range []struct {
			field string
			body  obj
		}{
			{"metadata", obj{"metadata": []int{1}}},
			{"name", obj{"name": strings.Repeat("n", 257)}},
		} {
			status, header, raw := h.do(t, http.MethodPut, "/api/v1/tenants/"+id, adminKey, tc.body)
			requireInvalid(t, tc.field, status, header, raw)
		}
		status, header, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+id, adminKey, nil)
		requireProblem(t, http.StatusNotFound, status, header, raw)
	})

	t.Run("get unknown is 404", func(t *testing.T) {
		t.Parallel()
		status, header, raw := h.do(t, http.MethodGet, "/api/v1/tenants/nobody-here", adminKey, nil)
		p := requireProblem(t, http.StatusNotFound, status, header, raw)
		require.Contains(t, p.Detail, "nobody-here")
		status, header, raw = h.do(t, http.MethodDelete, "/api/v1/tenants/nobody-here", adminKey, nil)
		requireProblem(t, http.StatusNotFound, status, header, raw)
	})

	t.Run("delete removes what it owns", func(t *testing.T) {
		t.Parallel()
		tn := h.tenant(t)
		ep := h.endpoint(t, tn, obj{"url": "http://127.0.0.1:9/unused"})
		et := h.eventType(t, "")
		h.publish(t, tn, et, `{"x":1}`)

		status, _, raw := h.do(t, http.MethodDelete, "/api/v1/tenants/"+tn, adminKey, nil)
		require.Equal(t, http.StatusNoContent, status)
		require.Empty(t, raw)

		for _, path := range []string{"/api/v1/tenants/" + tn, "/api/v1/tenants/" + tn + "/endpoints/" + ep["id"].(string)} {
			status, header, raw := h.do(t, http.MethodGet, path, adminKey, nil)
			requireProblem(t, http.StatusNotFound, status, header, raw)
		}
		require.Empty(t, h.list(t, "/api/v1/tenants/"+tn+"/endpoints", adminKey).Data)
		// Its history is purged by a background job, in batches, so that
		// the delete holds no long lock.
		require.Eventually(t, func() bool {
			return len(h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey).Data) == 0
		}, 15*time.Second, 50*time.Millisecond)

		// The same id makes a new, empty tenant.
		status, _, _ = h.do(t, http.MethodPut, "/api/v1/tenants/"+tn, adminKey, obj{})
		require.Equal(t, http.StatusCreated, status)
		require.Empty(t, h.list(t, "/api/v1/tenants/"+tn+"/endpoints", adminKey).Data)
	})
}

func TestTenantListPagination(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	var made []string
	for range 5 {
		made = append(made, h.tenant(t))
	}

	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 5, "pagination does not end")
		path := "/api/v1/tenants?limit=2"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		p := h.list(t, path, adminKey)
		require.LessOrEqual(t, len(p.Data), 2)
		for _, tn := range p.Data {
			seen = append(seen, tn["id"].(string))
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	require.ElementsMatch(t, made, seen, "every tenant exactly once")
	require.Equal(t, made[len(made)-1], seen[0], "newest first")

	all := h.list(t, "/api/v1/tenants", adminKey)
	require.Len(t, all.Data, 5)
	require.Nil(t, all.NextCursor)

	for _, q := range []string{"limit=0", "limit=251", "limit=-1", "limit=ten"} {
		status, header, raw := h.do(t, http.MethodGet, "/api/v1/tenants?"+q, adminKey, nil)
		requireInvalid(t, "limit", status, header, raw)
	}
	status, header, raw := h.do(t, http.MethodGet, "/api/v1/tenants?cursor=garbage", adminKey, nil)
	requireInvalid(t, "cursor", status, header, raw)
	p := h.list(t, "/api/v1/tenants?limit=250", adminKey)
	require.Len(t, p.Data, 5)
}
