package delivery

import (
	"context"
	"errors"
	"fmt"
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
	return s.store.InTx(ctx, func(tx pgx.Tx) error {
		st := s.store.WithTx(tx)
		m, err := st.GetMessage(ctx, job.Args.TenantID, job.Args.MessageID)
		if errors.Is(err, store.ErrNotFound) {
			return nil // the tenant was deleted meanwhile
		}
		if err != nil {
			return err
		}
		eps, err := st.ActiveEndpoints(ctx, m.TenantID)
		if err != nil {
			return err
		}
		if err := s.insertDeliveries(ctx, tx, m, matching(eps, m)); err != nil {
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

// recordAttempts writes a batch of attempts in one statement. A delivery
// attempted twice in one batch (a re-send racing a retry) is split into
// separate statements, since one statement updates a row once.
func (s *Service) recordAttempts(ctx context.Context, recs []store.AttemptRecord) ([]struct{}, error) {
	n := len(recs)
	for len(recs) > 0 {
		seen := make(map[uuid.UUID]bool, len(recs))
		var now, later []store.AttemptRecord
		for _, r := range recs {
			if seen[r.Attempt.DeliveryID] {
				later = append(later, r)
				continue
			}
			seen[r.Attempt.DeliveryID] = true
			now = append(now, r)
		}
		if err := s.store.RecordAttempts(ctx, now); err != nil {
			return nil, err
		}
		recs = later
	}
	return make([]struct{}, n), nil
}

// reservedHeaders cannot be set by an endpoint's custom headers.
var reservedHeaders = map[string]bool{
	"webhook-id": true, "webhook-timestamp": true, "webhook-signature": true,
	"content-type": true, "user-agent": true, "host": true, "content-length": true,
	"transfer-encoding": true, "connection": true,
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	s := w.s
	ld, err := s.loader.Do(ctx, job.Args.DeliveryID)
	if err != nil {
		return fmt.Errorf("load delivery %s: %w", job.Args.DeliveryID, err)
	}
	if !ld.found {
		return nil // deleted with its tenant, endpoint or message
	}
	wk := ld.work
	d, e, m := wk.Delivery, wk.Endpoint, wk.Message
	if d.Status != store.DeliveryPending || e.Disabled {
		return nil // finished by another attempt, or the endpoint stopped
	}
	trigger := job.Args.Trigger
	if trigger == "" {
		trigger = store.TriggerScheduled
	}
	if e.RateLimit != nil {
		if wait := s.limits.wait(e.ID, *e.RateLimit); wait > 0 {
			return river.JobSnooze(wait) // over the endpoint's rate: not an attempt
		}
	}

	if wk.SecretsErr != nil {
		// A missing or wrong HOOKD_SECRET_KEY: River retries the job, so a
		// corrected key lets the delivery go on.
		return fmt.Errorf("sign delivery %s: %w", d.ID, wk.SecretsErr)
	}

	started := time.Now()
	msgID := m.ID.String()
	sig, err := Sign(msgID, started, m.Payload, wk.Secrets)
	if err != nil {
		return river.JobCancel(fmt.Errorf("sign delivery %s: %w", d.ID, err))
	}
	h := make(http.Header, len(e.Headers)+6)
	for k, v := range e.Headers {
		if !reservedHeaders[strings.ToLower(k)] {
			h.Set(k, v)
		}
	}
	h.Set("webhook-id", msgID)
	h.Set("webhook-timestamp", strconv.FormatInt(started.Unix(), 10))
	h.Set("webhook-signature", sig)
	h.Set("content-type", "application/json")
	h.Set("user-agent", s.sender.UserAgent())

	res := s.sender.Send(ctx, Request{URL: e.URL, Headers: h, Body: m.Payload})
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
		URL: e.URL, Duration: res.Duration, ReplayID: job.Args.ReplayID, StartedAt: started,
		Timings: store.Timings{DNS: res.DNS, Connect: res.Connect, TLS: res.TLS, TTFB: res.TTFB},
	}
	dec := nextAttempt(res, d.Attempts+1, trigger, s.cfg.Schedule, time.Now(), nil)
	a.Status = dec.attempt
	rec := store.AttemptRecord{Attempt: a, Status: dec.status}
	if dec.status == store.DeliveryPending {
		next := time.Now().Add(dec.wait)
		rec.NextAttemptAt = &next
	}
	owed := retryOwed(trigger, dec, res, d.NextAttemptAt, started)
	if owed {
		// A failed manual try of a delivery that is still retrying: its
		// scheduled job comes at the time it was given.
		rec.Status, rec.NextAttemptAt = store.DeliveryPending, d.NextAttemptAt
	}

	if _, err := s.recorder.Do(ctx, rec); err != nil {
		return fmt.Errorf("record attempt of %s: %w", d.ID, err)
	}
	s.notifyExhausted(ctx, wk, rec, dec) // when this was the last attempt: operational.go
	s.metrics.attempts.WithLabelValues(trigger, rec.Attempt.Status, rec.Attempt.ErrorClass).Inc()
	s.metrics.duration.Observe(res.Duration.Seconds())
	if dec.disable != "" {
		if err := s.store.DisableEndpoint(ctx, e.ID, dec.disable); err != nil {
			return err
		}
	}
	if dec.status == store.DeliveryPending && !owed {
		return river.JobSnooze(dec.wait)
	}
	return nil
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
