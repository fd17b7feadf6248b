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

// publishBatch publishes a batch in one transaction. When the transaction
// fails as a whole, each publish is tried alone so that one bad publish
// cannot fail the others.
func (s *Service) publishBatch(ctx context.Context, reqs []publishReq) ([]publishRes, error) {
	var out []publishRes
	var direct []directAttempt
	err := s.store.InHotTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, direct, err = s.publishIn(ctx, tx, reqs, true)
		return err
	})
	if err == nil {
		s.dispatch(direct) // committed: attempt them here (direct.go)
	} else {
		s.direct.release(len(direct))
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

// publishTx publishes reqs in tx, a transaction whose commit hookd does
// not see: every delivery goes through River's queue.
func (s *Service) publishTx(ctx context.Context, tx pgx.Tx, reqs []publishReq) ([]publishRes, error) {
	out, _, err := s.publishIn(ctx, tx, reqs, false)
	return out, err
}

// publishIn publishes reqs in tx. With direct, the caller commits tx and
// gets the fallback jobs of the deliveries given direct slots (direct.go),
// to dispatch once tx commits or to release their slots.
func (s *Service) publishIn(ctx context.Context, tx pgx.Tx, reqs []publishReq, direct bool) (out []publishRes, directJobs []directAttempt, err error) {
	st := s.store.WithTx(tx)
	out = make([]publishRes, len(reqs))

	var names, tenants, withVersions []string
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
	look, err := st.LookupForPublish(ctx, names, withVersions, tenants)
	if err != nil {
		return nil, nil, err
	}
	types, known := look.EventTypes, look.Tenants

	var accepted []int
	var msgs []store.Message
	var create []store.Tenant // missing tenants that accepted publishes create
	for i, r := range reqs {
		if !known[r.m.TenantID] && r.tenant == nil {
			out[i].err = fmt.Errorf("publish to tenant %s: %w", r.m.TenantID, store.ErrNotFound)
			continue
		}
		if r.check != nil {
			if err := r.check(types[r.m.EventType]); err != nil {
				out[i].err = err
				continue
			}
		}
		resolveVersion(&r.m, types[r.m.EventType])
		if !known[r.m.TenantID] {
			known[r.m.TenantID] = true // the first publish that creates it decides its name
			create = append(create, *r.tenant)
		}
		accepted = append(accepted, i)
		msgs = append(msgs, r.m)
	}
	if len(msgs) == 0 {
		return out, nil, nil
	}
	if len(create) > 0 {
		if err := st.CreateTenants(ctx, create); err != nil {
			return nil, nil, err
		}
	}
	stored, existed, err := st.InsertMessages(ctx, msgs)
	if err != nil {
		return nil, nil, err
	}

	var fresh []store.Message
	for k, i := range accepted {
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
				directJobs = append(directJobs, directAttempt{job: r.Job, args: args, work: w})
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
