package api_test

import (
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/web"
)

// TestConsoleInBrowser drives the operator console in chromium: a wrong
// key and a tenant key are refused, the admin key logs in, a failing
// endpoint is shown and recovered, failed deliveries are shown with the
// receiver's answer,
// a bulk replay is previewed, confirmed and watched until finished once
// the receiver is fixed, a portal link is minted and the queue renders.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	// No retries: a failed attempt fails the delivery at once.
	s := newPortalStack(t, &portalStackOpts{Branding: web.Config{ProductName: "Acme Webhooks"}})
	rc := newHookReceiver(t)
	rc.set("", http.StatusInternalServerError, "upstream exploded")
	acme := s.newTenant(t, "Acme Corporation")
	globex := s.newTenant(t, "Globex")
	et := s.newEventType(t, "invoice.paid", "An invoice was paid.", `{"invoice_id": "in_1"}`)
	ep := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+acme+"/endpoints", adminKey,
		map[string]any{"url": rc.url, "description": "Billing service"})["id"].(string)
	s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+globex+"/endpoints", adminKey,
		map[string]any{"url": "http://127.0.0.1:9/globex", "disabled": true, "disabled_reason": "moving servers"})
	var messages []string
	for i := range 3 {
		m := s.must(t, http.StatusAccepted, http.MethodPost, "/api/v1/tenants/"+acme+"/messages", adminKey,
			map[string]any{"event_type": et, "payload": map[string]any{"invoice_id": i}})
		messages = append(messages, m["id"].(string))
	}
	for _, m := range messages {
		waitDeliveryStatus(t, s, acme, m, "failed")
	}
	tenantKey := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+acme+"/keys", adminKey, nil)["key"].(string)

	b := newBrowser(t)
	t.Logf("screenshots of the console: %s", b.shots)

	// A wrong key and a tenant key are refused, each with why.
	b.do(t, chromedp.Navigate(s.url+"/console"))
	b.wait(t, "the login form", `document.querySelector("#admin-key")`)
	b.shot(t, "console-01-login")
	b.do(t, setValue("#admin-key", "hk_admin_not_a_real_key"), click("#login"))
	b.waitText(t, "#login-error", "not valid")
	b.do(t, setValue("#admin-key", tenantKey), click("#login"))
	b.waitText(t, "#login-error", "tenant key")
	b.shot(t, "console-02-login-tenant-key")
	require.True(t, eval[bool](t, b, `document.querySelector("#nav").hidden`), "no navigation before logging in")

	// The admin key: failing endpoints, newest problem first.
	b.do(t, setValue("#admin-key", adminKey), click("#login"))
	b.wait(t, "the failing endpoints", `document.querySelectorAll("#failing-rows tr[data-endpoint]").length === 2`)
	row := `#failing-rows tr[data-endpoint="` + ep + `"]`
	b.waitText(t, row, rc.url)
	require.Contains(t, b.text(t, row), acme)
	require.Contains(t, b.text(t, row), "500 Internal Server Error")
	require.Contains(t, b.text(t, "#failing-rows"), "moving servers")
	require.Equal(t, "3", eval[string](t, b, `document.querySelector('`+row+` td[data-label="Failed"]').textContent`))
	require.Equal(t, adminKey, eval[string](t, b, `sessionStorage.getItem("hookd.console.key")`), "the key is kept for this tab")
	require.Equal(t, 0, eval[int](t, b, `localStorage.length`), "and not beyond it")
	b.shot(t, "console-03-failing-endpoints")

	// Recover the endpoint's failed deliveries since a day ago: sent again,
	// and failed again, the receiver being still broken.
	b.do(t, click(row+` button[data-recover]`))
	b.wait(t, "the recover dialog", `document.querySelector("dialog #recover-since")?.value`)
	b.shot(t, "console-03b-recover-dialog")
	b.do(t, click(`#recover-go`))
	b.waitText(t, "#toasts", "Sending 3 failed deliveries again.")
	rc.waitFor(t, 6)
	for _, m := range messages {
		waitDeliveryStatus(t, s, acme, m, "failed")
	}

	// Failed deliveries across tenants, with the receiver's answer inline.
	b.do(t, click(`a[data-nav="deliveries"]`))
	b.wait(t, "three failed deliveries", `document.querySelectorAll("#delivery-rows tr[data-delivery]").length === 3`)
	require.Contains(t, b.text(t, "#delivery-rows"), et)
	b.do(t, click(`#delivery-rows button[data-attempts]`))
	b.waitText(t, "#delivery-rows .detail-row", "upstream exploded")
	require.Contains(t, b.text(t, "#delivery-rows .detail-row"), "X-Receiver", "the response headers are shown")
	b.shot(t, "console-04-failed-deliveries")

	// The receiver is fixed: replay them all, from the filter the list had.
	rc.set("", http.StatusOK, "ok")
	b.do(t, click(`#replay-these`))
	b.wait(t, "the replay form", `document.querySelector("#replay-preview")`)
	b.do(t, setValue("#r-tenant", acme), click("#replay-preview"))
	b.waitText(t, "#replay-count", "3 deliveries match")
	b.shot(t, "console-05-replay-preview")
	require.Len(t, rc.requests(), 6, "a preview sends nothing")
	b.do(t, click("#replay-confirm"), click(`dialog button[value="ok"]`))
	b.waitText(t, "#replay-state", "finished")
	require.Contains(t, b.text(t, "#replay-progress-label"), "3 of 3")
	b.wait(t, "a full progress bar", `(b => b.getBoundingClientRect().width >= b.parentElement.getBoundingClientRect().width - 1)(document.querySelector("#replay-bar"))`)
	b.waitText(t, "#replay-history", "Replay of failed")
	b.shot(t, "console-06-replay-finished")
	rc.waitFor(t, 9)
	for _, m := range messages {
		waitDeliveryStatus(t, s, acme, m, "succeeded")
	}

	// Only the disabled endpoint is failing now.
	b.do(t, click(`a[data-nav="failing"]`))
	b.wait(t, "one failing endpoint", `document.querySelectorAll("#failing-rows tr[data-endpoint]").length === 1`)
	require.Contains(t, b.text(t, "#failing-rows"), "moving servers")

	// Tenants: a portal link for Acme.
	b.do(t, click(`a[data-nav="tenants"]`))
	b.wait(t, "the tenants", `document.querySelectorAll("#tenant-rows tr[data-tenant]").length === 2`)
	b.do(t, click(`button[data-portal-link="`+acme+`"]`))
	b.waitText(t, "#tenant-rows .portal-url", s.url+"/portal/login?token=hk_portal_")
	b.shot(t, "console-07-tenants")

	// The queue, refreshing itself.
	b.do(t, click(`a[data-nav="queue"]`))
	b.wait(t, "the deliver queue", `document.querySelector('#queue-table tr[data-queue="deliver"]')`)
	b.waitText(t, "#queue-updated", "refreshes every")
	first := b.text(t, "#queue-updated")
	require.NotEmpty(t, first)
	b.shot(t, "console-08-queue")

	// On a phone.
	b.do(t, chromedp.EmulateViewport(390, 844), chromedp.Navigate(s.url+"/console#/deliveries?status=any"))
	b.wait(t, "the deliveries on a phone", `document.querySelectorAll("#delivery-rows tr[data-delivery]").length === 3`)
	require.False(t, eval[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth`), "no sideways scrolling at 390px")
	b.shot(t, "console-09-phone-deliveries")
	b.do(t, chromedp.EmulateViewport(1280, 900))

	// Log out: the key is gone from the tab.
	b.do(t, click("#logout"))
	b.wait(t, "the login form", `document.querySelector("#admin-key")`)
	b.waitText(t, "#login-notice", "You logged out")
	require.Equal(t, "", eval[string](t, b, `sessionStorage.getItem("hookd.console.key") || ""`))
	b.shot(t, "console-10-logged-out")

	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(t, b.errors, "the pages threw no JavaScript errors")
}
