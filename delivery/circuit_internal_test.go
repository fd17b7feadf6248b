package delivery

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
)

// answered gives cs an endpoint whose circuit is closed, which answered
// just now and whose slow start has reached max, with max attempts of it
// in flight: its cap is full.
func answered(t *testing.T, cs *circuits, ep uuid.UUID, max int) {
	t.Helper()
	for i := 0; i < max; i++ {
		if wait, _, _ := cs.gate(ep, max, false, time.Now()); wait != 0 {
			t.Fatalf("attempt %d, one at a time, turned away (wait %v)", i+1, wait)
		}
		cs.done(ep, false, true, false, 5, time.Now())
	}
	for i := 0; i < max; i++ {
		if wait, _, _ := cs.gate(ep, max, false, time.Now()); wait != 0 {
			t.Fatalf("attempt %d under a cap of %d turned away (wait %v)", i+1, max, wait)
		}
	}
	if inFlight, _ := cs.state(ep); inFlight != max {
		t.Fatalf("%d in flight, want %d", inFlight, max)
	}
}

func (cs *circuits) state(ep uuid.UUID) (inFlight, waiting int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.m[ep]
	return c.inFlight, len(c.waiters)
}

// inLine waits until n jobs wait in ep's line: the test's steps wait on
// goroutines that are about to block, never on a time limit of their own.
func inLine(t *testing.T, cs *circuits, ep uuid.UUID, n int) {
	t.Helper()
	require.Eventually(t, func() bool { _, w := cs.state(ep); return w == n }, 10*time.Second, time.Millisecond,
		"%d jobs in line", n)
}

type gated struct {
	wait  time.Duration
	probe bool
}

func goGate(cs *circuits, ctx context.Context, ep uuid.UUID, max int) <-chan gated {
	ch := make(chan gated, 1)
	go func() {
		wait, probe, _ := cs.gateWaiting(ctx, ep, max, false)
		ch <- gated{wait, probe}
	}()
	return ch
}

// recv is the result of a goGate, failing the test if it has not come 10 s
// after the step that should have let it go.
func recv(t *testing.T, ch <-chan gated) gated {
	t.Helper()
	select {
	case g := <-ch:
		return g
	case <-time.After(10 * time.Second):
		t.Fatal("a job in line was still waiting 10 s after its turn came")
		return gated{}
	}
}

func TestGateWaitingHandsAFreedSlotToTheOldestWaiter(t *testing.T) {
	cs := &circuits{cooldown: time.Minute, hold: time.Hour}
	ep := uuid.New()
	answered(t, cs, ep, 1) // one attempt in flight: the cap is full

	first := goGate(cs, context.Background(), ep, 1)
	inLine(t, cs, ep, 1)
	second := goGate(cs, context.Background(), ep, 1)
	inLine(t, cs, ep, 2)
	select {
	case g := <-first:
		t.Fatalf("a job over the cap went before any slot was freed: %+v", g)
	default:
	}

	cs.done(ep, false, true, false, 5, time.Now())
	g := recv(t, first)
	if g.wait != 0 {
		t.Fatalf("the oldest waiter was not given the freed slot: snoozed %v", g.wait)
	}
	if inFlight, waiting := cs.state(ep); inFlight != 1 || waiting != 1 {
		t.Fatalf("after a handover: %d in flight and %d waiting, want 1 and 1", inFlight, waiting)
	}
	select {
	case g := <-second:
		t.Fatalf("the younger waiter went too, past the cap: %+v", g)
	default:
	}

	cs.done(ep, false, true, false, 5, time.Now())
	if g := recv(t, second); g.wait != 0 {
		t.Fatalf("the second waiter was not given the next freed slot: snoozed %v", g.wait)
	}
	cs.done(ep, false, true, false, 5, time.Now())
	if inFlight, waiting := cs.state(ep); inFlight != 0 || waiting != 0 {
		t.Fatalf("at the end: %d in flight and %d waiting, want none", inFlight, waiting)
	}
}

func TestGateWaitingSnoozesWhenNoSlotComes(t *testing.T) {
	cs := &circuits{cooldown: time.Minute, hold: 20 * time.Millisecond}
	ep := uuid.New()
	answered(t, cs, ep, 1)
	wait, probe, _ := cs.gateWaiting(context.Background(), ep, 1, false)
	if wait < time.Duration(0.8*float64(inFlightWait)) || probe {
		t.Fatalf("a job whose wait in line ran out: snooze %v (probe %v), want about %v", wait, probe, inFlightWait)
	}
	if inFlight, waiting := cs.state(ep); inFlight != 1 || waiting != 0 {
		t.Fatalf("after the wait ran out: %d in flight and %d waiting, want 1 and 0", inFlight, waiting)
	}
	// A slot freed later goes to nobody: the next job takes it through gate.
	cs.done(ep, false, true, false, 5, time.Now())
	if inFlight, _ := cs.state(ep); inFlight != 0 {
		t.Fatalf("a slot was handed to a job that had left the line: %d in flight", inFlight)
	}
}

func TestGateWaitingLeavesTheLineOnCancel(t *testing.T) {
	cs := &circuits{cooldown: time.Minute, hold: time.Hour}
	ep := uuid.New()
	answered(t, cs, ep, 1)
	ctx, cancel := context.WithCancel(context.Background())
	ch := goGate(cs, ctx, ep, 1)
	inLine(t, cs, ep, 1)
	cancel()
	if g := recv(t, ch); g.wait == 0 {
		t.Fatal("a canceled job over the cap was let through")
	}
	if inFlight, waiting := cs.state(ep); inFlight != 1 || waiting != 0 {
		t.Fatalf("after the cancel: %d in flight and %d waiting, want 1 and 0", inFlight, waiting)
	}
}

func TestGateWaitingReleasesTheLineWhenTheCircuitOpens(t *testing.T) {
	cs := &circuits{cooldown: time.Minute, hold: time.Hour}
	ep := uuid.New()
	answered(t, cs, ep, 1)
	ch := goGate(cs, context.Background(), ep, 1)
	inLine(t, cs, ep, 1)
	// The attempt in flight times out; with a threshold of 1 the circuit opens.
	if got := cs.done(ep, false, false, true, 1, time.Now()); got != store.CircuitOpen {
		t.Fatalf("circuit after the threshold's failure: %q, want open", got)
	}
	g := recv(t, ch)
	if g.wait < 40*time.Second || g.probe {
		t.Fatalf("a waiter when the circuit opened: snooze %v (probe %v), want about the 1 min cool-down", g.wait, g.probe)
	}
	if inFlight, waiting := cs.state(ep); inFlight != 0 || waiting != 0 {
		t.Fatalf("with the circuit open: %d in flight and %d waiting, want none", inFlight, waiting)
	}
}

func TestGateWaitingDoesNotHoldForAnEndpointThatHasNotAnswered(t *testing.T) {
	cs := &circuits{cooldown: time.Minute, hold: time.Hour}
	ep := uuid.New()
	long := time.Now().Add(-time.Minute)
	// Two attempts went a minute ago (startLimit) and have not come back.
	for i := 0; i < startLimit; i++ {
		if wait, _, _ := cs.gate(ep, 8, false, long); wait != 0 {
			t.Fatalf("attempt %d of a new endpoint turned away", i+1)
		}
	}
	wait, _, _ := cs.gateWaiting(context.Background(), ep, 8, false)
	if wait == 0 {
		t.Fatal("a job went past the slow-start cap of an endpoint that never answered")
	}
	if _, waiting := cs.state(ep); waiting != 0 {
		t.Fatalf("%d jobs wait in line for an endpoint that does not answer", waiting)
	}
}

func TestGateWaitingNeverExceedsTheCap(t *testing.T) {
	cs := &circuits{cooldown: time.Minute, hold: 10 * time.Second}
	ep := uuid.New()
	const max, jobs = 4, 400
	answered(t, cs, ep, max)
	for i := 0; i < max; i++ {
		cs.done(ep, false, true, false, 5, time.Now())
	}
	var now, most, passed atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait, _, _ := cs.gateWaiting(context.Background(), ep, max, false)
			if wait != 0 {
				return
			}
			passed.Add(1)
			n := now.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(100 * time.Microsecond) // the endpoint answers
			now.Add(-1)
			cs.done(ep, false, true, false, 5, time.Now())
		}()
	}
	wg.Wait()
	if most.Load() > max {
		t.Fatalf("%d attempts of the endpoint at once, over its cap of %d", most.Load(), max)
	}
	if passed.Load() != jobs {
		t.Fatalf("%d of %d jobs got a slot while waiting in line for an endpoint that answers", passed.Load(), jobs)
	}
	if inFlight, waiting := cs.state(ep); inFlight != 0 || waiting != 0 {
		t.Fatalf("at the end: %d in flight and %d waiting, want none", inFlight, waiting)
	}
}
