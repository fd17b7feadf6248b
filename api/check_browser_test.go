package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestPortalSelfCheckInBrowser runs the receiver self-check from the
// endpoint page against four receivers on loopback: a correct one (the
// Standard Webhooks library) passes every row, one that accepts everything
// fails the signature and timestamp rows, a slow one (2.5 s) is warned on
// fast, and one slower than the delivery timeout fails fast.
func TestPortalSelfCheckInBrowser(t *testing.T) {
	t.Parallel()
	const timeout = 4 * time.Second
	s := newPortalStack(t, &portalStackOpts{SendTimeout: timeout})
	tenant := s.newTenant(t, "Globex Corporation")
	et := s.newEventType(t, "invoice.paid", "An invoice was paid.", `{"invoice_id": "in_1NqT3x", "amount_paid": 4200}`)

	endpoint := func(rc *checkReceiver, description string) string {
		id := s.must(t, http.StatusCreated, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints", adminKey,
			map[string]any{"url": rc.url, "description": description, "event_types": []string{et}})["id"].(string)
		rc.setSecret(s.must(t, http.StatusOK, http.MethodGet, "/api/v1/tenants/"+tenant+"/endpoints/"+id+"/secret", adminKey, nil)["secret"].(string))
		return id
	}
	correct, lax := newCheckReceiver(t, true, 0), newCheckReceiver(t, false, 0)
	slow, hung := newCheckReceiver(t, true, 2500*time.Millisecond), newCheckReceiver(t, true, timeout+3*time.Second)
	correctID, laxID := endpoint(correct, "Billing (verifies)"), endpoint(lax, "Legacy hook (accepts everything)")
	slowID, hungID := endpoint(slow, "Reports (slow)"), endpoint(hung, "Archive (too slow)")

	// The check of the too-slow receiver takes three timeouts: start it now,
	// through the API; its endpoint page shows it later.
	s.must(t, http.StatusAccepted, http.MethodPost, "/api/v1/tenants/"+tenant+"/endpoints/"+hungID+"/check", adminKey, nil)

	b := newBrowser(t)
	b.do(t, chromedp.Navigate(s.mintLink(t, tenant)))
	b.waitText(t, "main", "Reports (slow)")

	// A correct receiver: every row passes.
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+correctID))
	b.waitText(t, "#check-report", "This endpoint has not been checked yet.")
	b.do(t, click("#run-check"))
	waitReport(t, b, "finished")
	require.Equal(t, "All 8 checks pass.", b.text(t, ".check-summary strong"))
	requireRows(t, b, map[string]string{"valid": "pass", "fast": "pass", "bad_signature": "pass", "tampered_body": "pass",
		"stale_timestamp": "pass", "future_timestamp": "pass", "duplicate": "pass", "rotated_key": "pass"})
	require.Zero(t, eval[int](t, b, `document.querySelectorAll(".check-fix").length`), "nothing to fix")
	require.Contains(t, b.text(t, `[data-check="duplicate"]`), "cannot be seen from here")
	require.Equal(t, sentChecks, correct.checks(), "seven labelled requests")
	b.do(t, click(`[data-check="bad_signature"] details summary`))
	b.waitText(t, `[data-check="bad_signature"] details`, "Webhook-Checkbad_signature")
	require.Contains(t, b.text(t, `[data-check="bad_signature"] details`), "400 Bad Request")
	require.Contains(t, b.text(t, `[data-check="bad_signature"] details`), "invalid signature", "the receiver's answer")
	eval[bool](t, b, `window.scrollTo(0, 0), true`) // the sticky header would sit mid-page in the shot
	b.shot(t, "15-check-pass")
	// One check a minute: the next one is refused, and the report stays.
	b.do(t, click("#run-check"))
	b.waitText(t, "#check-error", "less than a minute ago")
	require.Equal(t, "All 8 checks pass.", b.text(t, ".check-summary strong"))
	require.Len(t, correct.checks(), 7, "nothing more was sent")

	// A receiver that accepts everything fails the signature and timestamp
	// rows; each says what to change and links to its language's code.
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+laxID))
	b.waitText(t, "#check-report", "not been checked yet")
	b.do(t, click("#run-check"))
	waitReport(t, b, "finished")
	require.Equal(t, "4 of 8 checks fail.", b.text(t, ".check-summary strong"))
	requireRows(t, b, map[string]string{"valid": "pass", "fast": "pass", "bad_signature": "fail", "tampered_body": "fail",
		"stale_timestamp": "fail", "future_timestamp": "fail", "duplicate": "pass", "rotated_key": "pass"})
	require.Contains(t, b.text(t, `[data-check="bad_signature"] .check-fix`), "anyone who knows the URL")
	require.Contains(t, b.text(t, `[data-check="stale_timestamp"] .check-fix`), "replayed")
	require.Equal(t, "How to verify, in Node.js →", b.text(t, `[data-check="tampered_body"] .check-fix a`),
		"the receiver said X-Powered-By: Express")
	b.shot(t, "16-check-accepts-everything")
	pickLang := func(lang string) {
		eval[bool](t, b, fmt.Sprintf(`(s => { s.value = %q; s.dispatchEvent(new Event("change")); return true })(document.querySelector("#check-lang"))`, lang))
	}
	pickLang("python")
	b.waitText(t, `[data-check="tampered_body"] .check-fix a`, "in Python")
	pickLang("go")
	b.waitText(t, `[data-check="tampered_body"] .check-fix a`, "in Go")
	b.do(t, click(`[data-check="bad_signature"] .check-fix a`))
	b.wait(t, "the Go code", `document.querySelector('.tab[aria-selected="true"]')?.dataset.lang === "go"`)
	b.waitText(t, "#verify-code", "wh.Verify(body, r.Header)")
	require.Equal(t, laxID, eval[string](t, b, `document.querySelector("#verify-endpoint").value`), "for this endpoint")

	// A slow receiver is warned about on fast, and passes the rest.
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+slowID))
	b.waitText(t, "#check-report", "not been checked yet")
	b.do(t, click("#run-check"))
	b.waitText(t, "#check-report", "Checking…")
	waitReport(t, b, "finished")
	requireRows(t, b, map[string]string{"valid": "pass", "fast": "warn", "bad_signature": "pass", "tampered_body": "pass",
		"stale_timestamp": "pass", "future_timestamp": "pass", "duplicate": "pass", "rotated_key": "pass"})
	require.Equal(t, "1 of 8 checks warns.", b.text(t, ".check-summary strong"))
	require.Regexp(t, `answered in 2\.\d+ s`, b.text(t, `[data-check="fast"]`))
	require.Contains(t, b.text(t, `[data-check="fast"] .check-fix`), "Answer within 2 s")
	b.shot(t, "17-check-slow")

	// One slower than the timeout fails fast. Its check was started before:
	// the page shows it, kept.
	b.do(t, chromedp.Navigate(s.url+"/portal/#/endpoints/"+hungID))
	waitReport(t, b, "finished")
	v := rowVerdicts(t, b)
	require.Equal(t, "fail", v["fast"], "no answer within the timeout")
	require.Equal(t, "fail", v["valid"])
	require.Equal(t, "2 of 8 checks fail, 6 warn.", b.text(t, ".check-summary strong"))
	require.Zero(t, eval[int](t, b, `document.querySelectorAll(".check-fix a").length`),
		"no link to the code: the fixes are about time, or follow from the valid row")
	require.Contains(t, b.text(t, `[data-check="fast"]`), fmt.Sprintf("no complete answer within %s", timeout))
	b.shot(t, "18-check-timeout")

	// On a phone.
	b.do(t, chromedp.EmulateViewport(390, 844), chromedp.Navigate(s.url+"/portal/#/endpoints/"+laxID))
	waitReport(t, b, "finished")
	require.False(t, eval[bool](t, b, `document.documentElement.scrollWidth > window.innerWidth`), "no sideways scrolling at 390px")
	b.shot(t, "19-phone-check")

	b.mu.Lock()
	defer b.mu.Unlock()
	require.Empty(t, b.errors, "the pages threw no JavaScript errors")
}

// waitReport waits until the report shows a check in status; a check
// takes up to three delivery timeouts, longer than b.wait waits.
func waitReport(t *testing.T, b *browser, status string) {
	t.Helper()
	expr := fmt.Sprintf(`!!document.querySelector('#check-report [data-status=%q]')`, status)
	deadline := time.Now().Add(45 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.shot(t, "failure")
			t.Fatalf("browser: the report never showed a check %s; the page says: %s; %s", status, b.text(t, "main"), b.trouble())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rowVerdicts reads each row's verdict from the report card.
func rowVerdicts(t *testing.T, b *browser) map[string]string {
	t.Helper()
	return eval[map[string]string](t, b, `Object.fromEntries([...document.querySelectorAll(".check-row")].map(r => [r.dataset.check, r.dataset.verdict]))`)
}

func requireRows(t *testing.T, b *browser, want map[string]string) {
	t.Helper()
	require.Equal(t, want, rowVerdicts(t, b))
	for name, v := range want {
		label := map[string]string{"pass": "Pass", "warn": "Warn", "fail": "Fail"}[v]
		require.Equal(t, label, b.text(t, fmt.Sprintf(`[data-check=%q] .check-verdict`, name)), name)
	}
}
