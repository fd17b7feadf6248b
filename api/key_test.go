package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// tenantKey mints a tenant key and returns its id and the key.
func (h *harness) tenantKey(t testing.TB, tenant string) (id, key string) {
	t.Helper()
	status, _, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tenant+"/keys", adminKey, nil)
	k := decode[obj](t, http.StatusCreated, status, raw)
	require.True(t, strings.HasPrefix(k["key"].(string), "hk_tenant_"), "key: %v", k["key"])
	return k["id"].(string), k["key"].(string)
}

func TestTenantKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	et := h.eventType(t, "")
	mine, theirs := h.tenant(t), h.tenant(t)
	keyID, key := h.tenantKey(t, mine)

	myEndpoint := h.endpoint(t, mine, obj{"url": "https://example.com/mine"})
	rc := newReceiver(t, nil)
	their := h.endpoint(t, theirs, obj{"url": rc.url})
	theirID := their["id"].(string)
	theirSecret := h.secret(t, theirs, theirID)
	theirMsg := h.publish(t, theirs, et, `{"for":"them"}`)["id"].(string)
	h.waitDelivery(t, theirs, theirMsg, "succeeded")

	t.Run("own tenant", func(t *testing.T) {
		list := h.list(t, "/api/v1/tenants/"+mine+"/endpoints", key)
		require.Len(t, list.Data, 1)
		require.Equal(t, myEndpoint["id"], list.Data[0]["id"])
		status, _, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+mine+"/endpoints", key, obj{"url": "https://example.com/mine2"})
		require.Equal(t, mine, decode[obj](t, http.StatusCreated, status, raw)["tenant_id"])
		require.Len(t, h.list(t, "/api/v1/event-types", key).Data, 1, "tenant keys see the event catalog")
		require.Empty(t, h.list(t, "/api/v1/tenants/"+mine+"/messages", key).Data)
	})

	t.Run("another tenant is 404 and unchanged", func(t *testing.T) {
		base := "/api/v1/tenants/" + theirs
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{http.MethodGet, "/endpoints", nil},
			{http.MethodPost, "/endpoints", obj{"url": "https://attacker.example/"}},
			{http.MethodGet, "/endpoints/" + theirID, nil},
			{http.MethodPatch, "/endpoints/" + theirID, obj{"url": "https://attacker.example/"}},
			{http.MethodDelete, "/endpoints/" + theirID, nil},
			{http.MethodGet, "/endpoints/" + theirID + "/secret", nil},
			{http.MethodPost, "/endpoints/" + theirID + "/secret/rotate", nil},
			{http.MethodPost, "/endpoints/" + theirID + "/recover", obj{"since": "2000-01-01T00:00:00Z"}},
			{http.MethodGet, "/endpoints/" + theirID + "/attempts", nil},
			{http.MethodGet, "/messages", nil},
			{http.MethodPost, "/messages", obj{"event_type": et, "payload": obj{}}},
			{http.MethodGet, "/messages/" + theirMsg, nil},
			{http.MethodGet, "/messages/" + theirMsg + "/attempts", nil},
			{http.MethodPost, "/messages/" + theirMsg + "/resend", nil},
			{http.MethodPost, "/keys", nil},
			{http.MethodGet, "/keys", nil},
		} {
			status, header, raw := h.do(t, tc.method, base+tc.path, key, tc.body)
			requireProblem(t, http.StatusNotFound, status, header, raw)
			require.NotContains(t, string(raw), theirSecret)
		}
		// My tenant in the path does not reach their endpoint or message either.
		for _, path := range []string{"/endpoints/" + theirID, "/messages/" + theirMsg, "/messages/" + theirMsg + "/attempts"} {
			status, header, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+mine+path, key, nil)
			requireProblem(t, http.StatusNotFound, status, header, raw)
		}
		status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+mine+"/messages/"+theirMsg+"/resend", key, nil)
		requireProblem(t, http.StatusNotFound, status, header, raw)

		time.Sleep(100 * time.Millisecond) // would a resend arrive?
		require.Len(t, rc.requests(), 1, "nothing was re-sent")
		status, _, raw = h.do(t, http.MethodGet, base+"/endpoints/"+theirID, adminKey, nil)
		require.Equal(t, their, decode[obj](t, http.StatusOK, status, raw), "their endpoint is unchanged")
		require.Equal(t, theirSecret, h.secret(t, theirs, theirID))
		require.Len(t, h.list(t, base+"/endpoints", adminKey).Data, 1)
		require.Len(t, h.list(t, base+"/messages", adminKey).Data, 1)
		require.Len(t, h.list(t, base+"/messages/"+theirMsg+"/attempts", adminKey).Data, 1)
	})

	t.Run("admin routes are 403", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPost, "/api/v1/tenants/" + mine + "/messages", obj{"event_type": et, "payload": obj{}}},
			{http.MethodPut, "/api/v1/tenants/" + mine, obj{"name": "mine now"}},
			{http.MethodPut, "/api/v1/tenants/" + uniq("new-"), obj{}},
			{http.MethodGet, "/api/v1/tenants", nil},
			{http.MethodGet, "/api/v1/tenants/" + mine, nil},
			{http.MethodDelete, "/api/v1/tenants/" + mine, nil},
			{http.MethodPost, "/api/v1/tenants/" + mine + "/keys", nil},
			{http.MethodGet, "/api/v1/tenants/" + mine + "/keys", nil},
			{http.MethodDelete, "/api/v1/tenants/" + mine + "/keys/" + keyID, nil},
			{http.MethodPost, "/api/v1/event-types", obj{"name": uniq("tenant.made")}},
			{http.MethodPatch, "/api/v1/event-types/" + et, obj{"description": "mine"}},
			{http.MethodDelete, "/api/v1/event-types/" + et, nil},
			{http.MethodPost, "/api/v1/replays", obj{"status": "failed", "since": "2000-01-01T00:00:00Z"}},
			{http.MethodGet, "/api/v1/replays/0190a0a0-0000-7000-8000-000000000000", nil},
		} {
			status, header, raw := h.do(t, tc.method, tc.path, key, tc.body)
			requireProblem(t, http.StatusForbidden, status, header, raw)
		}
		require.Empty(t, h.list(t, "/api/v1/tenants/"+mine+"/messages", adminKey).Data, "nothing was published")
		status, _, raw := h.do(t, http.MethodGet, "/api/v1/event-types/"+et, adminKey, nil)
		got := decode[obj](t, http.StatusOK, status, raw)
		require.Equal(t, false, got["archived"])
		require.NotEqual(t, "mine", got["description"])
	})

	t.Run("list and revoke", func(t *testing.T) {
		status, _, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+mine+"/keys", adminKey, nil)
		keys := decode[page](t, http.StatusOK, status, raw)
		require.Len(t, keys.Data, 1)
		require.Equal(t, keyID, keys.Data[0]["id"])
		require.True(t, strings.HasPrefix(key, keys.Data[0]["prefix"].(string)))
		require.NotContains(t, string(raw), key)

		status, _, _ = h.do(t, http.MethodDelete, "/api/v1/tenants/"+mine+"/keys/"+keyID, adminKey, nil)
		require.Equal(t, http.StatusNoContent, status)
		status, header, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+mine+"/endpoints", key, nil)
		requireProblem(t, http.StatusUnauthorized, status, header, raw)
		status, header, raw = h.do(t, http.MethodDelete, "/api/v1/tenants/"+mine+"/keys/"+keyID, adminKey, nil)
		requireProblem(t, http.StatusNotFound, status, header, raw)
		require.Empty(t, h.list(t, "/api/v1/tenants/"+mine+"/keys", adminKey).Data)
	})

	t.Run("a key dies with its tenant", func(t *testing.T) {
		tn := h.tenant(t)
		_, k := h.tenantKey(t, tn)
		require.Empty(t, h.list(t, "/api/v1/tenants/"+tn+"/endpoints", k).Data)
		status, _, _ := h.do(t, http.MethodDelete, "/api/v1/tenants/"+tn, adminKey, nil)
		require.Equal(t, http.StatusNoContent, status)
		status, header, raw := h.do(t, http.MethodGet, "/api/v1/tenants/"+tn+"/endpoints", k, nil)
		requireProblem(t, http.StatusUnauthorized, status, header, raw)
	})

	t.Run("unknown tenant", func(t *testing.T) {
		status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/nobody/keys", adminKey, nil)
		requireProblem(t, http.StatusNotFound, status, header, raw)
	})
}
