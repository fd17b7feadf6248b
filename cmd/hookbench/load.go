package main

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxConsecutiveErrors stops a run whose publishes keep failing: there is
	// nothing to measure, and a broken server should not be hammered for
	// minutes.
	maxConsecutiveErrors = 100
	// openLoopGrace is how far behind its schedule the open loop may fall
	// before it stops sending; what is left is reported as not sent.
	openLoopGrace = 10 * time.Second
)

// plan is how load is generated. In a closed loop, concurrency workers
// publish messages back to back, for at most duration. In an open loop,
// publishes are scheduled at fixed intervals of 1/rate for duration, sent
// by up to concurrency workers, and their latency is measured from the
// scheduled time, so that a slow server cannot hide its slowness by
// slowing the sender (coordinated omission).
type plan struct {
	openLoop    bool
	concurrency int
	messages    int           // closed loop
	rate        float64       // open loop, publishes per second
	duration    time.Duration // open loop: schedule length; closed loop: time limit
}

// total is the number of messages the plan publishes when nothing fails.
func (p plan) total() int {
	if p.openLoop {
		return openLoopCount(p.rate, p.duration)
	}
	return p.messages
}

// openLoopCount is how many sends fit in d at rate per second: those
// scheduled at offsets 0, 1/rate, 2/rate, … strictly before d.
func openLoopCount(rate float64, d time.Duration) int {
	if rate <= 0 || d <= 0 {
		return 0
	}
	return int(math.Ceil(rate*d.Seconds() - 1e-9))
}

// scheduledOffset is when send i is due, counted from the start of an open
// loop at rate per second. It is computed from i, not by adding intervals,
// so rounding does not drift.
func scheduledOffset(i int, rate float64) time.Duration {
	return time.Duration(float64(i) * float64(time.Second) / rate)
}

// publishFunc publishes message seq, stamped as sent at sentNS (Unix
// nanoseconds), and returns once hookd has answered.
type publishFunc func(ctx context.Context, seq int, sentNS int64) error

// loadCounters are read while the load runs, for progress lines.
type loadCounters struct {
	ok       atomic.Int64
	failed   atomic.Int64
	canceled atomic.Int64 // cut off by the run stopping: counted as not sent
}

// loadResult is what the publish side of a run measured.
type loadResult struct {
	start     time.Time // the first send
	end       time.Time // the last answer
	ok        int
	failed    int
	notSent   int // never sent, or cut off unanswered: the run was stopped or fell too far behind
	latencies []time.Duration
	acked     []bool // by seq: hookd answered 2xx
	firstErr  error
	stopped   error // why the loop stopped early, if it did
}

// runLoad publishes according to p and returns when every send has been
// answered or the loop was stopped (ctx done, too many errors in a row, or
// its time limit).
func runLoad(ctx context.Context, p plan, publish publishFunc, c *loadCounters) loadResult {
	if c == nil {
		c = new(loadCounters)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	total := p.total()
	st := &loadState{publish: publish, counters: c, cancel: cancel, acked: make([]bool, total)}
	lat := make([][]time.Duration, p.concurrency)
	for w := range lat {
		lat[w] = make([]time.Duration, 0, min(total/p.concurrency+1, 1<<20))
	}

	start := time.Now()
	var (
		wg   sync.WaitGroup
		sent int
		next atomic.Int64 // closed loop: the next seq to take
	)
	if p.openLoop {
		jobs := make(chan openJob, p.concurrency)
		for w := range p.concurrency {
			wg.Go(func() {
				for j := range jobs {
					lat[w] = st.do(ctx, j.seq, j.at, lat[w])
				}
			})
		}
		sent = dispatch(ctx, start, total, p.rate, start.Add(p.duration+openLoopGrace), jobs)
		close(jobs)
	} else {
		stopAt := start.Add(p.duration)
		for w := range p.concurrency {
			wg.Go(func() {
				for ctx.Err() == nil && time.Now().Before(stopAt) {
					seq := int(next.Add(1) - 1)
					if seq >= total {
						return
					}
					lat[w] = st.do(ctx, seq, time.Now(), lat[w])
				}
			})
		}
	}
	wg.Wait()
	if !p.openLoop {
		sent = min(int(next.Load()), total)
	}

	res := loadResult{
		start:    start,
		end:      time.Now(),
		ok:       int(c.ok.Load()),
		failed:   int(c.failed.Load()),
		notSent:  total - sent + int(c.canceled.Load()),
		acked:    st.acked,
		firstErr: st.firstErr,
	}
	res.latencies = make([]time.Duration, 0, res.ok)
	for _, l := range lat {
		res.latencies = append(res.latencies, l...)
	}
	if res.notSent > 0 {
		switch cause := context.Cause(ctx); {
		case cause != nil:
			res.stopped = cause
		case p.openLoop:
			res.stopped = fmt.Errorf("fell more than %s behind the schedule", openLoopGrace)
		default:
			res.stopped = fmt.Errorf("reached the time limit of %s", p.duration)
		}
	}
	return res
}

type openJob struct {
	seq int
	at  time.Time
}

// dispatch hands sends to the workers at their scheduled times and returns
// how many it handed out. When the workers are all busy it blocks, then
// catches up: each job keeps its scheduled time, so the wait is measured.
func dispatch(ctx context.Context, start time.Time, total int, rate float64, stopAt time.Time, jobs chan<- openJob) int {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for i := range total {
		at := start.Add(scheduledOffset(i, rate))
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return i
			case <-timer.C:
			}
		}
		if time.Now().After(stopAt) {
			return i
		}
		select {
		case jobs <- openJob{seq: i, at: at}:
		case <-ctx.Done():
			return i
		}
	}
	return total
}

type loadState struct {
	publish     publishFunc
	counters    *loadCounters
	cancel      context.CancelCauseFunc
	acked       []bool // each seq is written by one worker, read after wg.Wait
	consecutive atomic.Int64

	mu       sync.Mutex
	firstErr error
}

// do publishes seq, due at at, and appends its latency to lat on success.
func (s *loadState) do(ctx context.Context, seq int, at time.Time, lat []time.Duration) []time.Duration {
	err := s.publish(ctx, seq, at.UnixNano())
	d := time.Since(at)
	if err == nil {
		s.consecutive.Store(0)
		s.counters.ok.Add(1)
		s.acked[seq] = true
		return append(lat, d)
	}
	if ctx.Err() != nil {
		s.counters.canceled.Add(1) // the run stopped under it: not hookd's failure
		return lat
	}
	s.counters.failed.Add(1)
	s.mu.Lock()
	if s.firstErr == nil {
		s.firstErr = err
	}
	s.mu.Unlock()
	if s.consecutive.Add(1) >= maxConsecutiveErrors { // every worker past it cancels: the first may be descheduled
		s.cancel(fmt.Errorf("%d publishes failed in a row, the last: %w", maxConsecutiveErrors, err))
	}
	return lat
}
