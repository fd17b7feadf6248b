package delivery

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
)

func TestNextAttempt(t *testing.T) {
	t.Parallel()

	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	sched := Schedule{5 * time.Second, 5 * time.Minute, 30 * time.Minute}
	noJitter := func() float64 { return 0.5 } // the step exactly
	answer := func(code int, kv ...string) Result {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return Result{StatusCode: code, ResponseHeaders: h, RetryAfter: h.Get("Retry-After"), ErrorClass: classifyStatus(code)}
	}
	failure := func(class string) Result { return Result{ErrorClass: class, Error: class} }
	const (
		pending   = store.DeliveryPending
		failed    = store.DeliveryFailed
		succeeded = store.DeliverySucceeded
	)

	tests := []struct {
		name    string
		res     Result
		n       int // this attempt's number
		trigger string
		rnd     func() float64
		status  string
		wait    time.Duration
		disable string
	}{
		// Only 2xx is success.
		{name: "200", res: answer(200), n: 1, status: succeeded},
		{name: "204", res: answer(204), n: 1, status: succeeded},
		{name: "299", res: answer(299), n: 1, status: succeeded},
		{name: "101 is not success", res: answer(101), n: 1, status: pending, wait: 5 * time.Second},
		{name: "302 is a failure, retried", res: answer(302, "Location", "https://elsewhere.example/"), n: 1, status: pending, wait: 5 * time.Second},
		{name: "304 is a failure, retried", res: answer(304), n: 2, status: pending, wait: 5 * time.Minute},
		{name: "404", res: answer(404), n: 1, status: pending, wait: 5 * time.Second},
		{name: "500 first", res: answer(500), n: 1, status: pending, wait: 5 * time.Second},
		{name: "500 third", res: answer(500), n: 3, status: pending, wait: 30 * time.Minute},
		{name: "500 after the last step", res: answer(500), n: 4, status: failed},
		{name: "600", res: answer(600), n: 1, status: pending, wait: 5 * time.Second},
		{name: "jitter moves the step", res: answer(500), n: 1, rnd: func() float64 { return 0 }, status: pending, wait: 4 * time.Second},
		{name: "connect error", res: failure(ClassConnect), n: 1, status: pending, wait: 5 * time.Second},
		{name: "dns error", res: failure(ClassDNS), n: 2, status: pending, wait: 5 * time.Minute},
		{name: "tls error", res: failure(ClassTLS), n: 1, status: pending, wait: 5 * time.Second},

		// Receiver-controlled delivery.
		{name: "410 disables", res: answer(410), n: 1, status: failed, disable: ReasonGone},
		{name: "410 on a manual re-send disables", res: answer(410), n: 5, trigger: store.TriggerManual, status: failed, disable: ReasonGone},
		{name: "disable header on a failure", res: answer(500, "Webhook-Delivery", "disable"), n: 1, status: failed, disable: ReasonReceiverDisable},
		{name: "disable header on a success", res: answer(200, "webhook-delivery", "Disable"), n: 1, status: succeeded, disable: ReasonReceiverDisable},
		{name: "disable header on 429", res: answer(429, "webhook-delivery", " disable "), n: 1, status: failed, disable: ReasonReceiverDisable},
		{name: "abort-message", res: answer(500, "webhook-delivery", "abort-message"), n: 1, status: failed},
		{name: "abort-message among others", res: answer(503, "webhook-delivery", "something, ABORT-MESSAGE"), n: 1, status: failed},
		{name: "abort-message on a success", res: answer(202, "webhook-delivery", "abort-message"), n: 1, status: succeeded},
		{name: "unknown directive is ignored", res: answer(500, "webhook-delivery", "pause"), n: 1, status: pending, wait: 5 * time.Second},

		// Not retried.
		{name: "blocked", res: failure(ClassBlocked), n: 1, status: failed},
		{name: "manual re-send fails once", res: answer(500), n: 1, trigger: store.TriggerManual, status: failed},

		// Throttling: 429, 502, 503 and 504 honour Retry-After within [step, 2*step].
		{name: "503 Retry-After within", res: answer(503, "Retry-After", "420"), n: 2, status: pending, wait: 7 * time.Minute},
		{name: "503 Retry-After above twice the step", res: answer(503, "Retry-After", "3600"), n: 2, status: pending, wait: 10 * time.Minute},
		{name: "503 Retry-After below the step", res: answer(503, "Retry-After", "1"), n: 2, status: pending, wait: 5 * time.Minute},
		{name: "502 Retry-After", res: answer(502, "Retry-After", "400"), n: 2, status: pending, wait: 400 * time.Second},
		{name: "504 Retry-After", res: answer(504, "Retry-After", "599"), n: 2, status: pending, wait: 599 * time.Second},
		{name: "502 Retry-After as an HTTP date", res: answer(502, "Retry-After", now.Add(8*time.Minute).Format(http.TimeFormat)), n: 2, status: pending, wait: 8 * time.Minute},
		{name: "503 Retry-After date in the past", res: answer(503, "Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)), n: 2, status: pending, wait: 5 * time.Minute},
		{name: "503 Retry-After unreadable", res: answer(503, "Retry-After", "soon"), n: 2, status: pending, wait: 5 * time.Minute},
		{name: "500 Retry-After is not honoured", res: answer(500, "Retry-After", "420"), n: 2, status: pending, wait: 5 * time.Minute},
		{name: "503 after the last step", res: answer(503, "Retry-After", "60"), n: 4, status: failed},

		// A timeout or a 429 waits at least a minute.
		{name: "429 without Retry-After", res: answer(429), n: 1, status: pending, wait: MinThrottleWait},
		{name: "429 Retry-After clamped then raised to a minute", res: answer(429, "Retry-After", "7"), n: 1, status: pending, wait: MinThrottleWait},
		{name: "429 on a longer step", res: answer(429, "Retry-After", "420"), n: 2, status: pending, wait: 7 * time.Minute},
		{name: "429 after the last step", res: answer(429), n: 4, status: failed},
		{name: "timeout", res: failure(ClassTimeout), n: 1, status: pending, wait: MinThrottleWait},
		{name: "timeout on a longer step", res: failure(ClassTimeout), n: 3, status: pending, wait: 30 * time.Minute},
		{name: "503 has no minimum", res: answer(503), n: 1, status: pending, wait: 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			trigger := tt.trigger
			if trigger == "" {
				trigger = store.TriggerScheduled
			}
			rnd := tt.rnd
			if rnd == nil {
				rnd = noJitter
			}
			got := nextAttempt(tt.res, tt.n, trigger, sched, now, rnd)
			require.Equal(t, tt.status, got.status)
			wantAttempt := store.AttemptFailed
			if tt.status == succeeded {
				wantAttempt = store.AttemptSucceeded
			}
			require.Equal(t, wantAttempt, got.attempt)
			require.Equal(t, tt.wait, got.wait)
			require.Equal(t, tt.disable, got.disable)
		})
	}
}

// An empty schedule never retries, but still honours what the receiver asks.
func TestNextAttemptNoRetries(t *testing.T) {
	t.Parallel()
	got := nextAttempt(Result{StatusCode: 503, ErrorClass: ClassStatus, RetryAfter: "5"}, 1, store.TriggerScheduled, Schedule{}, time.Now(), nil)
	require.Equal(t, store.DeliveryFailed, got.status)
	require.Zero(t, got.wait)
}
