package client_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api/client"
)

// TestEndpointUpdateJSON holds PATCH's three states: left out keeps,
// a value sets, and (for the rate limit) a pointer to 0 sends null, which
// removes it.
func TestEndpointUpdateJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   client.EndpointUpdate
		want string
	}{
		{"nothing", client.EndpointUpdate{}, `{}`},
		{"a rate limit", client.EndpointUpdate{RateLimit: new(5)}, `{"rate_limit":5}`},
		{"no rate limit", client.EndpointUpdate{RateLimit: new(0)}, `{"rate_limit":null}`},
		{"all event types", client.EndpointUpdate{EventTypes: []string{}}, `{"event_types":[]}`},
		{"some", client.EndpointUpdate{EventTypes: []string{"invoice.*"}, Channels: []string{"eu"}},
			`{"event_types":["invoice.*"],"channels":["eu"]}`},
		{"enable", client.EndpointUpdate{Disabled: new(false)}, `{"disabled":false}`},
		{"no headers", client.EndpointUpdate{Headers: map[string]string{}}, `{"headers":{}}`},
		{"url and description", client.EndpointUpdate{URL: new("http://127.0.0.1:9/h"), Description: new("")},
			`{"url":"http://127.0.0.1:9/h","description":""}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := json.Marshal(tc.in)
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(got))
		})
	}
}
