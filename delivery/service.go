package delivery

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/hookd/hookd/store"
)

// Config tunes delivery. Zero values mean the defaults.
type Config struct {
	// Schedule is the retry schedule after failed attempts (DefaultSchedule).
	Schedule Schedule
	// Sender configures outbound HTTP. When Sender.Guard is nil, the
	// service makes one with NewGuard(AllowNetworks): the private-address
	// guard is on unless a caller passes its own.
	Sender SenderConfig
	// AllowNetworks are the non-public prefixes deliveries may still reach
	// (HOOKD_ALLOW_NETWORKS, parsed by ParseAllowNetworks; `hookd dev` adds
	// LoopbackNetworks). Ignored when Sender.Guard is set.
	AllowNetworks []netip.Prefix
	// InlineFanout: a message matching at most this many endpoints is fanned
	// out inside the publish transaction; more go through a fan-out job.
	// 0 means 16; negative means always use the job.
	InlineFanout int
	// Workers is how many deliveries one process attempts at once (256).
	Workers int
	// NoDirect turns off direct attempts (direct.go): every delivery then
	// waits for River to fetch its job. For comparison and tests.
	NoDirect bool
	// RunWorkers makes this process work jobs; false is an API-only node
	// that only inserts them.
	RunWorkers bool
	// FetchCooldown and FetchPollInterval tune River's fetching (2ms, 1s).
	FetchCooldown     time.Duration
	FetchPollInterval time.Duration
	// Version goes in the user-agent.
	Version string
	// Logger receives River's and our logs; nil discards.
	Logger *slog.Logger
	// Retention is how long messages, deliveries and attempts are kept
	// (DefaultRetention); negative keeps them forever. Whole days go at
	// once (the history is partitioned by day), when the last of the day
	// is older than Retention; a delivery still pending or parked then
	// goes with its message (see the README's "History and retention").
	// It is also the window in which an idempotency key returns the first
	// message.
	Retention time.Duration
	// Registry receives delivery's metrics; nil keeps them unregistered.
	Registry prometheus.Registerer
	// TracerProvider makes the spans of fan-outs and attempts (trace.go);
	// nil makes none.
	TracerProvider trace.TracerProvider
	// SweepInterval is how often stranded deliveries are looked for
	// (DefaultSweepInterval); negative turns the sweep off on this node.
	SweepInterval time.Duration
	// MaxInFlight is how many attempts of one endpoint a process runs at
	// once, unless the endpoint sets its own (DefaultMaxInFlight).
	MaxInFlight int
	// CircuitThreshold is how many consecutive failures open an
	// endpoint's circuit (DefaultCircuitThreshold); CircuitCooldown is how
	// long it then waits before a probe (DefaultCircuitCooldown).
	CircuitThreshold int
	CircuitCooldown  time.Duration
	// FailingAfter and DisableAfter: how long every attempt of an
	// endpoint must have failed for it to be failing (DefaultFailingAfter)
	// and to be disabled (DefaultDisableAfter; negative: never).
	FailingAfter time.Duration
	DisableAfter time.Duration
	// MaxParked is how many deliveries a disabled endpoint keeps parked
	// (DefaultMaxParked).
	MaxParked int
	// FairShare is the publishes per second a tenant may make before its
	// deliveries queue behind other tenants' (DefaultFairShare).
	FairShare int
	// Schema is the Postgres schema of hookd's tables and River's
	// (HOOKD_SCHEMA); "" = the pool's search_path. River qualifies its
	// tables and notification channels with it, so that two hookds in two
	// schemas of one database never see each other's jobs; hookd's own SQL
	// does not, so the pool's search_path must be this schema (cmd/hookd
	// sets it).
	Schema string
}

// Defaults of the isolation settings.
const (
	DefaultMaxInFlight      = 16
	DefaultCircuitThreshold = 5
	DefaultFairShare        = 100
)

// Service publishes messages and runs the fan-out, deliver and replay jobs.
type Service struct {
	cfg      Config
	store    *store.Store
	river    *river.Client[pgx.Tx]
	sender   *Sender
	loader   *batcher[uuid.UUID, loaded]
	recorder *batcher[recordReq, struct{}]
	// publisher group-commits concurrent publishes (publish.go).
	publisher *batcher[publishReq, publishRes]
	logger    *slog.Logger
	metrics   *metrics
	tracer    trace.Tracer
	limits    limiters // per-endpoint rate limits
	// workerID is this process's River client id and heartbeat row.
	workerID string
	circuits circuits // per-endpoint in-flight caps and circuit breakers
	direct   directs  // attempts made straight after their publish (direct.go)
	// lookups are publishes' lookups, for a publish in one round trip
	// (publishCached).
	lookups  *store.LookupCache
	fair     fairness // per-tenant publish rates, for queue priority
	onHealth func(ctx context.Context, event string, e store.Endpoint, reason string) error
	// stopBeat ends the heartbeat; beatDone is closed when it has.
	stopBeat context.CancelFunc
	beatDone chan struct{}
}

// New builds the service on pool. Call Start to run workers.
func New(pool *pgxpool.Pool, st *store.Store, cfg Config) (*Service, error) {
	if cfg.Schedule == nil {
		cfg.Schedule = DefaultSchedule
	}
	if cfg.InlineFanout == 0 {
		cfg.InlineFanout = 16
	}
	cfg.Workers = cmp.Or(cfg.Workers, 256)
	cfg.Retention = cmp.Or(cfg.Retention, DefaultRetention)
	cfg.FetchCooldown = cmp.Or(cfg.FetchCooldown, 2*time.Millisecond)
	cfg.FetchPollInterval = cmp.Or(cfg.FetchPollInterval, time.Second)
	cfg.Sender.Timeout = cmp.Or(cfg.Sender.Timeout, DefaultTimeout)
	cfg.SweepInterval = cmp.Or(cfg.SweepInterval, DefaultSweepInterval)
	cfg.MaxInFlight = cmp.Or(cfg.MaxInFlight, DefaultMaxInFlight)
	cfg.CircuitThreshold = cmp.Or(cfg.CircuitThreshold, DefaultCircuitThreshold)
	cfg.CircuitCooldown = cmp.Or(cfg.CircuitCooldown, DefaultCircuitCooldown)
	cfg.FailingAfter = cmp.Or(cfg.FailingAfter, DefaultFailingAfter)
	cfg.DisableAfter = cmp.Or(cfg.DisableAfter, DefaultDisableAfter)
	cfg.MaxParked = cmp.Or(cfg.MaxParked, DefaultMaxParked)
	cfg.FairShare = cmp.Or(cfg.FairShare, DefaultFairShare)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Sender.UserAgent == "" {
		cfg.Sender.UserAgent = "hookd/" + cmp.Or(cfg.Version, "dev")
	}
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = noop.NewTracerProvider()
	}
	s := &Service{cfg: cfg, store: st, logger: cfg.Logger, metrics: newMetrics(cfg.Registry), workerID: newWorkerID(),
		lookups: store.NewLookupCache()}
	s.circuits.cooldown = cfg.CircuitCooldown
	s.direct.init(cfg.Workers/10, s.workerID)
	s.tracer = cfg.TracerProvider.Tracer(tracerName, trace.WithInstrumentationVersion(cmp.Or(cfg.Version, "dev")))
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(newQueueCollector(st, cfg.Logger))
	}
	rc := &river.Config{
		ID:                s.workerID,
		Logger:            cfg.Logger.With("component", "river"),
		FetchCooldown:     cfg.FetchCooldown,
		FetchPollInterval: cfg.FetchPollInterval,
		// From the delivery timeout (rescue.go): a deliver job may run for
		// the timeout plus its load and write; the kinds that run longer
		// (fan-out, replay, sweep, retention) say so with Timeout methods.
		// River's rescuer gives back any job running past its timeout and
		// 15 s more; hookd's heartbeat rescue is faster for dead processes.
		JobTimeout:           deliverJobTimeout(cfg.Sender.Timeout),
		RescueStuckJobsAfter: deliverJobTimeout(cfg.Sender.Timeout) + 15*time.Second,
		// hookd's attempt log is the record of what was sent; River's
		// completed jobs are only kept long enough to look at, so that
		// river_job stays small for River's fetches (24 h by default).
		CompletedJobRetentionPeriod: 10 * time.Minute,
		Schema:                      cfg.Schema,
	}
	if cfg.Sender.Guard == nil {
		cfg.Sender.Guard = NewGuard(cfg.AllowNetworks)
	}
	if cfg.RunWorkers {
		s.sender = NewSender(cfg.Sender)
		workers := river.NewWorkers()
		river.AddWorker(workers, &fanoutWorker{s: s})
		river.AddWorker(workers, &deliverWorker{s: s})
		river.AddWorker(workers, &replayWorker{s: s})
		river.AddWorker(workers, &checkWorker{s: s})
		rc.Workers = workers
		// Every queue polls for jobs that came due without a notification
		// (a job hookd made available itself, or one whose notification
		// was missed); each poll is a statement, so at light load they add
		// up. The deliver and retry lanes poll at FetchPollInterval, the
		// others, where a second's delay is nothing, four times slower.
		slow := 4 * cfg.FetchPollInterval
		rc.Queues = map[string]river.QueueConfig{
			QueueFanout:  {MaxWorkers: 16, FetchPollInterval: slow},
			QueueDeliver: {MaxWorkers: cfg.Workers},
			// Retries have their own lane, a quarter the size: a backlog of
			// retries to failing endpoints cannot hold up first attempts.
			QueueRetry:       {MaxWorkers: max(cfg.Workers/4, 1)},
			QueueReplay:      {MaxWorkers: 2, FetchPollInterval: slow},
			QueueCheck:       {MaxWorkers: 8, FetchPollInterval: slow},
			QueueMaintenance: {MaxWorkers: 1, FetchPollInterval: slow},
		}
		river.AddWorker(workers, &retentionWorker{s: s}) // also where retention is off: another node may enqueue it
		river.AddWorker(workers, &sweepWorker{s: s})
		river.AddWorker(workers, &healthWorker{s: s})
		river.AddWorker(workers, &analyzeWorker{s: s})
		rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(analyzeInterval),
			func() (river.JobArgs, *river.InsertOpts) { return AnalyzeArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
		river.AddWorker(workers, &partitionWorker{s: s})
		river.AddWorker(workers, &tenantPurgeWorker{s: s})
		rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
			func() (river.JobArgs, *river.InsertOpts) { return PartitionArgs{}, nil },
			&river.PeriodicJobOpts{RunOnStart: true}))
		rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(healthInterval),
			func() (river.JobArgs, *river.InsertOpts) { return HealthArgs{}, nil }, nil))
		if cfg.Retention > 0 {
			rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return RetentionArgs{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true}))
		}
		if cfg.SweepInterval > 0 {
			rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(cfg.SweepInterval),
				func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil }, nil))
		}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	s.river = client
	s.publisher = newBatcher(256, 4, s.publishBatch)
	return s, nil
}

// River returns the River client, for the queue's status.
func (s *Service) River() *river.Client[pgx.Tx] { return s.river }

// Start runs the workers (when configured to) until Stop.
func (s *Service) Start(ctx context.Context) error {
	if !s.cfg.RunWorkers {
		return nil
	}
	s.loader = newBatcher(256, 2, s.loadWork)
	s.recorder = newBatcher(256, 2, s.recordAttempts)
	// The first beat comes before River fetches anything, so that every
	// job this process runs is under a worker row that others can judge.
	if _, err := s.store.Heartbeat(ctx, s.workerID, store.RescueParams{}); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	beatCtx, stop := context.WithCancel(ctx)
	s.stopBeat, s.beatDone = stop, make(chan struct{})
	go func() {
		defer close(s.beatDone)
		s.heartbeat(beatCtx)
	}()
	if err := s.river.Start(ctx); err != nil {
		s.stopBeat()
		return fmt.Errorf("start river: %w", err)
	}
	s.direct.on.Store(!s.cfg.NoDirect)
	return nil
}

// Stop lets running attempts finish (up to ctx's deadline) and stops.
func (s *Service) Stop(ctx context.Context) error {
	s.publisher.Close()
	if !s.cfg.RunWorkers {
		return nil
	}
	s.direct.on.Store(false)
	err := s.river.Stop(ctx)
	if err != nil {
		err = s.river.StopAndCancel(context.Background())
	}
	s.direct.wait(ctx) // they need the loader and the recorder
	s.loader.Close()
	s.recorder.Close()
	if s.stopBeat != nil {
		s.stopBeat()
		<-s.beatDone
		// Gone cleanly: nothing of ours is running any more.
		fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.store.ForgetWorker(fctx, s.workerID)
	}
	return err
}

// matching returns the endpoints of eps that m goes to: the enabled ones,
// and apart the disabled ones, whose deliveries are parked.
func matching(eps []store.Endpoint, m store.Message) (active, disabled []uuid.UUID) {
	for _, e := range eps {
		if Matches(e, m.EventType, m.Channels) {
			if e.Disabled {
				disabled = append(disabled, e.ID)
			} else {
				active = append(active, e.ID)
			}
		}
	}
	return active, disabled
}

// insertDeliveries creates the deliveries of m to endpoints and one deliver
// job each, in tx, and parks those to disabled endpoints.
func (s *Service) insertDeliveries(ctx context.Context, tx pgx.Tx, m store.Message, endpoints, disabled []uuid.UUID, priority int) error {
	if err := s.park(ctx, tx, m, disabled); err != nil {
		return err
	}
	if len(endpoints) == 0 {
		return nil
	}
	news := make([]store.NewDelivery, len(endpoints))
	for i, e := range endpoints {
		news[i] = store.NewDelivery{TenantID: m.TenantID, MessageID: m.ID, EndpointID: e}
	}
	ids, err := s.store.WithTx(tx).InsertDeliveries(ctx, news)
	if err != nil {
		return err
	}
	if _, err := s.river.InsertManyTx(ctx, tx, deliverJobs(nil, ids, store.TriggerScheduled, uuid.Nil, priority)); err != nil {
		return fmt.Errorf("enqueue %d deliveries: %w", len(ids), err)
	}
	return nil
}

// park keeps m for the disabled endpoints it matched, in tx.
func (s *Service) park(ctx context.Context, tx pgx.Tx, m store.Message, disabled []uuid.UUID) error {
	if len(disabled) == 0 {
		return nil
	}
	news := make([]store.NewDelivery, len(disabled))
	for i, e := range disabled {
		news[i] = store.NewDelivery{TenantID: m.TenantID, MessageID: m.ID, EndpointID: e}
	}
	_, err := s.store.WithTx(tx).ParkDeliveries(ctx, news, s.cfg.MaxParked)
	return err
}

// enqueue inserts one deliver job for each delivery, in tx.
func (s *Service) enqueue(ctx context.Context, tx pgx.Tx, deliveries []uuid.UUID, trigger string, replay uuid.UUID) error {
	if len(deliveries) == 0 {
		return nil
	}
	if _, err := s.river.InsertManyTx(ctx, tx, deliverJobs(nil, deliveries, trigger, replay, 0)); err != nil {
		return fmt.Errorf("enqueue %d deliveries: %w", len(deliveries), err)
	}
	return nil
}

// deliverJobs appends one deliver job for each delivery to jobs, at River
// priority (0: the default, 1, the highest).
func deliverJobs(jobs []river.InsertManyParams, deliveries []uuid.UUID, trigger string, replay uuid.UUID, priority int) []river.InsertManyParams {
	for _, id := range deliveries {
		p := river.InsertManyParams{Args: DeliverArgs{DeliveryID: id, Trigger: trigger, ReplayID: replay}}
		if priority > 1 {
			p.InsertOpts = &river.InsertOpts{Priority: priority}
		}
		jobs = append(jobs, p)
	}
	return jobs
}

// Resend re-sends a message to all its endpoints, or to one when endpoint is
// not uuid.Nil, as manual attempts with the same webhook-id, and records the
// re-send as a finished replay by `by`. ErrNotFound when the message (or the
// endpoint) does not exist, ErrExpunged when its content was removed.
func (s *Service) Resend(ctx context.Context, by, tenant string, message, endpoint uuid.UUID) (store.Replay, error) {
	var out store.Replay
	err := s.store.InTx(ctx, func(tx pgx.Tx) error {
		st := s.store.WithTx(tx)
		m, err := st.GetMessage(ctx, tenant, message)
		if err != nil {
			return err
		}
		if m.ExpungedAt != nil {
			return store.ErrExpunged
		}
		ds, err := st.MessageDeliveries(ctx, tenant, message)
		if err != nil {
			return err
		}
		var ids []uuid.UUID
		for _, d := range ds {
			if endpoint == uuid.Nil || d.EndpointID == endpoint {
				ids = append(ids, d.ID)
			}
		}
		var resend []uuid.UUID
		if endpoint != uuid.Nil && len(ids) == 0 {
			// The endpoint never got this message: send it now, if it exists.
			if _, err := st.GetEndpoint(ctx, tenant, endpoint); err != nil {
				return err
			}
			one := []store.NewDelivery{{TenantID: tenant, MessageID: message, EndpointID: endpoint}}
			if resend, err = st.InsertDeliveries(ctx, one); err != nil {
				return err
			}
		} else if resend, err = st.ResetDeliveries(ctx, tenant, ids); err != nil {
			return err
		}
		f := store.DeliveryFilter{TenantID: tenant, MessageID: message, EndpointID: endpoint}
		if out, err = s.recordReplay(ctx, st, by, f, len(resend)); err != nil {
			return err
		}
		if err := s.enqueue(ctx, tx, resend, store.TriggerManual, out.ID); err != nil {
			return err
		}
		return s.finishReplay(ctx, st, &out, len(resend))
	})
	if err != nil {
		return store.Replay{}, fmt.Errorf("resend %s: %w", message, err)
	}
	return out, nil
}

// Recover re-sends every failed delivery of one endpoint created in
// [since, until) (until zero = now), and records it as a replay by `by`.
func (s *Service) Recover(ctx context.Context, by, tenant string, endpoint uuid.UUID, since, until time.Time) (store.Replay, error) {
	if _, err := s.store.GetEndpoint(ctx, tenant, endpoint); err != nil {
		return store.Replay{}, fmt.Errorf("recover: %w", err)
	}
	f := store.DeliveryFilter{TenantID: tenant, EndpointID: endpoint, Status: store.DeliveryFailed, Since: since, Until: until}
	matched, err := s.store.CountDeliveries(ctx, f)
	if err != nil {
		return store.Replay{}, fmt.Errorf("recover: %w", err)
	}
	r, err := s.recordReplay(ctx, s.store, by, f, matched)
	if err != nil {
		return store.Replay{}, fmt.Errorf("recover: %w", err)
	}
	n, err := s.replayBatches(ctx, f, r.ID)
	if err != nil {
		return store.Replay{}, fmt.Errorf("recover: %w", err)
	}
	if err := s.finishReplay(ctx, s.store, &r, 0); err != nil {
		return store.Replay{}, fmt.Errorf("recover: %w", err)
	}
	r.Enqueued = n
	return r, nil
}

// recordReplay records a re-send by `by` of the deliveries matching f.
func (s *Service) recordReplay(ctx context.Context, st *store.Store, by string, f store.DeliveryFilter, matched int) (store.Replay, error) {
	filterJSON, err := json.Marshal(encodeFilter(f))
	if err != nil {
		return store.Replay{}, err
	}
	return st.CreateReplay(ctx, store.Replay{CreatedBy: by, Filter: filterJSON, Matched: matched})
}

// finishReplay adds enqueued to r's count and marks it finished.
func (s *Service) finishReplay(ctx context.Context, st *store.Store, r *store.Replay, enqueued int) error {
	if err := st.AddReplayEnqueued(ctx, r.ID, enqueued, true); err != nil {
		return err
	}
	r.Enqueued += enqueued
	r.Status = store.ReplayFinished
	return nil
}

// replayBatchSize is how many deliveries one replay transaction re-sends.
const replayBatchSize = 500

// replayBatches resets and enqueues every delivery matching f, a batch per
// transaction, and returns how many.
func (s *Service) replayBatches(ctx context.Context, f store.DeliveryFilter, replay uuid.UUID) (int, error) {
	after, total := uuid.Nil, 0
	for {
		var n int
		err := s.store.InTx(ctx, func(tx pgx.Tx) error {
			st := s.store.WithTx(tx)
			ds, err := st.FindDeliveries(ctx, f, after, replayBatchSize)
			if err != nil || len(ds) == 0 {
				return err
			}
			after = ds[len(ds)-1].ID
			ids := make([]uuid.UUID, len(ds))
			for i, d := range ds {
				ids[i] = d.ID
			}
			reset, err := st.ResetDeliveries(ctx, f.TenantID, ids)
			if err != nil {
				return err
			}
			if err := s.enqueue(ctx, tx, reset, store.TriggerManual, replay); err != nil {
				return err
			}
			n = len(reset)
			if replay != uuid.Nil {
				return st.AddReplayEnqueued(ctx, replay, n, false)
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n == 0 {
			return total, nil
		}
	}
}

// ReplayFilter is what a bulk replay re-sends.
type ReplayFilter = store.DeliveryFilter

// CountReplay answers a dry run: how many deliveries the filter matches.
func (s *Service) CountReplay(ctx context.Context, f ReplayFilter) (int, error) {
	return s.store.CountDeliveries(ctx, f)
}

// StartReplay records a bulk replay (who, when, filter, how many matched)
// and enqueues the job that carries it out, in one transaction.
func (s *Service) StartReplay(ctx context.Context, createdBy string, f ReplayFilter) (store.Replay, error) {
	filterJSON, err := json.Marshal(encodeFilter(f))
	if err != nil {
		return store.Replay{}, fmt.Errorf("start replay: %w", err)
	}
	var out store.Replay
	err = s.store.InTx(ctx, func(tx pgx.Tx) error {
		st := s.store.WithTx(tx)
		matched, err := st.CountDeliveries(ctx, f)
		if err != nil {
			return err
		}
		out, err = st.CreateReplay(ctx, store.Replay{CreatedBy: createdBy, Filter: filterJSON, Matched: matched})
		if err != nil {
			return err
		}
		_, err = s.river.InsertTx(ctx, tx, ReplayArgs{ReplayID: out.ID}, nil)
		return err
	})
	if err != nil {
		return store.Replay{}, fmt.Errorf("start replay: %w", err)
	}
	return out, nil
}

// filterJSON is how a replay's filter is kept on the replay row.
type filterJSON struct {
	TenantID   string     `json:"tenant_id,omitempty"`
	MessageID  *uuid.UUID `json:"message_id,omitempty"`
	EndpointID *uuid.UUID `json:"endpoint_id,omitempty"`
	EventType  string     `json:"event_type,omitempty"`
	Status     string     `json:"status,omitempty"`
	Since      *time.Time `json:"since,omitempty"`
	Until      *time.Time `json:"until,omitempty"`
}

func encodeFilter(f ReplayFilter) filterJSON {
	out := filterJSON{TenantID: f.TenantID, EventType: f.EventType, Status: f.Status}
	if f.MessageID != uuid.Nil {
		out.MessageID = &f.MessageID
	}
	if f.EndpointID != uuid.Nil {
		out.EndpointID = &f.EndpointID
	}
	if !f.Since.IsZero() {
		out.Since = &f.Since
	}
	if !f.Until.IsZero() {
		out.Until = &f.Until
	}
	return out
}

// DecodeFilter reads a filter as StartReplay kept it.
func DecodeFilter(b []byte) (ReplayFilter, error) {
	var j filterJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return ReplayFilter{}, fmt.Errorf("decode replay filter: %w", err)
	}
	f := ReplayFilter{TenantID: j.TenantID, EventType: j.EventType, Status: j.Status}
	if j.MessageID != nil {
		f.MessageID = *j.MessageID
	}
	if j.EndpointID != nil {
		f.EndpointID = *j.EndpointID
	}
	if j.Since != nil {
		f.Since = *j.Since
	}
	if j.Until != nil {
		f.Until = *j.Until
	}
	return f, nil
}
