package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river/rivertype"

	"github.com/hookd/hookd/store"
)

// Direct attempts. At light load most of a delivery's cost was River's
// round trip: the insert's notification wakes a producer, which fetches
// the job in a transaction of its own and, after the attempt, completes it
// in another. A process that runs workers and has just committed a publish
// attempts its new deliveries itself when it has a direct slot free:
//
//   - the delivery's River job is inserted in the publish transaction as
//     before, but scheduled directFallback ahead, so it stays the durable
//     record: if this process dies, or the attempt cannot be recorded,
//     River runs the job when it comes due, like any other;
//   - its work (the delivery, its message, its endpoint and keys) comes
//     from the publish transaction, so the attempt reads nothing after the
//     commit: a publish and its attempt are two commits. When every
//     delivery of a batch has a slot, the work is built from what the
//     publish wrote and a read of the endpoints' keys, in the round trip
//     that writes and commits (store.Publishing.Insert); otherwise it is
//     read with the insert of the deliveries (store.InsertDeliveriesLoading);
//   - the attempt goes through the same gates and code as a fetched one
//     (Service.deliver), and the statement that records it deletes the
//     fallback job, so the job runs later or not at all, never both;
//   - if this process dies, the heartbeat rescue of the others makes its
//     fallback jobs available about 10 s later, as for the jobs it was
//     running (rescue.go);
//   - an attempt that is told to wait (a rate limit, an open circuit) or
//     fails to run moves its fallback job to when it should run, and River
//     takes it from there.
//
// Direct slots are few (a tenth of the workers): under load the attempts
// go through River's queue, whose batching is cheaper there, and whose
// priorities keep tenants fair.

// directFallback is how far ahead a direct attempt's fallback job is
// scheduled: after the attempt's own deadline (deliverJobTimeout) and its
// record, so that the job never runs while the attempt may still record.
func directFallback(sendTimeout time.Duration) time.Duration {
	return deliverRescueAfter(sendTimeout) + 10*time.Second
}

// directs are a process's direct slots and the attempts running in them.
type directs struct {
	on    atomic.Bool   // taking new attempts (between Start and Stop)
	slots chan struct{} // one token per running or reserved attempt
	wg    sync.WaitGroup
	ctx   context.Context // cancelled when Stop gives up waiting
	stop  context.CancelFunc
	// metadata marks a fallback job with this process's worker id, so
	// that the heartbeat rescue makes it available at once if this
	// process dies (store.Heartbeat).
	metadata []byte
}

func (d *directs) init(n int, worker string) {
	d.slots = make(chan struct{}, max(n, 1))
	d.metadata, _ = json.Marshal(map[string]string{store.DirectJobKey: worker})
	d.ctx, d.stop = context.WithCancel(context.Background())
}

// free says whether a slot is free now (take may still find none).
func (d *directs) free() bool {
	return d.on.Load() && len(d.slots) < cap(d.slots)
}

// take reserves a slot when one is free.
func (d *directs) take() bool {
	if !d.on.Load() {
		return false
	}
	select {
	case d.slots <- struct{}{}:
		d.wg.Add(1) // counted from the reservation, so that Stop waits for it
		return true
	default:
		return false
	}
}

// release gives back n slots, reserved or run.
func (d *directs) release(n int) {
	for range n {
		<-d.slots
		d.wg.Done()
	}
}

// wait waits for the running attempts, until ctx is done; then it
// cancels them (their fallback jobs run them again) and waits for them to
// give up.
func (d *directs) wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		d.stop()
		<-done
	}
}

// directAttempt is a delivery a committed publish gave a direct slot: its
// fallback job, and its work, read in the publish transaction.
type directAttempt struct {
	job      int64     // the fallback job's id
	fallback time.Time // when it is scheduled
	args     DeliverArgs
	work     store.Work
}

// dispatch starts the direct attempts of a committed publish.
func (s *Service) dispatch(attempts []directAttempt) {
	for _, a := range attempts {
		go s.runDirect(a)
	}
}

func (s *Service) runDirect(a directAttempt) {
	defer s.direct.release(1)
	job, args := a.job, a.args
	ctx, cancel := context.WithTimeout(s.direct.ctx, deliverJobTimeout(s.cfg.Sender.Timeout))
	defer cancel()
	err := s.deliver(ctx, args, job, 0, &a.work)
	if err == nil {
		return
	}
	// Not attempted, or not recorded: hand the delivery to River now, or
	// when it was told to wait until.
	at := time.Now()
	var snooze *rivertype.JobSnoozeError
	if errors.As(err, &snooze) {
		at = at.Add(snooze.Duration)
	} else {
		s.logger.Info("direct attempt handed to River", "delivery", args.DeliveryID, "error", err)
	}
	// When Postgres is what failed (an outage, a failover), keep trying
	// until it answers, so that the delivery goes on seconds after it is
	// back rather than at the fallback's time. Past that time the job runs
	// by itself.
	deadline := a.fallback
	wait := 100 * time.Millisecond
	for {
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := s.store.RescheduleJob(rctx, job, at)
		rcancel()
		if err == nil {
			return
		}
		if time.Now().Add(wait).After(deadline) || s.direct.ctx.Err() != nil {
			s.logger.Warn("direct attempt: its job runs at its fallback time", "job", job, "error", err)
			return
		}
		time.Sleep(wait)
		wait = min(2*wait, 2*time.Second)
	}
}
