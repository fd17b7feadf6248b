package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/web"
)

// TestPortalBackfillInBrowser: a customer adds an endpoint after messages
// were published, counts the past messages on its page, confirms, and
// they arrive, signed, as backfill attempts; counting again finds none.
func TestPortalBackfillInBrowser(t *testing.T) {
	t.Parallel()
	s := newPortalStack(t, &portalStackOpts{Branding: web.Config{ProductName: "Acme Webhooks"}})
	rc := newHookReceiver(t)
	tenant := s.newTenant(t, "Globex Corporation")
	et := s.newEventType(t, "invoice.paid", "An invoice was paid.", `{"invoice_id": "in_1"}`)
	var ids []string
	for i := range 3 {
		ids = append(ids, s.must(t, http.StatusAccepted, http.MethodPost, "/api/v1/tenants/"+tenant+"/messages", adminKey,
			map[string]any{"event_type": et, "payload": map[string]any{"invoice_id": i}})["id"].(string))
	}
	ep := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints", adminKey,
		map[string]any{"url": rc.url, "description": "Billing service"})["id"].(string)
	secret := s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints/"+ep+"/secret", adminKey, nil)["secret"].(string)
	rc.set(secret, http.StatusOK, "ok")

	b := newBrowser(t)
	b.do(t, chromedp.Navigate(s.mintLink(t, tenant)))
	b.waitText(t, "#tenant-name", "Globex Corporation")
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+ep))
	b.wait(t, "the backfill form", `document.querySelector("#backfill-count")`)
	require.NotEmpty(t, eval[string](t, b, `document.querySelector("#backfill-since").value`), "a day ago, to start with")

	// Count first: nothing is sent.
	b.do(t, click("#backfill-count"))
	b.waitText(t, "#backfill-matched", "3 messages since then are not yet sent here.")
	b.shot(t, "15-backfill-count")
	require.Empty(t, rc.requests(), "a count sends nothing")

	// Confirm: they arrive, each with its own id, signed.
	b.do(t, click("#backfill-go"), click(`dialog button[value="ok"]`))
	b.waitText(t, "#backfill-result", "Sending 3 messages.")
	got := rc.waitFor(t, 3)
	var sent []string
	for _, r := range got {
		require.True(t, r.verified, "signed with the endpoint's secret")
		sent = append(sent, r.header.Get("webhook-id"))
	}
	require.ElementsMatch(t, ids, sent)
	b.shot(t, "16-backfill-sent")
	var attempts []any
	require.Eventually(t, func() bool {
		attempts = s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints/"+ep+"/attempts", adminKey, nil)["data"].([]any)
		return len(attempts) == 3
	}, 15*time.Second, 20*time.Millisecond, "the three attempts were never logged")
	for _, a := range attempts {
		require.Equal(t, "backfill", a.(map[string]any)["trigger"])
	}

	// Counting again: nothing left.
	b.do(t, click("#backfill-count"))
	b.waitText(t, "#backfill-result", "No past messages to send")

	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(t, b.errors, "the pages threw no JavaScript errors")
}
