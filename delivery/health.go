package delivery

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/hookd/hookd/store"
)

// Endpoint health: healthy, failing (every attempt has failed for
// FailingAfter, an hour by default: a warning) or disabled (every attempt
// has failed for DisableAfter, five days by default; or by hand, by 410,
// by the receiver's header). The worker records when a run of failures
// starts and ends (worker.go); a periodic job, run by River's leader every
// minute, turns long runs into failing and disabled, and tells the SaaS.

const (
	// DefaultFailingAfter is how long every attempt must have failed for
	// an endpoint to be failing.
	DefaultFailingAfter = time.Hour
	// DefaultDisableAfter is how long every attempt must have failed for
	// an endpoint to be disabled.
	DefaultDisableAfter = 5 * 24 * time.Hour
	// DefaultMaxParked is how many parked deliveries one endpoint keeps.
	DefaultMaxParked = 10000
	// healthInterval is how often the health check runs.
	healthInterval = time.Minute
)

// HealthArgs asks for one health check. River's leader enqueues it.
type HealthArgs struct{}

// Kind is never renamed: jobs already queued carry it.
func (HealthArgs) Kind() string { return "hookd.health" }

// InsertOpts puts the check on the maintenance queue.
func (HealthArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 3}
}

type healthWorker struct {
	river.WorkerDefaults[HealthArgs]
	s *Service
}

func (w *healthWorker) Work(ctx context.Context, _ *river.Job[HealthArgs]) error {
	return w.s.CheckHealth(ctx)
}

// CheckHealth marks endpoints failing and disables those failing for too
// long, and tells the SaaS (River's leader runs it every minute).
func (s *Service) CheckHealth(ctx context.Context) error {
	ch, err := s.store.CheckHealth(ctx, s.cfg.FailingAfter, s.cfg.DisableAfter)
	if err != nil {
		return err
	}
	for _, e := range ch.Failing {
		s.logger.Warn("endpoint is failing", "tenant", e.TenantID, "endpoint", e.ID, "since", e.FailingSince, "last_error", e.LastError)
		s.notifyHealth(ctx, EventEndpointFailing, e, "every attempt has failed since "+fmtTime(e.FailingSince)+": "+e.LastError)
	}
	for _, e := range ch.Disabled {
		s.logger.Warn("endpoint disabled after failing", "tenant", e.TenantID, "endpoint", e.ID, "reason", e.DisabledReason)
		s.notifyHealth(ctx, EventEndpointDisabled, e, e.DisabledReason)
	}
	return nil
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// notifyHealth tells the SaaS of a change in an endpoint's health. It logs
// rather than returns a failure: the change itself is recorded already.
func (s *Service) notifyHealth(ctx context.Context, event string, e store.Endpoint, reason string) {
	ev := OperationalEvent{Type: event, TenantID: e.TenantID, EndpointID: e.ID, URL: e.URL, Reason: reason}
	if err := s.Notify(ctx, ev); err != nil {
		s.logger.Warn("operational webhook not sent", "event", event, "endpoint", e.ID, "error", err)
	}
	if s.onHealth != nil {
		if err := s.onHealth(ctx, event, e, reason); err != nil {
			s.logger.Warn("health hook failed", "event", event, "endpoint", e.ID, "error", err)
		}
	}
}

// OnHealth sets a function that is called, besides the operational
// webhooks, when an endpoint becomes failing, disabled or recovered.
func (s *Service) OnHealth(fn func(ctx context.Context, event string, e store.Endpoint, reason string) error) {
	s.onHealth = fn
}

// recordHealth updates the endpoint's run of failures after an attempt:
// a write only when a run starts or ends (or at most once a minute to keep
// its last error fresh).
func (s *Service) recordHealth(ctx context.Context, e store.Endpoint, res Result, started time.Time) {
	if res.Success() {
		if e.FailingSince == nil {
			return
		}
		wasFailing, err := s.store.MarkSuccess(ctx, e.ID)
		if err != nil {
			s.logger.Warn("record endpoint health", "endpoint", e.ID, "error", err)
			return
		}
		if wasFailing {
			s.notifyHealth(ctx, EventEndpointRecovered, e, "an attempt succeeded")
		}
		return
	}
	if res.ErrorClass == ClassBlocked {
		return // hookd refused it: says nothing of the endpoint
	}
	if e.FailingSince != nil && e.LastFailureAt != nil && started.Sub(*e.LastFailureAt) < time.Minute {
		return
	}
	if err := s.store.MarkFailure(ctx, e.ID, started, failureSummary(res)); err != nil {
		s.logger.Warn("record endpoint health", "endpoint", e.ID, "error", err)
	}
}

// failureSummary is the endpoint's last error, as the pages show it: what
// its server answered (the status and the start of the body), or why no
// answer counted.
func failureSummary(res Result) string {
	if res.StatusCode != 0 && (res.StatusCode < 200 || res.StatusCode > 299) {
		s := strings.TrimSpace(fmt.Sprintf("answered %d %s", res.StatusCode, http.StatusText(res.StatusCode)))
		if body := oneLine(res.ResponseBody, 200); body != "" {
			s += ": " + body
		}
		return s
	}
	return res.ErrorClass + ": " + truncateText(res.Error, 200)
}

// oneLine is the start of a response body as one line of valid UTF-8 text
// without NUL (Postgres text), at most n bytes.
func oneLine(body []byte, n int) string {
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "\uFFFD")), " ")
	s = strings.ReplaceAll(s, "\x00", "")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) { // cut inside a rune: drop its start
		s = s[:len(s)-1]
	}
	return s + "…"
}

func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// parkBatch is how many parked deliveries one transaction sends.
const parkBatch = 500

// SendParked makes an endpoint's parked deliveries pending again and
// enqueues them, each with its original webhook-id, and returns how many.
func (s *Service) SendParked(ctx context.Context, tenant string, endpoint uuid.UUID) (int, error) {
	total := 0
	for {
		var n int
		err := s.store.InTx(ctx, func(tx pgx.Tx) error {
			ids, err := s.store.WithTx(tx).UnparkDeliveries(ctx, tenant, endpoint, parkBatch)
			if err != nil {
				return err
			}
			n = len(ids)
			return s.enqueue(ctx, tx, ids, store.TriggerScheduled, uuid.Nil)
		})
		if err != nil {
			return total, fmt.Errorf("send parked deliveries of %s: %w", endpoint, err)
		}
		total += n
		if n < parkBatch {
			return total, nil
		}
	}
}

// ParkedCounts counts the parked deliveries of endpoints.
func (s *Service) ParkedCounts(ctx context.Context, endpoints []uuid.UUID) (map[uuid.UUID]int, error) {
	return s.store.ParkedCounts(ctx, endpoints)
}
