package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/web"
)

// TestConsoleOperationalWebhooksInBrowser drives the console's operational
// webhooks page in chromium: an operator adds an operational endpoint for
// endpoint.created and endpoint.deleted, a customer's endpoint is created
// and deleted, both events arrive signed with the secret the page shows,
// the page lists what was sent, and the operational endpoint is deleted.
func TestConsoleOperationalWebhooksInBrowser(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, &portalStackOpts{Branding: web.Config{ProductName: "Acme Webhooks"}})
	rc := newHookReceiver(t)
	acme := s.newTenant(t, "Acme Corporation")

	b := newBrowser(t)
	b.do(t, chromedp.Navigate(s.url+"/console#/operational"))
	b.wait(t, "the login form", `document.querySelector("#admin-key")`)
	b.do(t, setValue("#admin-key", adminKey), click("#login"))
	b.wait(t, "the operational webhooks page", `document.querySelector("#op-form")`)
	b.waitText(t, "#op-list", "No operational endpoints yet")
	require.Equal(t, 8, eval[int](t, b, `document.querySelectorAll('#op-form input[name="event_types"]').length`),
		"the catalog of the OpenAPI document")
	b.shot(t, "console-ops-01-empty")

	// A URL that is not one is refused next to the field.
	b.do(t, setValue("#op-url", "not a url"), click("#op-add"))
	b.wait(t, "the url error", `document.querySelector('#op-form [data-field="url"] .field-error')`)
	b.do(t,
		setValue("#op-url", rc.url),
		setValue("#op-description", "On-call"),
		click(`#op-form input[value="endpoint.created"]`),
		click(`#op-form input[value="endpoint.deleted"]`),
		click("#op-add"))
	b.wait(t, "the new operational endpoint", `document.querySelectorAll("#op-rows tr[data-op-endpoint]").length === 1`)
	require.Contains(t, b.text(t, "#op-rows"), rc.url)
	require.Contains(t, b.text(t, "#op-rows"), "endpoint.deleted")
	list := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/operational-endpoints", adminKey, nil)["data"].([]any)
	require.Len(t, list, 1)
	op := list[0].(map[string]any)
	require.ElementsMatch(t, []any{"endpoint.created", "endpoint.deleted"}, op["event_types"])
	require.Equal(t, "On-call", op["description"])

	// The page shows the secret that signs what it gets.
	b.do(t, click(`button[data-op-secret]`))
	b.wait(t, "the secret", `document.querySelector(".op-secret")?.textContent.startsWith("whsec_")`)
	secret := b.text(t, ".op-secret")
	rc.set(secret, http.StatusOK, "ok")

	// A customer's endpoint comes and goes: both are told, signed.
	ep := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+acme+"/endpoints", adminKey,
		map[string]any{"url": "http://127.0.0.1:9/acme"})["id"].(string)
	s.must(t, http.StatusNoContent, http.MethodDelete, "/api/v1/tenants/"+acme+"/endpoints/"+ep, adminKey, nil)
	got := rc.waitFor(t, 2)
	var types []string
	for _, r := range got {
		require.True(t, r.verified, "signed with the secret the console shows")
		var ev struct {
			Type string
			Data struct {
				TenantID   string `json:"tenant_id"`
				EndpointID string `json:"endpoint_id"`
			}
		}
		require.NoError(t, json.Unmarshal(r.body, &ev))
		require.Equal(t, acme, ev.Data.TenantID)
		require.Equal(t, ep, ev.Data.EndpointID)
		checkEventAgainstDocument(t, r.body)
		types = append(types, ev.Type)
	}
	require.ElementsMatch(t, []string{"endpoint.created", "endpoint.deleted"}, types)

	// What was sent, with the answers (once both attempts are recorded:
	// the receiver has the request a moment before the log has it).
	require.Eventually(t, func() bool {
		a := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/operational-endpoints/"+op["id"].(string)+"/attempts", adminKey, nil)
		return len(a["data"].([]any)) == 2
	}, 15*time.Second, 20*time.Millisecond, "the operational endpoint's attempts were never both logged")
	b.do(t, click(`button[data-op-attempts]`))
	b.wait(t, "two attempts", `document.querySelectorAll(".op-attempts .op-attempt").length === 2`)
	shown := b.text(t, ".op-attempts")
	require.Contains(t, shown, "endpoint.created")
	require.Contains(t, shown, "endpoint.deleted")
	require.Contains(t, shown, "200 OK")
	require.True(t, strings.Contains(shown, acme), "the events name the tenant")
	b.shot(t, "console-ops-02-attempts")

	// Deleted: the list is empty again.
	b.do(t, click(`button[data-op-delete]`), click(`dialog button[value="ok"]`))
	b.waitText(t, "#op-list", "No operational endpoints yet")
	require.Empty(t, s.must(t, http.StatusOK, http.MethodGet, "/api/v1/operational-endpoints", adminKey, nil)["data"])

	// The tenants page does not list hookd's own tenant.
	b.do(t, click(`a[data-nav="tenants"]`))
	b.wait(t, "the tenants", `document.querySelectorAll("#tenant-rows tr[data-tenant]").length === 1`)
	require.NotContains(t, b.text(t, "#tenant-rows"), "hookd:operational")

	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(t, b.errors, "the pages threw no JavaScript errors")
}
