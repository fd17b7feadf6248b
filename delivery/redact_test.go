package delivery_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
)

func TestIsSecretHeader(t *testing.T) {
	t.Parallel()
	marked := []string{"X-Tenant-Password", "x-internal"}
	for _, tc := range []struct {
		name   string
		secret bool
	}{
		{"Authorization", true},
		{"authorization", true},
		{"Proxy-Authorization", true},
		{"Cookie", true},
		{"X-Api-Key", true},
		{"X-API-KEY", true},
		{"X-Auth-Token", true},
		{"Api-Key", true},
		{"X-Client-Secret", true},
		{"X-Tenant-Password", true},
		{"X-INTERNAL", true},
		{"X-Request-Source", false},
		{"X-Keyboard", false},
		{"Token", false},
		{"X-Tokens", false},
		{"Accept", false},
		{"X-Internal-Id", false},
	} {
		require.Equal(t, tc.secret, delivery.IsSecretHeader(tc.name, marked), tc.name)
	}
}

func TestRedactHeaders(t *testing.T) {
	t.Parallel()
	in := map[string]string{"Authorization": "Bearer sk_live_1", "X-Source": "hookd", "X-Mine": "m"}
	out := delivery.RedactHeaders(in, []string{"x-mine"})
	require.Equal(t, map[string]string{"Authorization": delivery.Redacted, "X-Source": "hookd", "X-Mine": delivery.Redacted}, out)
	require.Equal(t, "Bearer sk_live_1", in["Authorization"], "the endpoint's own map is not changed")
}
