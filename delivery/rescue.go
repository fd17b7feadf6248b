package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"github.com/hookd/hookd/store"
)

// Crash safety. A job is `running` in River from the moment a worker
// fetches it until River records how it ended. When the process dies in
// between (kill -9, OOM, a lost machine), open-source River gives the job
// back only through its stuck-job rescuer, an hour later by default. hookd
// bounds that wait three ways, all derived from the delivery timeout T
// (SenderConfig.Timeout, 15 s by default):
//
//   - Each attempt may take at most T to send, plus the batched load and
//     attempt write around it, so a deliver job's timeout is T + 15 s
//     (deliverJobTimeout). River cancels the attempt's context then.
//   - Every worker process beats a row in the workers table every
//     heartbeatInterval (2 s) under its River client id, and in the same
//     statement gives back the jobs whose last attempt belongs to a worker
//     silent for workerStaleAfter (10 s): a killed worker's deliveries are
//     retried about 10 s after it died, as soon as any worker is up. A
//     worker only judges others once it has itself been beating for
//     workerStaleAfter without a gap, so that after a Postgres outage (when
//     every beat stopped) the live workers have time to beat again first.
//   - A deliver job running for longer than its timeout plus a margin
//     (deliverRescueAfter) is given back too, whoever runs it: its process
//     lost track of it, for instance when Postgres restarted before River
//     could record the job's end. River's own rescuer
//     (RescueStuckJobsAfter) does the same for every kind, a little later.
//
// A rescued delivery whose attempt had in fact been recorded finds itself
// no longer pending and stops; one whose receiver got the request but
// whose attempt was not recorded is sent again with the same webhook-id
// (at-least-once: receivers dedupe on it).
const (
	heartbeatInterval = 2 * time.Second
	workerStaleAfter  = 10 * time.Second
)

// deliverJobTimeout is how long one deliver job may run for a delivery
// timeout of sendTimeout.
func deliverJobTimeout(sendTimeout time.Duration) time.Duration { return sendTimeout + 15*time.Second }

// deliverRescueAfter is when a running deliver job is given back whoever
// runs it.
func deliverRescueAfter(sendTimeout time.Duration) time.Duration {
	return deliverJobTimeout(sendTimeout) + 5*time.Second
}

// newWorkerID names this process's River client: unique per process start,
// at most 100 characters as River requires.
func newWorkerID() string {
	host, _ := os.Hostname()
	if len(host) > 60 {
		host = host[:60]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// heartbeat beats for this worker until ctx ends, rescuing orphaned jobs.
func (s *Service) heartbeat(ctx context.Context) {
	t := time.NewTicker(heartbeatInterval)
	defer t.Stop()
	var since time.Time // start of the current run of beats without a gap
	var last time.Time
	for {
		now := time.Now()
		if last.IsZero() || now.Sub(last) > 2*heartbeatInterval {
			since = now
		}
		bctx, cancel := context.WithTimeout(ctx, heartbeatInterval)
		n, err := s.store.Heartbeat(bctx, s.workerID, store.RescueParams{
			Rescue:     now.Sub(since) >= workerStaleAfter,
			StaleAfter: workerStaleAfter,
			Kind:       DeliverArgs{}.Kind(),
			KindAfter:  deliverRescueAfter(s.cfg.Sender.Timeout),
		})
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.Warn("worker heartbeat failed", "error", err)
		case err == nil:
			last = now
			if n > 0 {
				s.metrics.rescued.Add(float64(n))
				s.logger.Info("rescued jobs of a stopped or stuck worker", "jobs", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
