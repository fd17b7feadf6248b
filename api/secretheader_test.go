package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
)

func testCipher(t *testing.T) *store.Cipher {
	t.Helper()
	k, err := store.GenerateKey()
	require.NoError(t, err)
	raw, err := store.ParseKey(k)
	require.NoError(t, err)
	c, err := store.NewCipher(raw)
	require.NoError(t, err)
	return c
}

// TestCredentialHeadersAreNeverShown: an endpoint's credential headers go
// to the receiver in clear, and nowhere else: not in the API's answers,
// not in the attempt log, not in the database.
func TestCredentialHeadersAreNeverShown(t *testing.T) {
	t.Parallel()
	h := newHarness(t, &harnessOpts{Cipher: testCipher(t)})
	ctx := context.Background()
	tn := h.tenant(t)
	et := h.eventType(t, "")
	rc := newReceiver(t, nil)
	base := "/api/v1/tenants/" + tn + "/endpoints"
	secrets := []string{"sk_live_auth_1a", "ak_key_2b", "sig_secret_3c", "pin_marked_4d"}

	ep := h.endpoint(t, tn, obj{"url": rc.url, "secret_headers": []string{"x-tenant-pin", "X-Tenant-Pin"},
		"headers": obj{
			"Authorization":    "Bearer sk_live_auth_1a",
			"X-Api-Key":        "ak_key_2b",
			"X-Signing-Secret": "sig_secret_3c",
			"X-Tenant-Pin":     "pin_marked_4d",
			"X-Team":           "billing",
		}})
	id := ep["id"].(string)
	redacted := obj{"Authorization": "[redacted]", "X-Api-Key": "[redacted]", "X-Signing-Secret": "[redacted]",
		"X-Tenant-Pin": "[redacted]", "X-Team": "billing"}
	require.Equal(t, redacted, ep["headers"], "the create answer")
	require.Equal(t, []any{"x-tenant-pin"}, ep["secret_headers"], "duplicates are dropped")
	status, _, raw := h.do(t, http.MethodGet, base+"/"+id, adminKey, nil)
	got := decode[obj](t, http.StatusOK, status, raw)
	require.Equal(t, redacted, got["headers"])
	require.Equal(t, redacted, h.list(t, base, adminKey).Data[0]["headers"])

	// Sending back what GET showed, with one value changed, keeps the
	// others: [redacted] stands for the stored value.
	headers := got["headers"].(obj)
	headers["X-Team"] = "payments"
	headers["authorization"] = headers["Authorization"] // another spelling finds it too
	delete(headers, "Authorization")
	status, _, raw = h.do(t, http.MethodPatch, base+"/"+id, adminKey, obj{"headers": headers})
	got = decode[obj](t, http.StatusOK, status, raw)
	require.Equal(t, "payments", got["headers"].(obj)["X-Team"])
	require.Equal(t, "[redacted]", got["headers"].(obj)["authorization"])

	// The receiver gets the real values.
	m := h.publish(t, tn, et, `{}`)
	h.waitDelivery(t, tn, m["id"].(string), "succeeded")
	r := rc.waitRequests(t, 1)[0]
	require.Equal(t, "Bearer sk_live_auth_1a", r.header.Get("Authorization"))
	require.Equal(t, "ak_key_2b", r.header.Get("X-Api-Key"))
	require.Equal(t, "sig_secret_3c", r.header.Get("X-Signing-Secret"))
	require.Equal(t, "pin_marked_4d", r.header.Get("X-Tenant-Pin"))
	require.Equal(t, "payments", r.header.Get("X-Team"))

	// The attempt log shows them redacted.
	as := h.list(t, "/api/v1/tenants/"+tn+"/messages/"+m["id"].(string)+"/attempts", adminKey)
	require.Len(t, as.Data, 1)
	logged := as.Data[0]["request_headers"].(obj)
	for _, k := range []string{"Authorization", "X-Api-Key", "X-Signing-Secret", "X-Tenant-Pin"} {
		require.Equal(t, []any{"[redacted]"}, logged[k], k)
	}
	require.Equal(t, []any{"payments"}, logged["X-Team"])

	// Nor does the database hold them in clear.
	var stored, log string
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT headers FROM endpoints WHERE id = $1`, id).Scan(&stored))
	require.True(t, strings.HasPrefix(stored, "enc:v1:"), stored)
	require.NoError(t, h.pool.QueryRow(ctx, `SELECT request_headers::text FROM attempts WHERE endpoint_id = $1`, id).Scan(&log))
	for _, v := range secrets {
		require.NotContains(t, stored, v)
		require.NotContains(t, log, v)
	}

	// A header no longer marked secret is shown again; a new value
	// replaces the stored one.
	status, _, raw = h.do(t, http.MethodPatch, base+"/"+id, adminKey,
		obj{"secret_headers": []string{}, "headers": obj{"Authorization": "Bearer sk_live_new_5e", "X-Tenant-Pin": "[redacted]"}})
	got = decode[obj](t, http.StatusOK, status, raw)
	require.Equal(t, obj{"Authorization": "[redacted]", "X-Tenant-Pin": "pin_marked_4d"}, got["headers"])
	require.Equal(t, []any{}, got["secret_headers"])
	m = h.publish(t, tn, et, `{}`)
	h.waitDelivery(t, tn, m["id"].(string), "succeeded")
	require.Equal(t, "Bearer sk_live_new_5e", rc.waitRequests(t, 2)[1].header.Get("Authorization"))
}

func TestSecretHeadersValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	base := "/api/v1/tenants/" + tn + "/endpoints"

	// [redacted] for a header with no stored value: there is nothing to keep.
	status, header, raw := h.do(t, http.MethodPost, base, adminKey,
		obj{"url": "https://example.com/h", "headers": obj{"Authorization": "[redacted]"}})
	p := requireInvalid(t, "headers", status, header, raw)
	require.Contains(t, p.Detail, "Authorization")
	ep := h.endpoint(t, tn, obj{"url": "https://example.com/h", "headers": obj{"X-Api-Key": "k1"}})
	id := ep["id"].(string)
	status, header, raw = h.do(t, http.MethodPatch, base+"/"+id, adminKey,
		obj{"headers": obj{"X-Api-Key": "[redacted]", "X-Other-Token": "[redacted]"}})
	p = requireInvalid(t, "headers", status, header, raw)
	require.Contains(t, p.Detail, "X-Other-Token")

	status, header, raw = h.do(t, http.MethodPatch, base+"/"+id, adminKey, obj{"secret_headers": []string{"X Bad"}})
	requireInvalid(t, "secret_headers", status, header, raw)
	many := make([]string, 51)
	for i := range many {
		many[i] = uniq("X-H")
	}
	status, header, raw = h.do(t, http.MethodPatch, base+"/"+id, adminKey, obj{"secret_headers": many})
	requireInvalid(t, "secret_headers", status, header, raw)

	// None of it changed anything.
	st, err := h.st.GetEndpoint(context.Background(), tn, uuid.MustParse(id))
	require.NoError(t, err)
	require.Equal(t, map[string]string{"X-Api-Key": "k1"}, st.Headers)
	require.Empty(t, st.SecretHeaders)
}
