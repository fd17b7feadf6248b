package delivery

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/hookd/hookd/store"
)

// fanoutWorker creates the deliveries of a message too widely fanned out to
// do inside the publish transaction.
type fanoutWorker struct {
	river.WorkerDefaults[FanoutArgs]
	s *Service
}

func (w *fanoutWorker) Work(ctx context.Context, job *river.Job[FanoutArgs]) error {
	s := w.s
	return s.store.InTx(ctx, func(tx pgx.Tx) (err error) {
		st := s.store.WithTx(tx)
		m, err := st.GetMessage(ctx, job.Args.TenantID, job.Args.MessageID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // the tenant was deleted meanwhile
		}
		if err != nil {
			return err
		}
		span := s.startFanout(m, false)
		defer func() { endSpan(span, err) }()
		eps, err := st.FanoutEndpoints(ctx, m.TenantID)
		if err != nil {
			return err
		}
		active, disabled := matching(eps, m)
		span.SetAttributes(AttrEndpoints.Int(len(active)))
		if err := s.insertDeliveries(ctx, tx, m, active, disabled, job.Priority); err != nil {
			return err
		}
		// Completing the job in the same transaction makes fan-out exactly once.
		_, err = river.JobCompleteTx[*riverDriver](ctx, tx, job)
		return err
	})
}

// Timeout lets a fan-out to many endpoints finish.
func (w *fanoutWorker) Timeout(*river.Job[FanoutArgs]) time.Duration { return 5 * time.Minute }

// replayWorker carries out a bulk replay in batches.
type replayWorker struct {
	river.WorkerDefaults[ReplayArgs]
	s *Service
}

func (w *replayWorker) Work(ctx context.Context, job *river.Job[ReplayArgs]) error {
	s := w.s
	r, err := s.store.GetReplay(ctx, job.Args.ReplayID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	f, err := DecodeFilter(r.Filter)
	if err != nil {
		return river.JobCancel(err)
	}
	if _, err := s.replayBatches(ctx, f, r.ID); err != nil {
		return err
	}
	return s.store.AddReplayEnqueued(ctx, r.ID, 0, true)
}

// Timeout lets a large replay enqueue all it matched.
func (w *replayWorker) Timeout(*river.Job[ReplayArgs]) time.Duration { return 30 * time.Minute }

// deliverWorker makes one attempt of a delivery.
type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	s *Service
}

// loaded is the result of the batched work loader.
type loaded struct {
	work  store.Work
	found bool
}

func (s *Service) loadWork(ctx context.Context, ids []uuid.UUID) ([]loaded, error) {
	m, err := s.store.LoadWork(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]loaded, len(ids))
	for i, id := range ids {
		w, ok := m[id]
		out[i] = loaded{work: w, found: ok}
	}
	return out, nil
}

// recordReq is one attempt to record and, when the delivery is to be
// retried, the job of its next attempt.
type recordReq struct {
	rec   store.AttemptRecord
	retry *river.InsertManyParams
}

// recordAttempts writes a batch of attempts in one statement, with the
// retry jobs they call for in the same transaction (so a retry can be lost
// by no crash). A delivery attempted twice in one batch (a re-send racing
// a retry) is split into separate statements, since one statement updates
// a row once.
func (s *Service) recordAttempts(ctx context.Context, reqs []recordReq) ([]struct{}, error) {
	n := len(reqs)
	for len(reqs) > 0 {
		seen := make(map[uuid.UUID]bool, len(reqs))
		var now []store.AttemptRecord
		var retries []river.InsertManyParams
		var later []recordReq
		for _, r := range reqs {
			if seen[r.rec.Attempt.DeliveryID] {
				later = append(later, r)
				continue
			}
			seen[r.rec.Attempt.DeliveryID] = true
			now = append(now, r.rec)
			if r.retry != nil {
				retries = append(retries, *r.retry)
			}
		}
		var err error
		if len(retries) == 0 {
			err = s.store.RecordAttempts(ctx, now)
		} else {
			err = s.store.InHotTx(ctx, func(tx pgx.Tx) error {
				if err := s.store.WithTx(tx).RecordAttempts(ctx, now); err != nil {
					return err
				}
				res, err := s.river.InsertManyTx(ctx, tx, retries)
				if err != nil {
					return err
				}
				// River promotes scheduled jobs every few seconds; a retry due
				// sooner is made available now (River fetches a job only once
				// its time has come), so a 5 s step waits 5 s, not up to 10.
				ids := make([]int64, len(res))
				for i, r := range res {
					ids[i] = r.Job.ID
				}
				_, err = s.store.WithTx(tx).ReleaseScheduledJobs(ctx, ids, riverSchedulerInterval)
				return err
			})
		}
		if err != nil {
			return nil, err
		}
		reqs = later
	}
	return make([]struct{}, n), nil
}

// rateWaitInWorker is the longest wait for an endpoint's rate turn that
// an attempt spends in its worker slot rather than snoozed.
const rateWaitInWorker = 250 * time.Millisecond

// reservedHeaders cannot be set by an endpoint's custom headers.
var reservedHeaders = map[string]bool{
	"webhook-id": true, "webhook-timestamp": true, "webhook-signature": true, "webhook-check": true, VersionHeader: true,
	"content-type": true, "user-agent": true, "host": true, "content-length": true,
	"transfer-encoding": true, "connection": true,
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	return w.s.deliver(ctx, job.Args, 0, job.ID, nil)
}

// deliver makes one attempt of the delivery args names. direct is the id of
// the delivery's River job when this process attempts it straight after
// its publish (direct.go): the job is then still scheduled, as the
// fallback, and the statement that records the attempt deletes it; work
// is then the delivery's work, read in the publish transaction. running is
// the id of the River job that runs the attempt otherwise, which the
// record deletes as well: that is its completion.
func (s *Service) deliver(ctx context.Context, args DeliverArgs, direct, running int64, work *store.Work) (err error) {
	ld := loaded{found: true}
	if work != nil {
		ld.work = *work
	} else if ld, err = s.loader.Do(ctx, args.DeliveryID); err != nil {
		return fmt.Errorf("load delivery %s: %w", args.DeliveryID, err)
	}
	if !ld.found {
		return nil // deleted with its tenant, endpoint or message
	}
	wk := ld.work
	d, e, m := wk.Delivery, wk.Endpoint, wk.Message
	manual := args.Trigger == store.TriggerManual
	switch {
	case d.Status == store.DeliveryParked:
		return nil // waits for its endpoint to be enabled
	case d.Status != store.DeliveryPending && !manual:
		return nil // finished by another attempt
	}
	// A manual re-send goes even when an attempt that was in flight when
	// it was asked for has finished the delivery since: it was asked for.
	if e.Disabled {
		// Disabled since the job was queued: the delivery waits, parked,
		// until the endpoint is enabled and asked to send what it missed.
		_, err := s.store.ParkPending(ctx, e.ID)
		return err
	}
	trigger := args.Trigger
	if trigger == "" {
		trigger = store.TriggerScheduled
	}
	if wk.VersionMissing {
		return s.failMissingVersion(ctx, wk, trigger, args.ReplayID) // version.go
	}
	if e.RateLimit != nil {
		// The process's own limiter spreads attempts over the second; the
		// count in Postgres holds the limit across every worker process.
		if wait := s.limits.wait(e.ID, *e.RateLimit); wait > 0 {
			return river.JobSnooze(wait) // over the endpoint's rate: not an attempt
		}
		wait, err := s.store.TakeRate(ctx, e.ID, *e.RateLimit)
		if err == nil && wait > 0 && wait <= rateWaitInWorker {
			// A turn this close is worth waiting for in the slot: a snooze
			// costs a round through River's scheduler.
			time.Sleep(wait)
			wait, err = s.store.TakeRate(ctx, e.ID, *e.RateLimit)
		}
		if err != nil {
			return err
		}
		if wait > 0 {
			return river.JobSnooze(wait + time.Duration(rand.Int64N(int64(20*time.Millisecond))))
		}
	}

	if wk.SecretsErr != nil {
		// A missing or wrong HOOKD_SECRET_KEY: River retries the job, so a
		// corrected key lets the delivery go on.
		return fmt.Errorf("sign delivery %s: %w", d.ID, wk.SecretsErr)
	}

	maxInFlight := s.cfg.MaxInFlight
	if e.MaxInFlight != nil {
		maxInFlight = *e.MaxInFlight
	}
	wait, probe, transition := s.circuits.gateWaiting(ctx, e.ID, maxInFlight, trigger == store.TriggerManual)
	if wait > 0 {
		if trigger == store.TriggerScheduled && time.Since(d.CreatedAt) > s.scheduleSpan() && !s.circuits.closed(e.ID) {
			// Its whole schedule went by while the circuit was open. (A wait
			// for a slot under the cap, circuit closed, fails nothing: the
			// endpoint answers, and the delivery's turn is coming.)
			return s.store.FailDelivery(ctx, d.ID)
		}
		return river.JobSnooze(wait) // not an attempt: the schedule is unchanged
	}
	if transition != "" {
		s.setCircuit(e.ID, transition, "probing with one attempt after the cool-down")
	}

	ctx, span := s.startAttempt(ctx, wk, trigger, args.ReplayID)
	defer func() { endSpan(span, err) }()
	started := time.Now()
	res, h, err := s.attempt(ctx, wk, started)
	closed := s.circuits.done(e.ID, probe, res.Success(), err == nil && unwell(res), s.cfg.CircuitThreshold, time.Now())
	if err != nil {
		return err
	}
	if closed != "" {
		reason := "an attempt succeeded"
		if closed == store.CircuitOpen {
			reason = fmt.Sprintf("%d consecutive failures, the last: %s", s.cfg.CircuitThreshold, failureSummary(res))
		}
		s.setCircuit(e.ID, closed, reason)
	}
	if res.ErrorClass == ClassCanceled {
		// hookd is stopping: not the endpoint's fault, so no attempt is
		// recorded and River runs the job again later.
		return fmt.Errorf("attempt of %s interrupted: %s", d.ID, res.Error)
	}

	a := store.Attempt{
		ID: store.NewID(), TenantID: d.TenantID, DeliveryID: d.ID, MessageID: m.ID, EndpointID: e.ID,
		Trigger: trigger, StatusCode: res.StatusCode,
		RequestHeaders: redacted(h, e.SecretHeaders), ResponseHeaders: res.ResponseHeaders, ResponseBody: res.ResponseBody,
		BodyTruncated: res.Truncated, ErrorClass: res.ErrorClass, Error: res.Error, RemoteAddr: res.RemoteAddr,
		URL: e.URL, Duration: res.Duration, ReplayID: args.ReplayID, StartedAt: started,
		Timings: store.Timings{DNS: res.DNS, Connect: res.Connect, TLS: res.TLS, TTFB: res.TTFB},
	}
	dec := nextAttempt(res, d.Attempts+1, trigger, s.cfg.Schedule, time.Now(), nil)
	a.Status = dec.attempt
	req := recordReq{rec: store.AttemptRecord{Attempt: a, Status: dec.status, FallbackJob: direct, RunningJob: running}}
	owed := retryOwed(trigger, dec, res, d.NextAttemptAt, started)
	switch {
	case owed:
		// A failed manual try of a delivery that is still retrying: its
		// scheduled job comes at the time it was given.
		req.rec.Status, req.rec.NextAttemptAt = store.DeliveryPending, d.NextAttemptAt
	case dec.status == store.DeliveryPending:
		next := time.Now().Add(dec.wait)
		req.rec.NextAttemptAt = &next
		req.retry = &river.InsertManyParams{Args: DeliverArgs{DeliveryID: d.ID, Trigger: store.TriggerScheduled},
			InsertOpts: &river.InsertOpts{Queue: QueueRetry, ScheduledAt: next}}
	}

	traceResult(span, res, req.rec.Status)

	if _, err := s.recorder.Do(ctx, req); err != nil {
		return fmt.Errorf("record attempt of %s: %w", d.ID, err)
	}
	s.notifyExhausted(ctx, wk, req.rec, dec) // when this was the last attempt: operational.go
	s.metrics.attempts.WithLabelValues(trigger, a.Status, a.ErrorClass).Inc()
	s.metrics.duration.Observe(res.Duration.Seconds())
	s.metrics.delivery(req.rec, d, m.CreatedAt, args.ReplayID)
	s.recordHealth(ctx, e, res, started)
	if dec.disable != "" {
		was, err := s.store.DisableEndpoint(ctx, e.ID, dec.disable)
		if err != nil {
			return err
		}
		if was {
			e.Disabled, e.DisabledReason = true, dec.disable
			s.notifyHealth(ctx, EventEndpointDisabled, e, dec.disable)
		}
	}
	return nil
}

// attempt signs and sends one attempt of wk, and returns the result and
// the request headers that went out.
func (s *Service) attempt(ctx context.Context, wk store.Work, started time.Time) (Result, http.Header, error) {
	e, m := wk.Endpoint, wk.Message
	msgID := m.ID.String()
	sig, err := Sign(msgID, started, wk.Payload, wk.Secrets)
	if err != nil {
		return Result{}, nil, river.JobCancel(fmt.Errorf("sign delivery %s: %w", wk.Delivery.ID, err))
	}
	h := make(http.Header, len(e.Headers)+6)
	for k, v := range e.Headers {
		if !reservedHeaders[strings.ToLower(k)] {
			h.Set(k, v)
		}
	}
	if e.ForwardTraceContext {
		forwardTraceContext(ctx, h)
	}
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(started.Unix(), 10))
	h.Set("webhook-signature", sig)
	h.Set(VersionHeader, strconv.Itoa(wk.Version))
	h.Set("content-type", "application/json")
	h.Set("user-agent", s.sender.UserAgent())
	return s.sender.Send(ctx, Request{URL: e.URL, Headers: h, Body: wk.Payload}), h, nil
}

// setCircuit records a circuit transition on the endpoint, in the
// background: the attempt does not wait for it.
func (s *Service) setCircuit(endpoint uuid.UUID, state, reason string) {
	at := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.store.SetCircuit(ctx, endpoint, state, reason, at); err != nil {
			s.logger.Warn("record circuit state", "endpoint", endpoint, "state", state, "error", err)
		}
	}()
	if state == store.CircuitOpen {
		s.logger.Warn("endpoint circuit opened", "endpoint", endpoint, "reason", reason)
	}
}

// scheduleSpan is the longest a delivery can take through its whole retry
// schedule, jitter included.
func (s *Service) scheduleSpan() time.Duration {
	var total time.Duration
	for _, d := range s.cfg.Schedule {
		total += d
	}
	return time.Duration(float64(total) * (1 + scheduleJitter))
}

// retryOwed tells whether a failed manual attempt leaves its delivery
// pending: when a scheduled retry was still due after the manual try began,
// and nothing in the answer stops retrying altogether.
func retryOwed(trigger string, dec decision, res Result, scheduled *time.Time, started time.Time) bool {
	if trigger != store.TriggerManual || dec.status != store.DeliveryFailed || dec.disable != "" {
		return false
	}
	if scheduled == nil || !scheduled.After(started) || res.ErrorClass == ClassBlocked || res.ErrorClass == ClassGone {
		return false
	}
	_, abort := receiverAsks(res.ResponseHeaders)
	return !abort
}
