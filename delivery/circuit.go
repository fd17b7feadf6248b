package delivery

import (
	"cmp"
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/hookd/hookd/store"
)

// Isolation: one endpoint's trouble is its own. Each worker process keeps,
// per endpoint, the attempts it has in flight and a circuit breaker, in
// memory, so that none of this costs a write per attempt:
//
//   - At most MaxInFlight attempts of one endpoint run at once in a process
//     (the endpoint's own max_in_flight, or Config.MaxInFlight); a job over
//     the cap waits up to inFlightHold in its slot, in line: the attempt
//     that frees one of the endpoint's slots hands it to the job that has
//     waited longest (a fast endpoint frees one in milliseconds). A job
//     still waiting then is snoozed for a moment, which frees its worker
//     slot. A
//     black-hole endpoint can therefore hold at most that many of the
//     process's slots, and only until its circuit opens.
//   - After CircuitThreshold consecutive failures that say the endpoint is
//     unwell (timeouts, connection, DNS and TLS errors, 5xx, 429), its
//     circuit opens: its jobs are snoozed until the circuit's cool-down
//     ends, without an attempt and without a worker slot. Then one probe
//     attempt goes (half-open); a success closes the circuit and the
//     backlog goes out at the endpoint's pace, a failure opens it again
//     for twice as long (up to circuitMaxCooldown).
//
// Waiting in an open circuit is not an attempt: the delivery's retry
// schedule is unchanged, and its clock keeps running (a delivery older
// than the whole schedule fails when its turn comes, see worker.go).
// Transitions are written to the endpoint row for the API and the pages.

const (
	// DefaultCircuitCooldown is how long an opened circuit waits before
	// its first probe.
	DefaultCircuitCooldown = 30 * time.Second
	circuitMaxCooldown     = 5 * time.Minute
	// inFlightWait is how long a job over its endpoint's cap is snoozed,
	// once it has waited inFlightHold in its slot for a turn.
	inFlightWait = time.Second
	inFlightHold = 100 * time.Millisecond
)

type circuit struct {
	state    string // store.CircuitClosed, CircuitOpen, CircuitHalfOpen
	failures int    // consecutive failures
	until    time.Time
	cooldown time.Duration
	probing  bool
	inFlight int
	// limit is the endpoint's cap of the moment (slow start): it begins
	// at startLimit, grows by one with each success up to MaxInFlight and
	// halves on each unwell failure, so that an endpoint that never
	// answers holds startLimit slots at most while its circuit is still
	// closed, and a healthy one is at its full cap after a few attempts.
	limit       int
	max         int // the configured cap at the last gate
	lastSuccess time.Time
	firstPass   time.Time // when its first attempt went
	// waiters are the jobs waiting in their worker slots for one of the
	// endpoint's, oldest first (gateWaiting).
	waiters []*turn
}

// turn is a job's place in line for one of its endpoint's in-flight slots.
// ready is closed when the slot is granted (granted is then true, and the
// job holds it as if gate had let it through), or when the circuit left
// closed, so that the job asks gate again.
type turn struct {
	ready   chan struct{}
	granted bool
}

// grant gives c's free slots under its cap to the jobs waiting in line,
// oldest first, and wakes them all if the circuit is no longer closed.
// The caller holds circuits.mu.
func (c *circuit) grant() {
	for len(c.waiters) > 0 {
		if c.state != store.CircuitClosed {
			for _, t := range c.waiters {
				close(t.ready)
			}
			c.waiters = nil
			return
		}
		if c.inFlight >= c.capOf(c.max) {
			return
		}
		t := c.waiters[0]
		c.waiters[0] = nil
		c.waiters = c.waiters[1:]
		c.inFlight++
		t.granted = true
		close(t.ready)
	}
	c.waiters = nil
}

// worthWaiting tells whether a job over c's cap should wait in line for a
// slot rather than be snoozed: only when the circuit is closed and the
// endpoint answers, and lately, or has only just been tried (its first
// attempts may well come back in milliseconds; a snooze costs a write and
// a round through River).
func (c *circuit) worthWaiting(now time.Time) bool {
	if c.state != store.CircuitClosed {
		return false
	}
	return now.Sub(c.lastSuccess) < time.Second || (c.lastSuccess.IsZero() && now.Sub(c.firstPass) < time.Second)
}

// startLimit is an endpoint's in-flight cap before it has answered.
const startLimit = 2

// capOf is c's cap of the moment under the configured maxInFlight.
func (c *circuit) capOf(maxInFlight int) int {
	if c.limit == 0 {
		c.limit = startLimit
	}
	c.max = maxInFlight
	return max(1, min(c.limit, maxInFlight))
}

type circuits struct {
	mu       sync.Mutex
	m        map[uuid.UUID]*circuit
	cooldown time.Duration // the first cool-down of an opened circuit
	hold     time.Duration // how long a job waits in line; 0 = inFlightHold
}

// gate says whether an attempt of endpoint may go now. When not, wait is
// how long to snooze its job. probe is true for the single half-open try.
// A manual re-send (an operator or customer asked for it, typically after
// fixing their server) passes an open circuit, within the in-flight cap,
// and its result counts like a probe's.
func (cs *circuits) gate(endpoint uuid.UUID, maxInFlight int, manual bool, now time.Time) (wait time.Duration, probe bool, transition string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = map[uuid.UUID]*circuit{}
	}
	c := cs.m[endpoint]
	if c == nil {
		c = &circuit{state: store.CircuitClosed}
		cs.m[endpoint] = c
	}
	switch {
	case manual && c.state != store.CircuitClosed:
		if c.inFlight >= c.capOf(maxInFlight) {
			return jitter(inFlightWait), false, ""
		}
		c.inFlight++
		return 0, true, ""
	case c.state == store.CircuitOpen:
		if now.Before(c.until) {
			return jitter(c.until.Sub(now)), false, ""
		}
		c.state, c.probing = store.CircuitHalfOpen, true
		c.inFlight++
		return 0, true, store.CircuitHalfOpen
	case c.state == store.CircuitHalfOpen:
		if c.probing {
			return jitter(min(c.cooldown/2, 5*time.Second)), false, ""
		}
		c.probing = true
		c.inFlight++
		return 0, true, ""
	}
	if c.inFlight >= c.capOf(maxInFlight) {
		return jitter(inFlightWait), false, ""
	}
	if c.firstPass.IsZero() {
		c.firstPass = now
	}
	c.inFlight++
	return 0, false, ""
}

// gateWaiting is gate, but a job over the endpoint's in-flight cap first
// waits up to inFlightHold in line for a slot, so that a fast endpoint's
// backlog is not snoozed (each snooze is a write and a round through
// River, and a second's delay) for want of a slot it would have had a
// millisecond later. The attempt that frees a slot hands it over at once
// (done), oldest waiter first.
func (cs *circuits) gateWaiting(ctx context.Context, endpoint uuid.UUID, maxInFlight int, manual bool) (time.Duration, bool, string) {
	deadline := time.Now().Add(cmp.Or(cs.hold, inFlightHold))
	for {
		wait, probe, transition := cs.gate(endpoint, maxInFlight, manual, time.Now())
		if wait == 0 {
			return wait, probe, transition
		}
		t := cs.queue(endpoint, maxInFlight, time.Now())
		if t == nil {
			return wait, probe, transition
		}
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-t.ready:
		case <-timer.C:
		case <-ctx.Done():
		}
		timer.Stop()
		if cs.leave(endpoint, t) {
			return 0, false, ""
		}
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return cs.gate(endpoint, maxInFlight, manual, time.Now())
		}
		// Woken because the circuit left closed: gate says what now.
	}
}

// queue puts a job that gate turned away in line for endpoint's next free
// slot, when that is worth waiting for (worthWaiting); otherwise it
// returns nil. A slot freed since gate is granted at once.
func (cs *circuits) queue(endpoint uuid.UUID, maxInFlight int, now time.Time) *turn {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.m[endpoint]
	if c == nil || !c.worthWaiting(now) {
		return nil
	}
	c.capOf(maxInFlight)
	t := &turn{ready: make(chan struct{})}
	c.waiters = append(c.waiters, t)
	c.grant()
	return t
}

// leave takes t out of endpoint's line. It reports whether t was granted
// a slot, which its job then holds (perhaps just as it stopped waiting).
func (cs *circuits) leave(endpoint uuid.UUID, t *turn) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if t.granted {
		return true
	}
	if c := cs.m[endpoint]; c != nil {
		for i, w := range c.waiters {
			if w == t {
				c.waiters = append(c.waiters[:i], c.waiters[i+1:]...)
				break
			}
		}
	}
	return false
}

// closed tells whether endpoint's circuit is closed, so that a wait gate
// gave it was for a slot under the in-flight cap.
func (cs *circuits) closed(endpoint uuid.UUID) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.m[endpoint]
	return c == nil || c.state == store.CircuitClosed
}

// done records how an attempt that gate let through ended. unwell is true
// for a failure that counts against the endpoint's health. It returns the
// circuit's new state when it changed.
func (cs *circuits) done(endpoint uuid.UUID, probe, success, unwell bool, threshold int, now time.Time) (transition string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.m[endpoint]
	if c == nil {
		return ""
	}
	defer c.grant() // the freed slot, or the circuit's new state, to the jobs in line
	c.inFlight--
	if probe && c.state == store.CircuitHalfOpen {
		c.probing = false
	}
	switch {
	case success:
		c.failures = 0
		c.limit = min(c.limit+1, max(c.max, startLimit))
		c.lastSuccess = now
		if c.state != store.CircuitClosed {
			c.state, c.cooldown = store.CircuitClosed, 0
			return store.CircuitClosed
		}
	case unwell:
		c.failures++
		c.limit = max(1, c.limit/2)
		if c.state != store.CircuitClosed && probe {
			c.cooldown = min(2*max(c.cooldown, cs.cooldown/2), circuitMaxCooldown)
			c.state, c.until = store.CircuitOpen, now.Add(c.cooldown)
			return store.CircuitOpen
		}
		if c.state == store.CircuitClosed && c.failures >= threshold {
			c.cooldown = cs.cooldown
			c.state, c.until = store.CircuitOpen, now.Add(c.cooldown)
			return store.CircuitOpen
		}
	default:
		// A failure that says nothing of the endpoint's health (blocked,
		// a 4xx other than 429): a probe that got it still proved the
		// endpoint answers.
		if c.state != store.CircuitClosed && probe {
			c.state, c.failures, c.cooldown = store.CircuitClosed, 0, 0
			return store.CircuitClosed
		}
	}
	return ""
}

// unwell tells whether a failed attempt's result says the endpoint is
// down or overwhelmed, which is what opens its circuit.
func unwell(res Result) bool {
	switch res.ErrorClass {
	case ClassTimeout, ClassConnect, ClassDNS, ClassTLS:
		return true
	}
	return res.StatusCode >= 500 || res.StatusCode == 429
}

// jitter spreads snoozes by ±20% so that a backlog does not wake at once.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
