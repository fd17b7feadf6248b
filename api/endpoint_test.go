package api_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// givenSecret is a valid secret: whsec_ and the base64 of 24 bytes.
const givenSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestEndpoints(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	base := "/api/v1/tenants/" + tn + "/endpoints"

	t.Run("create with a generated secret", func(t *testing.T) {
		t.Parallel()
		ep := h.endpoint(t, tn, obj{"url": "https://example.com/hooks", "description": "billing",
			"event_types": []string{"invoice.*"}, "channels": []string{"eu"}, "headers": obj{"X-Team": "billing"},
			"metadata": obj{"owner": "ops"}})
		require.Equal(t, tn, ep["tenant_id"])
		require.Equal(t, "https://example.com/hooks", ep["url"])
		require.Equal(t, []any{"invoice.*"}, ep["event_types"])
		require.Equal(t, []any{"eu"}, ep["channels"])
		require.Equal(t, obj{"X-Team": "billing"}, ep["headers"])
		require.Equal(t, obj{"owner": "ops"}, ep["metadata"])
		require.Equal(t, false, ep["disabled"])
		require.Equal(t, "v1", ep["signature_scheme"])
		require.NotContains(t, ep, "secret", "the secret is only shown by GET .../secret")

		secret := h.secret(t, tn, ep["id"].(string))
		require.NotEqual(t, givenSecret, secret)
		other := h.endpoint(t, tn, obj{"url": "https://example.com/other"})
		require.NotEqual(t, secret, h.secret(t, tn, other["id"].(string)), "every endpoint gets its own secret")

		status, _, raw := h.do(t, http.MethodGet, base+"/"+ep["id"].(string), adminKey, nil)
		require.Equal(t, ep, decode[obj](t, http.StatusOK, status, raw))
	})

	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		ep := h.endpoint(t, tn, obj{"url": "http://127.0.0.1:9/x"})
		require.Equal(t, []any{}, ep["event_types"])
		require.Equal(t, []any{}, ep["channels"])
		require.Equal(t, obj{}, ep["headers"])
		require.Equal(t, obj{}, ep["metadata"])
		require.Nil(t, ep["rate_limit"])
		require.Equal(t, "", ep["description"])
	})

	t.Run("create with a given secret", func(t *testing.T) {
		t.Parallel()
		ep := h.endpoint(t, tn, obj{"url": "https://example.com/given", "secret": givenSecret})
		require.Equal(t, givenSecret, h.secret(t, tn, ep["id"].(string)))
	})

	t.Run("v1a shows only the public key", func(t *testing.T) {
		t.Parallel()
		ep := h.endpoint(t, tn, obj{"url": "https://example.com/ed", "signature_scheme": "v1a"})
		require.Equal(t, "v1a", ep["signature_scheme"])
		status, _, raw := h.do(t, http.MethodGet, base+"/"+ep["id"].(string)+"/secret", adminKey, nil)
		got := decode[obj](t, http.StatusOK, status, raw)
		require.NotContains(t, got, "secret")
		require.True(t, strings.HasPrefix(got["public_key"].(string), "whpk_"), "public_key: %v", got["public_key"])
		require.NotContains(t, string(raw), "whsk_", "the private key is never shown")

		status, header, raw := h.do(t, http.MethodPost, base, adminKey,
			obj{"url": "https://example.com/ed", "signature_scheme": "v1a", "secret": givenSecret})
		requireInvalid(t, "secret", status, header, raw)
	})

	for _, tc := range []struct {
		name, field string
		body        obj
	}{
		{"no url", "url", obj{"description": "x"}},
		{"ftp url", "url", obj{"url": "ftp://example.com/hook"}},
		{"credentials in url", "url", obj{"url": "https://user:pass@example.com/hook"}},
		{"relative url", "url", obj{"url": "/hook"}},
		{"url without scheme", "url", obj{"url": "example.com/hook"}},
		{"url with fragment", "url", obj{"url": "https://example.com/hook#x"}},
		{"empty url", "url", obj{"url": ""}},
		{"secret without prefix", "secret", obj{"url": "https://example.com", "secret": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}},
		{"secret too short", "secret", obj{"url": "https://example.com", "secret": "whsec_c2hvcnQ="}},
		{"secret not base64", "secret", obj{"url": "https://example.com", "secret": "whsec_not*base64*at*all*but*long*enough"}},
		{"secret too long", "secret", obj{"url": "https://example.com", "secret": "whsec_" + strings.Repeat("QUFB", 30)}},
		{"reserved header", "headers", obj{"url": "https://example.com", "headers": obj{"webhook-signature": "v1,forged"}}},
		{"reserved header any case", "headers", obj{"url": "https://example.com", "headers": obj{"Content-Type": "text/plain"}}},
		{"header with line break", "headers", obj{"url": "https://example.com", "headers": obj{"X-A": "a\r\nX-B: b"}}},
		{"bad event type filter", "event_types", obj{"url": "https://example.com", "event_types": []string{"invoice.*.paid"}}},
		{"bad channel", "channels", obj{"url": "https://example.com", "channels": []string{"has space"}}},
		{"rate limit zero", "rate_limit", obj{"url": "https://example.com", "rate_limit": 0}},
		{"metadata not an object", "metadata", obj{"url": "https://example.com", "metadata": "x"}},
		{"unknown scheme", "signature_scheme", obj{"url": "https://example.com", "signature_scheme": "v2"}},
	} {
		t.Run("invalid "+tc.name, func(t *testing.T) {
			t.Parallel()
			status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/endpoints", adminKey, tc.body)
			requireInvalid(t, tc.field, status, header, raw)
		})
	}

	t.Run("several fields at fault are all named", func(t *testing.T) {
		t.Parallel()
		status, header, raw := h.do(t, http.MethodPost, base, adminKey,
			obj{"url": "ftp://x", "headers": obj{"user-agent": "me"}, "rate_limit": -1})
		p := requireInvalid(t, "url", status, header, raw)
		require.Subset(t, p.fields(), []string{"url", "headers", "rate_limit"})
	})

	t.Run("invalid input creates nothing", func(t *testing.T) {
		t.Parallel()
		tn := h.tenant(t)
		status, _, _ := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/endpoints", adminKey, obj{"url": "ftp://x"})
		require.Equal(t, http.StatusUnprocessableEntity, status)
		require.Empty(t, h.list(t, "/api/v1/tenants/"+tn+"/endpoints", adminKey).Data)
	})

	t.Run("unknown tenant is 404", func(t *testing.T) {
		t.Parallel()
		status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/nobody/endpoints", adminKey, obj{"url": "https://example.com"})
		requireProblem(t, http.StatusNotFound, status, header, raw)
	})

	t.Run("patch", func(t *testing.T) {
		t.Parallel()
		ep := h.endpoint(t, tn, obj{"url": "https://example.com/a", "description": "old", "channels": []string{"eu"}})
		path := base + "/" + ep["id"].(string)
		status, _, raw := h.do(t, http.MethodPatch, path, adminKey, obj{"url": "https://example.com/b", "event_types": []string{"user.created"}})
		got := decode[obj](t, http.StatusOK, status, raw)
		require.Equal(t, "https://example.com/b", got["url"])
		require.Equal(t, []any{"user.created"}, got["event_types"])
		require.Equal(t, "old", got["description"], "fields left out keep their value")
		require.Equal(t, []any{"eu"}, got["channels"])

		status, _, raw = h.do(t, http.MethodPatch, path, adminKey, obj{"disabled": true})
		got = decode[obj](t, http.StatusOK, status, raw)
		require.Equal(t, true, got["disabled"])
		require.NotEmpty(t, got["disabled_reason"])
		status, _, raw = h.do(t, http.MethodPatch, path, adminKey, obj{"disabled": false})
		got = decode[obj](t, http.StatusOK, status, raw)
		require.Equal(t, false, got["disabled"])
		require.Equal(t, "", got["disabled_reason"])

		status, header, raw := h.do(t, http.MethodPatch, path, adminKey, obj{"url": "ftp://example.com", "description": "new"})
		requireInvalid(t, "url", status, header, raw)
		status, header, raw = h.do(t, http.MethodPatch, path, adminKey, obj{"secret": givenSecret})
		requireInvalid(t, "secret", status, header, raw)
		status, _, raw = h.do(t, http.MethodGet, path, adminKey, nil)
		got = decode[obj](t, http.StatusOK, status, raw)
		require.Equal(t, "https://example.com/b", got["url"], "a refused PATCH changes nothing")
		require.Equal(t, "old", got["description"])
	})

	t.Run("patch null clears", func(t *testing.T) {
		t.Parallel()
		ep := h.endpoint(t, tn, obj{"url": "https://example.com/limited", "rate_limit": 5, "metadata": obj{"a": 1}})
		path := base + "/" + ep["id"].(string)
		status, _, raw := h.do(t, http.MethodPatch, path, adminKey, obj{"rate_limit": nil, "metadata": nil})
		got := decode[obj](t, http.StatusOK, status, raw)
		require.Nil(t, got["rate_limit"], "null removes the rate limit")
		require.Equal(t, obj{}, got["metadata"])
	})

	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		ep := h.endpoint(t, tn, obj{"url": "https://example.com/gone"})
		path := base + "/" + ep["id"].(string)
		status, _, raw := h.do(t, http.MethodDelete, path, adminKey, nil)
		require.Equal(t, http.StatusNoContent, status)
		require.Empty(t, raw)
		for _, method := range []string{http.MethodGet, http.MethodDelete} {
			status, header, raw := h.do(t, method, path, adminKey, nil)
			requireProblem(t, http.StatusNotFound, status, header, raw)
		}
		status, header, raw := h.do(t, http.MethodGet, path+"/secret", adminKey, nil)
		requireProblem(t, http.StatusNotFound, status, header, raw)
	})

	t.Run("not a uuid is 404", func(t *testing.T) {
		t.Parallel()
		status, header, raw := h.do(t, http.MethodGet, base+"/not-a-uuid", adminKey, nil)
		requireProblem(t, http.StatusNotFound, status, header, raw)
	})

	t.Run("rotate secret", func(t *testing.T) {
		t.Parallel()
		ep := h.endpoint(t, tn, obj{"url": "https://example.com/rotate", "secret": givenSecret})
		path := base + "/" + ep["id"].(string) + "/secret/rotate"
		status, _, raw := h.do(t, http.MethodPost, path, adminKey, nil)
		got := decode[struct{ Secret string }](t, http.StatusOK, status, raw)
		require.True(t, strings.HasPrefix(got.Secret, "whsec_"))
		require.NotEqual(t, givenSecret, got.Secret)
		require.Equal(t, got.Secret, h.secret(t, tn, ep["id"].(string)))

		status, header, raw := h.do(t, http.MethodPost, path, adminKey, obj{"grace_period_seconds": 700000})
		requireInvalid(t, "grace_period_seconds", status, header, raw)
		require.Equal(t, got.Secret, h.secret(t, tn, ep["id"].(string)), "a refused rotation changes nothing")
	})
}

func TestEndpointListPagination(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	var made []string
	for range 3 {
		made = append(made, h.endpoint(t, tn, obj{"url": "https://example.com/" + uniq("e")})["id"].(string))
	}
	first := h.list(t, "/api/v1/tenants/"+tn+"/endpoints?limit=2", adminKey)
	require.Len(t, first.Data, 2)
	require.NotNil(t, first.NextCursor)
	second := h.list(t, "/api/v1/tenants/"+tn+"/endpoints?limit=2&cursor="+url.QueryEscape(*first.NextCursor), adminKey)
	require.Len(t, second.Data, 1)
	require.Nil(t, second.NextCursor)
	require.Equal(t, []string{made[2], made[1], made[0]},
		[]string{first.Data[0]["id"].(string), first.Data[1]["id"].(string), second.Data[0]["id"].(string)}, "newest first")
	status, header, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+tn+"/endpoints?limit=251", adminKey, nil)
	requireInvalid(t, "limit", status, header, raw)
}
