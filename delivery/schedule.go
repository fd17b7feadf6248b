package delivery

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Schedule is the list of waits between attempts of one delivery: after the
// n-th failed attempt the next one comes Schedule[n-1] later (with jitter),
// and after len(Schedule) failures the delivery has failed for good.
type Schedule []time.Duration

// DefaultSchedule waits 5s, 5m, 30m, 2h, 5h, 10h and 10h: eight attempts
// over about 28 hours.
var DefaultSchedule = Schedule{
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// MaxScheduleSteps is the most entries a [Schedule] may have.
const MaxScheduleSteps = 50

// scheduleJitter is the fraction by which [Schedule.Delay] moves a step
// either way.
const scheduleJitter = 0.2

// ParseSchedule parses a comma-separated list of Go durations such as
// "5s, 5m, 30m, 2h". It needs 1 to 50 entries, each greater than zero.
func ParseSchedule(s string) (Schedule, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("retry schedule is empty: give comma-separated durations like 5s,5m,30m,2h")
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxScheduleSteps {
		return nil, fmt.Errorf("retry schedule has %d entries: at most %d are allowed", len(parts), MaxScheduleSteps)
	}
	sched := make(Schedule, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("retry schedule entry %d is empty", i+1)
		}
		d, err := time.ParseDuration(p)
		if err != nil {
			return nil, fmt.Errorf("retry schedule entry %d %q: not a duration like 30s, 5m or 2h", i+1, p)
		}
		if d <= 0 {
			return nil, fmt.Errorf("retry schedule entry %d %q: must be greater than zero", i+1, p)
		}
		sched = append(sched, d)
	}
	return sched, nil
}

// String formats s the way [ParseSchedule] reads it, e.g. "5s,5m,30m,2h".
func (s Schedule) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = shortDuration(d)
	}
	return strings.Join(parts, ",")
}

// shortDuration drops the zero units that time.Duration.String keeps:
// "5m" rather than "5m0s", "2h" rather than "2h0m0s".
func shortDuration(d time.Duration) string {
	out := d.String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}

// Delay returns how long to wait after the failedAttempts-th failed attempt
// (1-based; values below 1 count as 1): the matching step moved randomly by
// up to 20% either way. rnd returns a number in [0, 1); nil means
// math/rand/v2. The bool is false when the schedule is exhausted, that is
// when failedAttempts > len(s), and the delivery has failed for good.
func (s Schedule) Delay(failedAttempts int, rnd func() float64) (time.Duration, bool) {
	n := max(failedAttempts, 1)
	if n > len(s) {
		return 0, false
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	step := s[n-1]
	factor := 1 - scheduleJitter + 2*scheduleJitter*rnd()
	return time.Duration(float64(step) * factor), true
}

// maxRetryAfter bounds a parsed Retry-After so arithmetic on it cannot
// overflow; [ClampRetryAfter] cuts it much shorter anyway.
const maxRetryAfter = 365 * 24 * time.Hour

// ParseRetryAfter reads a Retry-After header value, either delay-seconds
// ("120") or an HTTP-date, into a wait from now. A date in the past gives
// zero. The bool is false when v is empty or neither form.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		secs, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return maxRetryAfter, true
			}
			return 0, false
		}
		if secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return 0, true
	case d > maxRetryAfter:
		return maxRetryAfter, true
	}
	return d, true
}

// ClampRetryAfter returns the wait before the next attempt when the endpoint
// asked for retryAfter: the request is honoured, but never sooner than the
// scheduled step nor later than twice it, so an endpoint can neither speed
// up retries nor stall them indefinitely. A retryAfter of zero or less
// gives the scheduled step.
func ClampRetryAfter(scheduled, retryAfter time.Duration) time.Duration {
	if retryAfter <= scheduled {
		return scheduled
	}
	ceiling := scheduled * 2
	if ceiling < scheduled { // overflow
		ceiling = math.MaxInt64
	}
	return min(retryAfter, ceiling)
}
