package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/web"
)

// TestHealthInBrowser: the portal and the console show an endpoint's
// health. A failing endpoint is shown with what its server answered; a
// disabled one with the messages kept for it, which "Enable and send"
// sends, in the portal and in the console, each with its original
// webhook-id. A view-only link shows the same and offers no button.
func TestHealthInBrowser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newPortalStack(t, &portalStackOpts{Branding: web.Config{ProductName: "Acme Webhooks"}})
	broken := newHookReceiver(t)
	broken.set("", http.StatusInternalServerError, "upstream exploded")
	billing, crm := newHookReceiver(t), newHookReceiver(t)
	acme := s.newTenant(t, "Acme Corporation")
	globex := s.newTenant(t, "Globex")
	invoices := s.newEventType(t, "invoice.paid", "An invoice was paid.", `{"invoice_id": "in_1"}`)
	customers := s.newEventType(t, "customer.created", "A customer signed up.", `{"customer": "cus_1"}`)
	endpoint := func(tenant, url, description string, types ...string) string {
		if types == nil {
			types = []string{}
		}
		return s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints", adminKey,
			map[string]any{"url": url, "description": description, "event_types": types})["id"].(string)
	}
	secret := func(tenant, ep string) string {
		return s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints/"+ep+"/secret", adminKey, nil)["secret"].(string)
	}
	publish := func(tenant, eventType string, n int) []string {
		var ids []string
		for i := range n {
			ids = append(ids, s.must(t, http.StatusAccepted, http.MethodPost, "/api/v1/tenants/"+tenant+"/messages", adminKey,
				map[string]any{"event_type": eventType, "payload": map[string]any{"n": i}})["id"].(string))
		}
		return ids
	}
	read := func(tenant, ep string) map[string]any {
		return s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints/"+ep, adminKey, nil)
	}

	// A failing endpoint: its server answers 500, five times in a row, which
	// opens its circuit. Its run of failures is dated two hours back, past
	// HOOKD_FAILING_AFTER (an hour), rather than shortening it: the API's
	// threshold is one for the whole process, and other tests run alongside.
	bad := endpoint(acme, broken.url, "Billing service", invoices)
	var failed string
	for _, m := range publish(acme, invoices, 5) {
		waitDeliveryStatus(t, s, acme, m, "failed")
		failed = m
	}
	require.Eventually(t, func() bool {
		e := read(acme, bad)
		return e["health"].(map[string]any)["failing_since"] != nil && e["circuit"].(map[string]any)["state"] == "open"
	}, 15*time.Second, 20*time.Millisecond, "the run of failures and the open circuit were never recorded")
	circuitReason := read(acme, bad)["circuit"].(map[string]any)["reason"].(string)
	require.NotEmpty(t, circuitReason)
	_, err := s.pool.Exec(ctx, `UPDATE endpoints SET failing_since = failing_since - interval '2 hours' WHERE id = $1`, bad)
	require.NoError(t, err)
	require.NoError(t, s.svc.CheckHealth(ctx))
	health := read(acme, bad)["health"].(map[string]any)
	require.Equal(t, "failing", health["state"])
	lastError := "answered 500 Internal Server Error: upstream exploded"
	require.Equal(t, lastError, health["last_error"])

	// Two disabled endpoints, with messages kept for them.
	off := endpoint(acme, billing.url, "CRM sync", customers)
	billing.set(secret(acme, off), http.StatusOK, "ok")
	off2 := endpoint(globex, crm.url, "Globex hooks")
	crm.set(secret(globex, off2), http.StatusOK, "ok")
	s.must(t, http.StatusOK, http.MethodPatch, "/api/v1/tenants/"+acme+"/endpoints/"+off, adminKey,
		map[string]any{"disabled": true, "disabled_reason": "moving servers"})
	s.must(t, http.StatusOK, http.MethodPatch, "/api/v1/tenants/"+globex+"/endpoints/"+off2, adminKey,
		map[string]any{"disabled": true, "disabled_reason": "maintenance window"})
	parked := publish(acme, customers, 3)
	parked2 := publish(globex, invoices, 2)
	require.EqualValues(t, 3, read(acme, off)["parked_count"])
	require.EqualValues(t, 2, read(globex, off2)["parked_count"])

	b := newBrowser(t)
	t.Logf("screenshots: %s", b.shots)
	badRow := `#main a.row[data-endpoint="` + bad + `"]`
	offRow := `#main a.row[data-endpoint="` + off + `"]`

	// A view-only link: the state and the count, no button.
	view := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+acme+"/portal-links", adminKey,
		map[string]any{"read_only": true})["url"].(string)
	b.do(t, chromedp.Navigate(view))
	b.wait(t, "the two rows", `document.querySelectorAll("#main a.row[data-endpoint]").length === 2`)
	b.waitText(t, badRow, "Failing")
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+off))
	b.waitText(t, "#parked-count", "3 messages are waiting for this endpoint")
	require.Contains(t, b.text(t, "#disabled-banner"), "moving servers")
	require.Zero(t, eval[int](t, b, `document.querySelectorAll("#disabled-banner button, #toggle-endpoint").length`),
		"a view-only session sees no button")
	b.shot(t, "health-01-view-only-disabled")

	// The customer's own link. The list: health at a glance.
	b.do(t, chromedp.Navigate(s.mintLink(t, acme)))
	b.wait(t, "the two rows", `document.querySelectorAll("#main a.row[data-endpoint]").length === 2`)
	b.waitText(t, badRow, "Failing")
	require.Contains(t, b.text(t, badRow), "since")
	require.Equal(t, "failing", eval[string](t, b, `document.querySelector('`+badRow+` [data-health]').dataset.health`))
	b.waitText(t, offRow, "Disabled")
	require.Contains(t, b.text(t, offRow), "moving servers")
	require.Contains(t, b.text(t, offRow), "3 messages waiting")
	require.Contains(t, b.text(t, badRow), "sending paused (circuit open)")
	b.wait(t, "the numbers", `document.querySelector(`+"`"+badRow+"`"+`).textContent.includes("500 Internal Server Error")`)
	b.shot(t, "health-02-endpoints")

	// The failing endpoint's page: a warning with what its server answered.
	b.do(t, click(badRow))
	b.waitText(t, "#health-banner", "This endpoint is failing")
	require.Equal(t, lastError, b.text(t, "#last-error"))
	require.Contains(t, b.text(t, "#endpoint-health"), "Failing")
	// The five went concurrently: the last attempt is whichever the log
	// has newest.
	latest := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+acme+"/endpoints/"+bad+"/attempts?limit=1", adminKey, nil)
	lastMsg := latest["data"].([]any)[0].(map[string]any)["message_id"].(string)
	require.NotEmpty(t, failed)
	b.wait(t, "the link to the last attempt", `document.querySelector('#health-banner a[href="#/messages/`+lastMsg+`"]')`)
	require.Contains(t, b.text(t, "#circuit-state"), "Circuit open")
	require.Contains(t, b.text(t, "#circuit-state"), circuitReason)
	b.shot(t, "health-03-failing-endpoint")

	// The disabled endpoint's page: the count first, then the choice.
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+off))
	b.waitText(t, "#parked-count", "3 messages are waiting for this endpoint")
	require.Equal(t, "Enable and send 3 waiting messages", b.text(t, "#enable-send-parked"))
	require.Equal(t, "Enable only", b.text(t, "#enable-only"))
	b.shot(t, "health-04-disabled-endpoint")
	// The header's Enable asks too; cancelled, nothing changes.
	b.do(t, click("#toggle-endpoint"))
	b.waitText(t, "dialog", "3 messages are waiting for this endpoint")
	require.Equal(t, "Enable only", b.text(t, `dialog button[value="alt"]`))
	b.shot(t, "health-05-enable-choice")
	b.do(t, click(`dialog button[value="cancel"]`))
	b.wait(t, "the dialog gone", `!document.querySelector("dialog")`)
	require.Equal(t, true, read(acme, off)["disabled"])

	// The delivery log shows them parked.
	b.do(t, chromedp.Navigate(s.url+"/portal/#/messages?endpoint_id="+off+"&status=parked"))
	b.wait(t, "three parked messages", `document.querySelectorAll("#log-rows a[data-message]").length === 3 &&
		!document.querySelector("#log-rows").textContent.includes("…")`)
	require.Contains(t, b.text(t, "#log-rows"), "parked")
	b.do(t, click(`#log-rows a[data-message]`))
	b.waitText(t, "main table", "when the endpoint is enabled")
	b.shot(t, "health-06-parked-message")

	// The console: health, circuit, last answer and the waiting counts.
	b.do(t, chromedp.Navigate(s.url+"/console"))
	b.wait(t, "the login form", `document.querySelector("#admin-key")`)
	b.do(t, setValue("#admin-key", adminKey), click("#login"))
	b.wait(t, "the failing endpoints", `document.querySelectorAll("#failing-rows tr[data-endpoint]").length === 3`)
	row := func(ep string) string { return `#failing-rows tr[data-endpoint="` + ep + `"]` }
	require.Equal(t, "failing", eval[string](t, b, `document.querySelector('`+row(bad)+`').dataset.health`))
	require.Contains(t, b.text(t, row(bad)), "Failing")
	require.Contains(t, b.text(t, row(bad)), "since")
	require.Contains(t, b.text(t, row(bad)), lastError)
	require.Contains(t, b.text(t, row(bad)), "Circuit open since")
	require.Contains(t, b.text(t, row(bad)), circuitReason)
	require.Contains(t, b.text(t, row(off)), "Disabled")
	require.Contains(t, b.text(t, row(off)), "moving servers")
	waiting := func(ep string) string {
		return eval[string](t, b, `document.querySelector('`+row(ep)+` td[data-label="Waiting"]').textContent`)
	}
	require.Equal(t, "3", waiting(off))
	require.Equal(t, "2", waiting(off2))
	require.Equal(t, "0", waiting(bad))
	require.Equal(t, "Enable and send 2", b.text(t, row(off2)+" button[data-enable-send]"))
	b.shot(t, "health-07-console-failing")

	// Enable and send 2, from the console: the count first.
	b.do(t, click(row(off2)+" button[data-enable-send]"))
	b.waitText(t, "dialog", "2 messages were kept for "+crm.url)
	b.shot(t, "health-08-console-enable-send")
	b.do(t, click(`dialog button[value="ok"]`))
	b.waitText(t, "#toasts", "Enabled. Sending 2 messages.")
	requireSent(t, crm, parked2)
	b.wait(t, "the endpoint gone from the list", `document.querySelectorAll("#failing-rows tr[data-endpoint]").length === 2`)
	require.EqualValues(t, 0, read(globex, off2)["parked_count"])
	require.Equal(t, false, read(globex, off2)["disabled"])

	// Enable only: the waiting message stays, until sent from the page.
	payouts := s.newEventType(t, "payout.sent", "A payout was sent.", `{"payout": "po_1"}`)
	later := newHookReceiver(t)
	off3 := endpoint(acme, later.url, "Payouts", payouts)
	later.set(secret(acme, off3), http.StatusOK, "ok")
	s.must(t, http.StatusOK, http.MethodPatch, "/api/v1/tenants/"+acme+"/endpoints/"+off3, adminKey, map[string]any{"disabled": true})
	parked3 := publish(acme, payouts, 1)
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+off3))
	b.waitText(t, "#parked-count", "1 message is waiting for this endpoint")
	b.do(t, click("#enable-only"))
	b.waitText(t, "#endpoint-health", "Healthy")
	b.waitText(t, "#waiting-banner", "1 message is waiting for this endpoint")
	require.Equal(t, "Send 1 waiting message", b.text(t, "#send-parked"))
	require.Equal(t, false, read(acme, off3)["disabled"])
	require.EqualValues(t, 1, read(acme, off3)["parked_count"])
	b.shot(t, "health-09-enabled-still-waiting")
	require.Empty(t, later.requests(), "enabling only sends nothing that waited")
	b.do(t, click("#send-parked"))
	b.waitText(t, "dialog", "1 message is waiting for this endpoint")
	b.do(t, click(`dialog button[value="ok"]`))
	b.waitText(t, "#toasts", "Sending 1 message.")
	requireSent(t, later, parked3)
	b.wait(t, "the banner gone", `document.querySelector("#endpoint-health") && !document.querySelector("#waiting-banner")`)

	// Enable and send 3, from the portal.
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+off))
	b.waitText(t, "#enable-send-parked", "Enable and send 3 waiting messages")
	b.do(t, click("#enable-send-parked"))
	b.waitText(t, "dialog", "3 messages are waiting for this endpoint")
	b.do(t, click(`dialog button[value="ok"]`))
	b.waitText(t, "#toasts", "Endpoint enabled. Sending 3 messages.")
	requireSent(t, billing, parked)
	b.waitText(t, "#endpoint-health", "Healthy")
	require.Zero(t, eval[int](t, b, `document.querySelectorAll("#parked-count, #disabled-banner").length`), "nothing waits any more")
	require.EqualValues(t, 0, read(acme, off)["parked_count"])
	for _, m := range parked {
		waitDeliveryStatus(t, s, acme, m, "succeeded")
	}
	b.do(t, chromedp.Reload())
	b.wait(t, "the delivery", `document.querySelector("#recent-attempts .attempt-row:not(.rows-head)")`)
	b.shot(t, "health-10-enabled-and-sent")

	// On a phone, the failing endpoint's page still reads.
	b.do(t, chromedp.EmulateViewport(390, 844), chromedp.Navigate(s.url+"/portal/#/endpoints/"+bad))
	b.waitText(t, "#health-banner", "This endpoint is failing")
	b.shot(t, "health-11-phone-failing")
	require.False(t, eval[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth`), "no sideways scrolling at 390px")

	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(t, b.errors, "the pages threw no JavaScript errors")
}

// requireSent waits until rc got the messages ids, each once, signed.
func requireSent(t *testing.T, rc *hookReceiver, ids []string) {
	t.Helper()
	got := rc.waitFor(t, len(ids))
	var sent []string
	for _, r := range got {
		require.True(t, r.verified, "signed with the endpoint's secret")
		sent = append(sent, r.header.Get("webhook-id"))
	}
	require.ElementsMatch(t, ids, sent, "each goes with its original webhook-id: %s", fmt.Sprint(sent))
}
