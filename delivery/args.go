package delivery

import (
	"encoding/json"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/hookd/hookd/store"
)

// Queues hookd's jobs run on.
const (
	QueueFanout  = "fanout"
	QueueDeliver = "deliver"
	// QueueRetry runs the retries of deliveries, apart from first attempts.
	QueueRetry  = "deliver_retry"
	QueueReplay = "replay"
	// QueueMaintenance runs clean-ups, one at a time.
	QueueMaintenance = "maintenance"
)

// FanoutArgs asks for one message to be fanned out to its tenant's
// endpoints. Args carry ids only: River shows them in its UI and logs.
type FanoutArgs struct {
	MessageID uuid.UUID `json:"message_id"`
	TenantID  string    `json:"tenant_id"`
}

// Kind is never renamed: jobs already queued carry it.
func (FanoutArgs) Kind() string { return "hookd.fanout" }

// InsertOpts puts fan-outs on their own queue.
func (FanoutArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFanout, MaxAttempts: 25}
}

// DeliverArgs asks for one attempt of a delivery. Retries on hookd's
// schedule snooze the same job; Trigger is "manual" for re-sends.
type DeliverArgs struct {
	DeliveryID uuid.UUID `json:"delivery_id"`
	Trigger    string    `json:"trigger,omitempty"`
	ReplayID   uuid.UUID `json:"replay_id,omitzero"`
}

// Kind is never renamed: jobs already queued carry it.
func (DeliverArgs) Kind() string { return "hookd.deliver" }

// MarshalJSON leaves a scheduled trigger out: it is the default (an empty
// trigger is read as scheduled), and River indexes its jobs' args (a GIN
// index), where every key and value is an entry written with each job and
// again with each update of its row: without the pair, an insert of 100
// jobs runs about a tenth faster.
func (a DeliverArgs) MarshalJSON() ([]byte, error) {
	type plain DeliverArgs // without this method
	p := plain(a)
	if p.Trigger == store.TriggerScheduled {
		p.Trigger = ""
	}
	return json.Marshal(p)
}

// InsertOpts: MaxAttempts only bounds infrastructure failures (the database
// gone mid-attempt); the receiver's failures follow hookd's own schedule.
func (DeliverArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueDeliver, MaxAttempts: 10}
}

// ReplayArgs asks for a bulk replay to enqueue its deliveries.
type ReplayArgs struct {
	ReplayID uuid.UUID `json:"replay_id"`
}

// Kind is never renamed: jobs already queued carry it.
func (ReplayArgs) Kind() string { return "hookd.replay" }

// InsertOpts puts replays on their own queue.
func (ReplayArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueReplay, MaxAttempts: 25}
}

type riverDriver = riverpgxv5.Driver
