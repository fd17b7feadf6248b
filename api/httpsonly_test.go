package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api"
)

// HOOKD_HTTPS_ONLY reaches URL validation: with HTTPSOnly on, an http://
// endpoint is a 422 on url, refused before anything is stored (the server
// has no store at all here).
func TestHTTPSOnlyRefusesHTTPEndpoints(t *testing.T) {
	t.Parallel()
	const key = "hk_admin_https_only_test"
	srv := httptest.NewServer(api.New(api.Config{AdminKey: key, HTTPSOnly: true}))
	t.Cleanup(srv.Close)

	for _, url := range []string{"http://example.com/hook", "HTTP://example.com/hook", "http://127.0.0.1:8080/"} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/tenants/acme/endpoints",
			strings.NewReader(`{"url":"`+url+`"}`))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var p api.Problem
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
		_ = resp.Body.Close()
		require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, url)
		require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		require.Len(t, p.Errors, 1)
		require.Equal(t, "url", p.Errors[0].Field)
		require.Contains(t, p.Errors[0].Message, "only https urls are allowed")
	}
}
