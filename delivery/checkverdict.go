package delivery

import (
	"fmt"
	"net/http"
	"time"

	"github.com/hookd/hookd/store"
)

// The verdicts of a receiver self-check (check.go): each judge returns a
// row's Verdict, Got (what came back, in words) and Fix (what to change,
// for anything but a pass). They read only the Result, so they are pure.

// statusIn tells whether res got an answer with a status in [lo, hi].
func statusIn(res Result, lo, hi int) bool { return res.StatusCode >= lo && res.StatusCode <= hi }

// answerTime is "35 ms" or "2.50 s", cut rather than rounded so that an
// answer under FastAnswer never reads as 2.00 s.
func answerTime(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2f s", d.Truncate(10*time.Millisecond).Seconds())
}

// gotText says what came back.
func gotText(res Result, timeout time.Duration) string {
	switch {
	case res.StatusCode != 0 && res.ErrorClass == ClassTimeout:
		return res.Error // a status, then a body that did not finish
	case res.StatusCode != 0:
		return fmt.Sprintf("answered %d %s in %s", res.StatusCode, http.StatusText(res.StatusCode), answerTime(res.Duration))
	case res.ErrorClass == ClassTimeout:
		return fmt.Sprintf("no answer within %s (the delivery timeout)", timeout)
	case res.ErrorClass == ClassBlocked:
		return "not sent: " + res.Error
	default:
		return fmt.Sprintf("no answer (%s): %s", res.ErrorClass, res.Error)
	}
}

// unreachableFix says what to change when a request got no usable answer.
func unreachableFix(res Result, timeout time.Duration) string {
	switch res.ErrorClass {
	case ClassBlocked:
		return "The URL leads to a private address, which hookd does not send to: use a URL that reaches your server from the internet."
	case ClassDNS:
		return "The host name of the URL does not resolve: check the endpoint's URL and its DNS records."
	case ClassTLS:
		return "The TLS handshake failed: serve a certificate that is valid for this host name, from a public CA, with its intermediate certificates."
	case ClassTimeout:
		return fmt.Sprintf("Your server did not answer within %s: answer as soon as the request is verified, "+
			"and do the work afterwards (put the event in a queue).", timeout)
	case ClassRedirect:
		return "Your server answered with a redirect, which hookd does not follow: set the endpoint's URL to the address it redirects to."
	default:
		return "Nothing accepted the connection: check that your server is running and reachable from the internet at this URL (host, port, firewall)."
	}
}

// judgeValid: a correctly signed request must get a 2xx.
func judgeValid(res Result, timeout time.Duration) store.CheckResult {
	got := gotText(res, timeout)
	switch {
	case res.Success():
		return store.CheckResult{Verdict: store.VerdictPass, Got: got}
	case statusIn(res, 400, 499):
		fix := "Your server refused a correctly signed request. Verify the signature over the raw body exactly as it arrived " +
			"(not re-serialised JSON), with this endpoint's current signing secret, and check that your server's clock is right."
		if res.StatusCode == http.StatusGone {
			fix += " Note: 410 Gone to a real delivery disables the endpoint."
		}
		return store.CheckResult{Verdict: store.VerdictFail, Got: got, Fix: fix}
	case statusIn(res, 500, 599):
		return store.CheckResult{Verdict: store.VerdictFail, Got: got, Fix: "Your server failed on a correctly signed request: " +
			"look in its logs for the error. Until it answers 2xx, every delivery is retried and finally fails."}
	default:
		return store.CheckResult{Verdict: store.VerdictFail, Got: got, Fix: unreachableFix(res, timeout)}
	}
}

// judgeFast: the valid request's answer must come within FastAnswer; a
// slower one is a warning, none within the timeout a failure.
func judgeFast(res Result, timeout time.Duration) store.CheckResult {
	switch {
	case res.ErrorClass == ClassTimeout:
		return store.CheckResult{Verdict: store.VerdictFail,
			Got: fmt.Sprintf("no complete answer within %s (the delivery timeout)", timeout), Fix: unreachableFix(res, timeout)}
	case res.StatusCode == 0:
		return store.CheckResult{Verdict: store.VerdictFail, Got: gotText(res, timeout),
			Fix: "There was no answer to time: see the valid check."}
	case res.Duration <= FastAnswer:
		return store.CheckResult{Verdict: store.VerdictPass, Got: "answered in " + answerTime(res.Duration)}
	default:
		return store.CheckResult{Verdict: store.VerdictWarn, Got: "answered in " + answerTime(res.Duration),
			Fix: fmt.Sprintf("Answer within 2 s: verify the request, store or queue the event, answer 2xx, and only then do the work. "+
				"Slow answers hold connections open, and an answer slower than %s fails the delivery, which is then sent again.", timeout)}
	}
}

// acceptedFixes say what to change when a receiver accepts a request it
// should have refused.
var acceptedFixes = map[string]string{
	CheckBadSignature: "Your server accepted a request whose signature was made with a key that is not this endpoint's: " +
		"anyone who knows the URL can send it events. Verify webhook-signature with the endpoint's signing secret " +
		"before doing anything with a request, and answer 400 or 401 when it does not match.",
	CheckTamperedBody: "Your server accepted a body that does not match its signature. Verify the signature over the raw " +
		"bytes received, before parsing them, and answer 400 or 401 when it does not match.",
	CheckStaleTimestamp: "Your server accepted a webhook-timestamp 10 minutes old, so a request captured once can be replayed " +
		"later. Refuse timestamps more than 5 minutes from your clock (the Standard Webhooks libraries do when they verify), " +
		"and keep the clock in sync (NTP).",
	CheckFutureTimestamp: "Your server accepted a webhook-timestamp 10 minutes ahead. Refuse timestamps more than 5 minutes " +
		"from your clock (the Standard Webhooks libraries do when they verify), and keep the clock in sync (NTP).",
}

// judgeRefusal: a forged, tampered, stale or future request must get a
// 4xx. Refusing it means nothing while the valid request is refused too.
func judgeRefusal(name string, res Result, validPassed bool, timeout time.Duration) store.CheckResult {
	got := gotText(res, timeout)
	switch {
	case statusIn(res, 400, 499) && validPassed:
		return store.CheckResult{Verdict: store.VerdictPass, Got: got}
	case statusIn(res, 400, 499):
		return store.CheckResult{Verdict: store.VerdictWarn, Got: got,
			Fix: "Refusing this shows nothing while your server does not accept the valid request either: fix the valid check first."}
	case statusIn(res, 200, 299):
		return store.CheckResult{Verdict: store.VerdictFail, Got: got, Fix: acceptedFixes[name]}
	case statusIn(res, 500, 599):
		return store.CheckResult{Verdict: store.VerdictWarn, Got: got, Fix: "Your server refused it, but with a 5xx, " +
			"which says the failure is on its side and makes a sender try again: answer 400 or 401 when a signature does not verify."}
	case res.StatusCode != 0: // 1xx or 3xx
		return store.CheckResult{Verdict: store.VerdictFail, Got: got,
			Fix: "Answer 400 or 401 when a signature does not verify, not a redirect."}
	case !validPassed:
		return store.CheckResult{Verdict: store.VerdictFail, Got: got, Fix: "Your server did not answer this either: see the valid check."}
	default:
		return store.CheckResult{Verdict: store.VerdictFail, Got: got,
			Fix: "Answer 400 or 401 at once when a signature does not verify: a request that gets no answer is sent again."}
	}
}

// judgeAcceptance: a duplicate, and a request signed with a rotated key
// next to the current one, must get a 2xx.
func judgeAcceptance(name string, res Result, validPassed bool, timeout time.Duration) store.CheckResult {
	got := gotText(res, timeout)
	switch {
	case res.Success() && name == CheckDuplicate:
		return store.CheckResult{Verdict: store.VerdictPass,
			Got: got + "; whether your server acted on it twice cannot be seen from here"}
	case res.Success():
		return store.CheckResult{Verdict: store.VerdictPass, Got: got}
	case !validPassed:
		return store.CheckResult{Verdict: store.VerdictWarn, Got: got,
			Fix: "Your server did not accept the valid request either: fix the valid check first."}
	case statusIn(res, 400, 499) && name == CheckDuplicate:
		return store.CheckResult{Verdict: store.VerdictFail, Got: got, Fix: "Your server refused a webhook-id it had seen " +
			"before. Answer 2xx to a repeat without acting on it again: retries and replays repeat webhook-ids, " +
			"and anything but 2xx makes hookd send it again."}
	case statusIn(res, 400, 499):
		return store.CheckResult{Verdict: store.VerdictFail, Got: got, Fix: "Your server refused a request that carries a " +
			"valid signature next to one it cannot verify. While a secret is rotated, each request carries a signature of every " +
			"active key, separated by spaces: accept it when any one of them verifies (the Standard Webhooks libraries do)."}
	case statusIn(res, 500, 599):
		return store.CheckResult{Verdict: store.VerdictFail, Got: got,
			Fix: "Your server failed on a correctly signed request: look in its logs for the error."}
	default:
		return store.CheckResult{Verdict: store.VerdictFail, Got: got, Fix: unreachableFix(res, timeout)}
	}
}
