package delivery

import (
	"net/http"
	"strings"
	"time"

	"github.com/hookd/hookd/store"
)

// MinThrottleWait is the shortest wait after an attempt that timed out or
// was answered 429 Too Many Requests: an endpoint that is overwhelmed gets
// at least this long to recover, whatever the schedule says.
const MinThrottleWait = 60 * time.Second

// DeliveryHeader is the response header by which a receiver steers
// delivery: "disable" disables the endpoint, "abort-message" stops retrying
// the message just attempted.
const DeliveryHeader = "webhook-delivery"

// Reasons recorded on an endpoint that hookd disabled.
const (
	ReasonGone            = "the endpoint answered 410 Gone"
	ReasonReceiverDisable = "the receiver asked to disable it (webhook-delivery: disable)"
)

// decision is what one attempt's result does to its delivery.
type decision struct {
	attempt string        // the attempt's status: store.AttemptSucceeded or store.AttemptFailed
	status  string        // the delivery's new status
	wait    time.Duration // when status is pending: the wait before the next attempt
	disable string        // when set, disable the endpoint with this reason
}

// nextAttempt decides, from the result of a delivery's attempt number n
// (1-based, counting this one), what happens next. It is pure: the clock
// and the randomness of the schedule's jitter are passed in (rnd nil means
// math/rand/v2).
//
//   - 2xx is success; anything else, a timeout or a network error fails.
//   - "webhook-delivery: disable" in the answer disables the endpoint,
//     whatever the status (a 2xx still counts as delivered); 410 Gone does
//     the same. Neither is retried.
//   - "webhook-delivery: abort-message", a blocked address, a missing
//     payload of the pinned version (ClassVersion) and a manual re-send are
//     not retried.
//   - Other failures are retried after the schedule's step n. A Retry-After
//     on 429, 502, 503 or 504 moves the retry later, to at most twice the
//     step; a timeout or a 429 waits at least [MinThrottleWait].
//   - After the schedule's last step the delivery has failed.
func nextAttempt(res Result, n int, trigger string, sched Schedule, now time.Time, rnd func() float64) decision {
	disable, abort := receiverAsks(res.ResponseHeaders)
	var d decision
	if disable {
		d.disable = ReasonReceiverDisable
	}
	switch {
	case res.Success():
		d.attempt, d.status = store.AttemptSucceeded, store.DeliverySucceeded
		return d
	case res.ErrorClass == ClassGone:
		d.disable = ReasonGone
		fallthrough
	case disable, abort, res.ErrorClass == ClassBlocked, res.ErrorClass == ClassVersion, trigger == store.TriggerManual:
		// A blocked address will not unblock itself; a manual re-send is
		// one try, and the delivery stays re-sendable.
		d.attempt, d.status = store.AttemptFailed, store.DeliveryFailed
		return d
	}
	d.attempt = store.AttemptFailed
	wait, ok := sched.Delay(n, rnd)
	if !ok {
		d.status = store.DeliveryFailed
		return d
	}
	if throttled(res.StatusCode) {
		if ra, ok := ParseRetryAfter(res.RetryAfter, now); ok {
			wait = ClampRetryAfter(wait, ra)
		}
	}
	if res.ErrorClass == ClassTimeout || res.StatusCode == http.StatusTooManyRequests {
		wait = max(wait, MinThrottleWait)
	}
	d.status, d.wait = store.DeliveryPending, wait
	return d
}

// throttled reports whether a status asks the sender to slow down, so its
// Retry-After is honoured.
func throttled(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// receiverAsks reads the webhook-delivery response header: its values are
// comma-separated and case-insensitive.
func receiverAsks(h http.Header) (disable, abort bool) {
	for _, v := range h.Values(DeliveryHeader) {
		for _, part := range strings.Split(v, ",") {
			switch strings.ToLower(strings.TrimSpace(part)) {
			case "disable":
				disable = true
			case "abort-message":
				abort = true
			}
		}
	}
	return disable, abort
}
