package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel/trace"

	"github.com/hookd/hookd/store"
)

// Publishing is hookd's hot path. Concurrent publishes are group-committed:
// while one transaction is in flight the next ones gather, and each batch
// stores its messages, deliveries and jobs with a handful of statements and
// one commit. A publish returns only after its batch commits, so a 202
// still means the message is durable and will be delivered.

// ErrEventType is returned when a message's event type is refused.
var ErrEventType = errors.New("event type refused")

type publishReq struct {
	m      store.Message
	check  func(store.EventType) error
	tenant *store.Tenant // create m's tenant as this when it does not exist
}

type publishRes struct {
	m       store.Message
	existed bool
	err     error // this publish's own failure (refused, unknown tenant)
}

// Publish stores m and schedules its delivery in one transaction: once it
// returns, the message will be delivered whatever crashes next. check, when
// not nil, is given the message's event type (read in the same transaction;
// the zero EventType when there is none) and can refuse it with an error
// that Publish returns as it is. A tenant that does not exist is
// store.ErrNotFound (PublishCreatingTenant creates it instead). When m's
// idempotency key was used before, Publish returns the first message with
// existed = true and schedules nothing.
func (s *Service) Publish(ctx context.Context, m store.Message, check func(store.EventType) error) (store.Message, bool, error) {
	return s.publish(ctx, publishReq{m: m, check: check})
}

// PublishCreatingTenant is Publish to a tenant that may not exist yet: when
// it does not, it is created as t (t.ID is m's tenant) in the same
// transaction as the message, and only when the message is accepted. An
// existing tenant is left as it is.
func (s *Service) PublishCreatingTenant(ctx context.Context, m store.Message, t store.Tenant,
	check func(store.EventType) error) (store.Message, bool, error) {
	t.ID = m.TenantID
	return s.publish(ctx, publishReq{m: m, check: check, tenant: &t})
}

func (s *Service) publish(ctx context.Context, r publishReq) (store.Message, bool, error) {
	if r.m.TraceParent == "" {
		r.m.TraceParent = traceParentOf(ctx) // each message links to its own request's span
	}
	res, err := s.publisher.Do(ctx, r)
	if err != nil {
		return store.Message{}, false, fmt.Errorf("publish: %w", err)
	}
	if res.err != nil {
		return store.Message{}, false, res.err
	}
	return res.m, res.existed, nil
}

// publishBatch publishes a batch: its lookups in one round trip, then its
// writes in one transaction (publishPipelined's round trip when it can).
// When the transaction fails as a whole, each publish is tried alone so
// that one bad publish cannot fail the others.
func (s *Service) publishBatch(ctx context.Context, reqs []publishReq) ([]publishRes, error) {
	out, direct, err := s.publishOnce(ctx, reqs)
	if err == nil {
		s.dispatch(direct) // committed: attempt them here (direct.go)
	}
	if err == nil || len(reqs) == 1 || store.Unavailable(err) {
		// Unavailable: the database, not one publish, is at fault; trying
		// each alone would only knock on a closed door len(reqs) times.
		return out, err
	}
	out = make([]publishRes, len(reqs))
	for i := range reqs {
		one, err := s.publishBatch(ctx, reqs[i:i+1])
		if err != nil {
			out[i].err = err
			continue
		}
		out[i] = one[0]
	}
	return out, nil
}

// publishOnce publishes reqs and returns the direct attempts to dispatch
// once it has committed; on an error their slots are released. Its
// transaction begins in the round trip of its lookups
// (store.BeginPublish), and a publishPipelined one ends in the next.
func (s *Service) publishOnce(ctx context.Context, reqs []publishReq) ([]publishRes, []directAttempt, error) {
	names, versioned, tenants := lookupArgs(reqs)
	if out, direct, ok, err := s.publishCached(ctx, reqs, names, versioned, tenants); ok {
		if err == nil {
			s.metrics.batch[pathOneRoundTrip].Inc()
		}
		return out, direct, err
	}
	p, look, err := s.store.BeginPublish(ctx, names, versioned, tenants)
	if err != nil {
		return nil, nil, err
	}
	defer p.Close()
	if len(versioned) == 0 && s.direct.free() {
		s.lookups.Put(look) // for publishCached, which only runs with a direct slot free
	}
	a := accept(reqs, look)
	if out, direct, ok, err := s.publishPipelined(ctx, p, a, look); ok {
		if err == nil {
			s.metrics.batch[pathTwoRoundTrips].Inc()
		}
		return out, direct, err
	}
	out, direct, err := s.publishIn(ctx, p.Tx(), true, a, look)
	if err == nil {
		err = p.Commit(ctx)
	}
	if err != nil {
		s.direct.release(len(direct))
		return nil, nil, err
	}
	s.metrics.batch[pathTransaction].Inc()
	return out, direct, nil
}

// publishCached publishes reqs in one round trip (store.Checked) when
// their lookups are cached, every one of them is accepted on those, and
// publishPipelined can take them: BEGIN, the check that the cached rows
// are unchanged, the writes and COMMIT go in one pipeline. A refusal, a
// tenant to create or a changed row is decided on fresh lookups, by the
// two round trips of publishOnce: ok is then false, with nothing written.
func (s *Service) publishCached(ctx context.Context, reqs []publishReq, names, versioned, tenants []string) (out []publishRes, direct []directAttempt, ok bool, err error) {
	if len(versioned) > 0 || !s.direct.free() {
		return nil, nil, false, nil
	}
	look, versions, ok := s.lookups.Get(names, tenants)
	if !ok {
		return nil, nil, false, nil
	}
	a := accept(reqs, look)
	if len(a.msgs) < len(reqs) || len(a.create) > 0 {
		return nil, nil, false, nil
	}
	p := s.store.Checked(versions)
	defer p.Close()
	out, direct, ok, err = s.publishPipelined(ctx, p, a, look)
	if errors.Is(err, store.ErrLookupsChanged) {
		s.metrics.changed.Inc()
		s.lookups.Evict(names, tenants)
		return nil, nil, false, nil
	}
	return out, direct, ok, err
}

// publishTx publishes reqs in tx, a transaction whose commit hookd does
// not see: every delivery goes through River's queue.
func (s *Service) publishTx(ctx context.Context, tx pgx.Tx, reqs []publishReq) ([]publishRes, error) {
	names, versioned, tenants := lookupArgs(reqs)
	look, err := s.store.WithTx(tx).LookupForPublish(ctx, names, versioned, tenants)
	if err != nil {
		return nil, err
	}
	out, _, err := s.publishIn(ctx, tx, false, accept(reqs, look), look)
	return out, err
}

// publishPipelined publishes reqs in one round trip
// (store.Publishing.Insert) when every delivery they make is attempted
// directly: then nothing in the transaction waits on an answer from it.
// That is every publish that carries no idempotency key, no payloads of
// other versions and no tenant to create, whose messages fan out inline
// to active endpoints only, when a direct slot is free for each of their
// deliveries: the light load that is most deployments' normal. ok is
// false, with nothing written or taken, when reqs do not qualify.
func (s *Service) publishPipelined(ctx context.Context, p *store.Publishing, a accepted, look store.PublishLookups) (out []publishRes, direct []directAttempt, ok bool, err error) {
	out, msgs := a.out, a.msgs
	if len(a.create) > 0 || s.cfg.InlineFanout <= 0 {
		return nil, nil, false, nil
	}
	eps := make([][]uuid.UUID, len(msgs))
	n := 0
	for k := range msgs {
		m := &msgs[k]
		if m.IdempotencyKey != "" || len(m.Payloads) > 0 {
			return nil, nil, false, nil
		}
		active, disabled := matching(look.Endpoints[m.TenantID], *m)
		if len(disabled) > 0 || len(active) > s.cfg.InlineFanout {
			return nil, nil, false, nil
		}
		if m.ID == uuid.Nil {
			m.ID = store.NewID()
		}
		eps[k], n = active, n+len(active)
	}
	taken := 0
	for taken < n && s.direct.take() {
		taken++
	}
	if taken < n {
		s.direct.release(taken)
		return nil, nil, false, nil
	}
	defer func() {
		if err != nil {
			s.direct.release(taken)
		}
	}()

	now := time.Now()
	fallback := now.Add(directFallback(s.cfg.Sender.Timeout))
	opts := DeliverArgs{}.InsertOpts()
	ds := make([]store.NewDelivery, 0, n)
	dargs := make([]DeliverArgs, 0, n)
	jobs := make([]store.ScheduledJob, 0, n)
	var spans []trace.Span
	defer func() { endSpans(spans, err) }()
	for k, m := range msgs {
		prio := s.fair.priority(m.TenantID, 1, s.cfg.FairShare, now)
		span := s.startFanout(m, true)
		span.SetAttributes(AttrEndpoints.Int(len(eps[k])))
		spans = append(spans, span)
		for _, e := range eps[k] {
			d := DeliverArgs{DeliveryID: store.DeliveryID(m.ID, e), Trigger: store.TriggerScheduled}
			args, err := json.Marshal(d)
			if err != nil {
				return nil, nil, true, fmt.Errorf("encode job args: %w", err)
			}
			ds = append(ds, store.NewDelivery{TenantID: m.TenantID, MessageID: m.ID, EndpointID: e})
			dargs = append(dargs, d)
			jobs = append(jobs, store.ScheduledJob{Kind: DeliverArgs{}.Kind(), Args: args, Queue: opts.Queue,
				MaxAttempts: opts.MaxAttempts, Priority: prio, Metadata: s.direct.metadata, ScheduledAt: fallback})
		}
	}
	pub, err := p.Insert(ctx, msgs, ds, jobs)
	if err != nil {
		return nil, nil, true, err
	}
	for k, i := range a.idx {
		out[i].m = pub.Messages[k]
	}
	for i, id := range pub.Jobs {
		if w, ok := pub.Work[dargs[i].DeliveryID]; ok {
			direct = append(direct, directAttempt{job: id, fallback: fallback, args: dargs[i], work: w})
		}
	}
	if len(direct) != taken {
		// Cannot happen unless a delivery's work was not found; its job is
		// scheduled all the same, so nothing is lost, only delayed.
		s.logger.Warn("direct attempts: work not found for some", "reserved", taken, "found", len(direct))
		s.direct.release(taken - len(direct))
	}
	return out, direct, true, nil
}

// lookupArgs are LookupForPublish's arguments for reqs: the event types,
// those of them that publishes ask versions of, and the tenants.
func lookupArgs(reqs []publishReq) (names, withVersions, tenants []string) {
	seenName, seenTenant, seenVersioned := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, r := range reqs {
		if !seenName[r.m.EventType] {
			seenName[r.m.EventType] = true
			names = append(names, r.m.EventType)
		}
		if versioned(r.m) && !seenVersioned[r.m.EventType] { // version.go
			seenVersioned[r.m.EventType] = true
			withVersions = append(withVersions, r.m.EventType)
		}
		if !seenTenant[r.m.TenantID] {
			seenTenant[r.m.TenantID] = true
			tenants = append(tenants, r.m.TenantID)
		}
	}
	return names, withVersions, tenants
}

// accepted is what accept decided of a batch of publishes: out holds the
// refusals (an unknown tenant, an event type check), msgs the accepted
// messages (at idx in the batch) with their versions resolved, and create
// the missing tenants they create.
type accepted struct {
	out    []publishRes
	idx    []int
	msgs   []store.Message
	create []store.Tenant
}

// accept decides each publish of reqs from what LookupForPublish read.
func accept(reqs []publishReq, look store.PublishLookups) accepted {
	a := accepted{out: make([]publishRes, len(reqs))}
	known := map[string]bool{}
	for t := range look.Tenants {
		known[t] = true
	}
	for i, r := range reqs {
		if !known[r.m.TenantID] && r.tenant == nil {
			a.out[i].err = fmt.Errorf("publish to tenant %s: %w", r.m.TenantID, store.ErrNotFound)
			continue
		}
		if r.check != nil {
			if err := r.check(look.EventTypes[r.m.EventType]); err != nil {
				a.out[i].err = err
				continue
			}
		}
		resolveVersion(&r.m, look.EventTypes[r.m.EventType])
		if !known[r.m.TenantID] {
			known[r.m.TenantID] = true // the first publish that creates it decides its name
			a.create = append(a.create, *r.tenant)
		}
		a.idx = append(a.idx, i)
		a.msgs = append(a.msgs, r.m)
	}
	return a
}

// publishIn publishes the accepted publishes a in tx, whose lookups were
// look. With direct, the caller commits tx and gets the fallback jobs of
// the deliveries given direct slots (direct.go), to dispatch once tx
// commits or to release their slots.
func (s *Service) publishIn(ctx context.Context, tx pgx.Tx, direct bool, a accepted, look store.PublishLookups) (out []publishRes, directJobs []directAttempt, err error) {
	st := s.store.WithTx(tx)
	out, msgs := a.out, a.msgs
	if len(msgs) == 0 {
		return out, nil, nil
	}
	if len(a.create) > 0 {
		if err := st.CreateTenants(ctx, a.create); err != nil {
			return nil, nil, err
		}
	}
	stored, existed, err := st.InsertMessages(ctx, msgs)
	if err != nil {
		return nil, nil, err
	}

	var fresh []store.Message
	for k, i := range a.idx {
		out[i].m, out[i].existed = stored[k], existed[k]
		if !existed[k] {
			fresh = append(fresh, stored[k])
		}
	}
	if len(fresh) == 0 {
		return out, nil, nil
	}

	var jobs []river.InsertManyParams
	// reserved counts the direct slots taken; released here unless the
	// caller receives their jobs.
	reserved := 0
	defer func() {
		if err != nil {
			s.direct.release(reserved)
		}
	}()
	inline := map[int][]store.NewDelivery{} // by River priority
	var parked []store.NewDelivery
	now := time.Now()
	var spans []trace.Span
	defer func() { endSpans(spans, err) }()
	for _, m := range fresh {
		prio := s.fair.priority(m.TenantID, 1, s.cfg.FairShare, now)
		active, disabled := matching(look.Endpoints[m.TenantID], m)
		if s.cfg.InlineFanout <= 0 || len(active)+len(disabled) > s.cfg.InlineFanout {
			jobs = append(jobs, river.InsertManyParams{Args: FanoutArgs{MessageID: m.ID, TenantID: m.TenantID},
				InsertOpts: &river.InsertOpts{Priority: prio}})
			continue
		}
		span := s.startFanout(m, true)
		span.SetAttributes(AttrEndpoints.Int(len(active)))
		spans = append(spans, span)
		for _, e := range active {
			inline[prio] = append(inline[prio], store.NewDelivery{TenantID: m.TenantID, MessageID: m.ID, EndpointID: e})
		}
		for _, e := range disabled {
			parked = append(parked, store.NewDelivery{TenantID: m.TenantID, MessageID: m.ID, EndpointID: e})
		}
	}
	work := map[uuid.UUID]store.Work{} // of the deliveries given direct slots
	for prio, ds := range inline {
		// The direct slots are taken before the insert, so that the work of
		// their deliveries is read in the same round trip.
		load := 0
		for direct && load < len(ds) && s.direct.take() {
			load++
		}
		reserved += load
		ids, loaded, err := st.InsertDeliveriesLoading(ctx, ds, load)
		if err != nil {
			return nil, nil, err
		}
		first := len(jobs)
		jobs = deliverJobs(jobs, ids, store.TriggerScheduled, uuid.Nil, prio)
		given := 0
		for k, id := range ids {
			w, ok := loaded[id]
			if !ok {
				continue
			}
			given++
			work[id] = w
			opts := jobs[first+k].InsertOpts
			if opts == nil {
				opts = &river.InsertOpts{}
			}
			opts.ScheduledAt = now.Add(directFallback(s.cfg.Sender.Timeout))
			opts.Metadata = s.direct.metadata
			jobs[first+k].InsertOpts = opts
		}
		if unused := load - given; unused > 0 { // none, unless a delivery existed
			s.direct.release(unused)
			reserved -= unused
		}
	}
	if len(parked) > 0 {
		if _, err := st.ParkDeliveries(ctx, parked, s.cfg.MaxParked); err != nil {
			return nil, nil, err
		}
	}
	if len(jobs) > 0 {
		res, err := s.river.InsertManyTx(ctx, tx, jobs)
		if err != nil {
			return nil, nil, fmt.Errorf("enqueue %d jobs: %w", len(jobs), err)
		}
		for _, r := range res {
			if r.Job.Kind != (DeliverArgs{}).Kind() || r.Job.State != rivertype.JobStateScheduled {
				continue
			}
			var args DeliverArgs
			if json.Unmarshal(r.Job.EncodedArgs, &args) != nil {
				continue
			}
			if w, ok := work[args.DeliveryID]; ok {
				directJobs = append(directJobs, directAttempt{job: r.Job.ID, fallback: r.Job.ScheduledAt, args: args, work: w})
			}
		}
	}
	if len(directJobs) != reserved {
		// Cannot happen unless River changes what it returns; the jobs are
		// scheduled all the same, so nothing is lost, only delayed.
		s.logger.Warn("direct attempts: River returned other jobs than reserved", "reserved", reserved, "found", len(directJobs))
		s.direct.release(reserved)
		return out, nil, nil
	}
	return out, directJobs, nil
}
