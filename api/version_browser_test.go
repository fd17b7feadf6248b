package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/web"
)

// TestVersionsInBrowser drives versioned payloads in chromium: the catalog
// shows every version with its schema, example and what changed; an
// endpoint pinned to a deprecated version is warned, tries the new version
// with a test event (refused, then accepted) and pins it; a message
// without the pinned version shows its failed delivery; and the operator
// console shows who still uses the deprecated version.
func TestVersionsInBrowser(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, &portalStackOpts{Branding: web.Config{ProductName: "Acme Webhooks"}})
	rc := newHookReceiver(t)
	tenant := s.newTenant(t, "Globex Corporation")
	other := s.newTenant(t, "Initech")
	s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/event-types", adminKey, `{"name": "invoice.paid",
		"description": "An invoice was paid in full.",
		"versions": {
			"1": {"schema": {"type": "object", "required": ["invoice_id", "amount"], "properties": {
				"invoice_id": {"type": "string"}, "amount": {"type": "number"}}},
				"example": {"invoice_id": "in_1NqT3x", "amount": 42.5}},
			"2": {"schema": {"type": "object", "required": ["invoice_id", "amount_cents", "currency"], "properties": {
				"invoice_id": {"type": "string"}, "amount_cents": {"type": "integer"}, "currency": {"type": "string"}}},
				"example": {"invoice_id": "in_1NqT3x", "amount_cents": 4250, "currency": "eur"},
				"changes": "amount is now amount_cents, an integer, with its currency"}}}`)
	s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/event-types", adminKey,
		`{"name": "customer.created", "description": "A customer signed up.", "example": {"customer": "cus_9s8d"}}`)
	ep := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints", adminKey,
		map[string]any{"url": rc.url, "description": "Billing service", "version_pins": map[string]any{"invoice.paid": 1}})
	epID := ep["id"].(string)
	theirs := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+other+"/endpoints", adminKey,
		map[string]any{"url": "http://127.0.0.1:9/initech", "disabled": true, "version_pins": map[string]any{"invoice.paid": 1}})
	deprecated := time.Now().Add(-24 * time.Hour).UTC().Format(time.RFC3339)
	s.must(t, http.StatusOK, http.MethodPatch, "/api/v1/event-types/invoice.paid", adminKey,
		map[string]any{"versions": map[string]any{"1": map[string]any{"deprecated_at": deprecated}}})
	secret := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints/"+epID+"/secret", adminKey, nil)["secret"].(string)

	b := newBrowser(t)
	t.Logf("screenshots of versions: %s", b.shots)
	b.do(t, chromedp.Navigate(s.mintLink(t, tenant)))
	b.waitText(t, "#tenant-name", "Globex Corporation")

	// The catalog: the latest first, what changed, and the old version
	// marked deprecated with its own schema and example.
	b.do(t, click(`a[data-nav="event-types"]`))
	card := `[data-event-type="invoice.paid"]`
	b.wait(t, "the versions", `document.querySelectorAll('`+card+` .tab').length === 2`)
	require.Equal(t, "v2 · latest", b.text(t, card+` .tab[aria-selected="true"]`))
	b.waitText(t, card+" .version-panel", "amount is now amount_cents, an integer, with its currency")
	require.Contains(t, b.text(t, card+" .version-panel"), "amount_cents")
	require.Contains(t, b.text(t, card+" .version-panel"), "latest")
	require.Equal(t, 0, eval[int](t, b, `document.querySelectorAll('[data-event-type="customer.created"] .tab').length`),
		"one version: no tabs")
	b.shot(t, "versions-01-catalog")
	b.do(t, click(card+` .tab[data-version="1"]`))
	b.waitText(t, card+" .version-panel", "deprecated")
	require.Contains(t, b.text(t, card+" .version-panel"), `"amount": 42.5`)
	require.Contains(t, b.text(t, card+" .version-panel"), "should move to version 2")
	b.shot(t, "versions-02-catalog-deprecated")

	// The endpoint page warns of the deprecated pin and suggests v2.
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+epID))
	b.waitText(t, "#version-warning", "pinned to invoice.paid version 1, deprecated since")
	row := `[data-version-row="invoice.paid"]`
	b.waitText(t, row, "Sent: version 1")
	require.Equal(t, 0, eval[int](t, b, `document.querySelectorAll('[data-version-row="customer.created"]').length`),
		"an event with one version, not pinned, has no row")
	require.Equal(t, "2", eval[string](t, b, `document.querySelector('`+row+` select').value`), "the latest is suggested")
	require.True(t, eval[bool](t, b, `document.querySelector('`+row+` [data-version-pin]').disabled`), "no switch before a test")
	require.Equal(t, "Pin version 2", b.text(t, row+" [data-version-pin]"))
	b.shot(t, "versions-03-endpoint-deprecated")

	// The receiver does not handle v2 yet: the test is refused, no switch.
	rc.set(secret, http.StatusBadRequest, `{"error": "unknown field amount_cents"}`)
	b.do(t, click(row+" [data-version-test]"))
	b.waitText(t, row+" .version-result", "Not accepted")
	require.Contains(t, b.text(t, row+" .version-result"), "400 Bad Request")
	got := rc.waitFor(t, 1)
	require.Equal(t, "2", got[0].header.Get("webhook-version"))
	require.JSONEq(t, `{"invoice_id": "in_1NqT3x", "amount_cents": 4250, "currency": "eur"}`, string(got[0].body))
	require.True(t, got[0].verified)
	require.True(t, eval[bool](t, b, `document.querySelector('`+row+` [data-version-pin]').disabled`))
	b.shot(t, "versions-04-test-refused")

	// Fixed: the test is accepted, and the endpoint pins v2.
	rc.set(secret, http.StatusOK, `{"received": true}`)
	b.wait(t, "the test button", `!document.querySelector('`+row+` [data-version-test]').disabled`)
	b.do(t, click(row+" [data-version-test]"))
	b.waitText(t, row+" .version-result", "Accepted")
	b.wait(t, "the switch", `!document.querySelector('`+row+` [data-version-pin]').disabled`)
	b.shot(t, "versions-05-test-accepted")
	b.do(t, click(row+" [data-version-pin]"))
	b.waitText(t, row, "Sent: version 2")
	after := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints/"+epID, adminKey, nil)
	require.Equal(t, map[string]any{"invoice.paid": float64(2)}, after["version_pins"])
	require.Equal(t, 0, eval[int](t, b, `document.querySelectorAll("#version-warning").length`), "no warning any more")
	require.Contains(t, b.text(t, row+" .version-result"), "This is what it is sent now.")
	require.Equal(t, "Pinned to 2", b.text(t, row+" [data-version-pin]"))
	b.shot(t, "versions-06-pinned")

	// On a phone.
	b.do(t, chromedp.EmulateViewport(390, 844), chromedp.Reload())
	b.waitText(t, row, "Sent: version 2")
	require.False(t, eval[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth`), "no sideways scrolling at 390px")
	b.shot(t, "versions-06-phone")
	b.do(t, chromedp.EmulateViewport(1280, 900))

	// A publish of v1 alone cannot reach it: the failure is in the portal.
	failed := s.must(t, http.StatusAccepted, http.MethodPost, "/api/v1/tenants/"+tenant+"/messages", adminKey,
		map[string]any{"event_type": "invoice.paid", "version": 1, "payload": map[string]any{"invoice_id": "in_2", "amount": 1}})["id"].(string)
	waitDeliveryStatus(t, s, tenant, failed, "failed")
	b.do(t, chromedp.Navigate(s.url+"/portal/#/messages/"+failed))
	b.waitText(t, "#attempts", "version")
	require.Contains(t, b.text(t, "#attempts"), "pins version 2 of invoice.paid")
	require.Contains(t, b.text(t, "#message-version"), "version 1")
	b.shot(t, "versions-07-message-missing-version")
	require.Len(t, rc.requests(), 2, "nothing was sent for it")

	// The operator sees who still pins the deprecated v1.
	b.do(t, chromedp.Navigate(s.url+"/console"))
	b.wait(t, "the login form", `document.querySelector("#admin-key")`)
	b.do(t, setValue("#admin-key", adminKey), click("#login"))
	b.wait(t, "the nav", `!document.querySelector("#nav").hidden`)
	b.do(t, click(`a[data-nav="versions"]`))
	v1 := `tr[data-version="invoice.paid@1"]`
	b.waitText(t, v1, "1 endpoint still uses it")
	require.Contains(t, b.text(t, v1), "deprecated")
	require.Contains(t, b.text(t, `tr[data-version="invoice.paid@2"]`), "latest")
	require.Contains(t, b.text(t, `tr[data-version="invoice.paid@2"]`), "1 endpoint")
	b.do(t, click(`[data-show-pinned="invoice.paid@1"]`))
	b.waitText(t, `tr[data-pinned-by="invoice.paid@1"]`, other)
	require.Contains(t, b.text(t, `tr[data-pinned-by="invoice.paid@1"]`), "http://127.0.0.1:9/initech")
	require.Equal(t, 1, eval[int](t, b, `document.querySelectorAll('tr[data-pinned-by="invoice.paid@1"] tr[data-endpoint="`+theirs["id"].(string)+`"]').length`))
	b.shot(t, "versions-08-console")

	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(t, b.errors, "the pages threw no JavaScript errors")
}
