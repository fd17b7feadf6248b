package client_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api/client"
)

// TestProblemsFromHookd checks that hookd's problem+json answers arrive as
// *client.Error with the status, the detail and the fields at fault.
func TestProblemsFromHookd(t *testing.T) {
	t.Parallel()
	h := newHookd(t)
	ctx := t.Context()
	c := client.New(h.url, adminKey)
	_, err := c.UpsertTenant(ctx, "acme", client.TenantParams{Name: "Acme"})
	require.NoError(t, err)
	_, err = c.CreateEventType(ctx, client.EventTypeParams{Name: "invoice.paid",
		Schema: json.RawMessage(`{"type":"object","required":["id"]}`)})
	require.NoError(t, err)

	t.Run("fields at fault", func(t *testing.T) {
		t.Parallel()
		_, err := c.CreateEndpoint(ctx, "acme", client.EndpointParams{URL: "ftp://127.0.0.1/hook", Channels: []string{"no spaces"}})
		e := requireProblem(t, http.StatusUnprocessableEntity, err)
		require.ElementsMatch(t, []string{"url", "channels"}, mapped(e.Errors, func(f client.FieldError) string { return f.Field }))
		msg, ok := e.Field("url")
		require.True(t, ok)
		require.NotEmpty(t, msg)
		_, ok = e.Field("description")
		require.False(t, ok)
		require.True(t, strings.HasPrefix(e.Error(), "POST /api/v1/tenants/acme/endpoints: 422 Unprocessable Entity: "), e.Error())
		page, err := c.ListEndpoints(ctx, "acme", nil)
		require.NoError(t, err)
		require.Empty(t, page.Data, "and nothing was created")
	})
	t.Run("a payload against the schema", func(t *testing.T) {
		t.Parallel()
		_, err := c.Publish(ctx, "acme", client.PublishParams{EventType: "invoice.paid", Payload: map[string]any{"amount": 1}})
		e := requireProblem(t, http.StatusUnprocessableEntity, err)
		require.NotEmpty(t, e.Errors)
		require.True(t, strings.HasPrefix(e.Errors[0].Field, "payload"), "field %q", e.Errors[0].Field)
	})
	t.Run("not found", func(t *testing.T) {
		t.Parallel()
		_, err := c.GetTenant(ctx, "nobody")
		requireStatus(t, http.StatusNotFound, err)
		require.True(t, client.IsNotFound(err))
		_, err = c.GetMessage(ctx, "acme", uuid.New())
		require.True(t, client.IsNotFound(err), "%v", err)
		require.False(t, client.IsNotFound(nil))
	})
	t.Run("conflict", func(t *testing.T) {
		t.Parallel()
		_, err := c.CreateEventType(ctx, client.EventTypeParams{Name: "invoice.paid"})
		requireStatus(t, http.StatusConflict, err)
		require.True(t, client.IsConflict(err))
	})
	t.Run("a wrong key", func(t *testing.T) {
		t.Parallel()
		_, err := client.New(h.url, "hk_admin_wrong").ListTenants(ctx, nil)
		requireStatus(t, http.StatusUnauthorized, err)
	})
	t.Run("a tenant key on an admin route", func(t *testing.T) {
		t.Parallel()
		key, err := c.CreateTenantKey(ctx, "acme")
		require.NoError(t, err)
		_, err = client.New(h.url, key.Key).Publish(ctx, "acme", client.PublishParams{EventType: "invoice.paid",
			Payload: map[string]any{"id": "inv_1"}})
		requireStatus(t, http.StatusForbidden, err)
	})
	t.Run("an API key on the portal's session", func(t *testing.T) {
		t.Parallel()
		_, err := c.PortalSession(ctx)
		requireStatus(t, http.StatusForbidden, err)
	})
}
