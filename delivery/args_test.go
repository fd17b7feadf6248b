package delivery_test

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

// A deliver job's args carry its trigger only when it is not the default
// (scheduled), and read back as they were meant.
func TestDeliverArgsJSON(t *testing.T) {
	t.Parallel()
	id, replay := uuid.MustParse("0193a6f0-0000-7000-8000-000000000001"), uuid.MustParse("0193a6f0-0000-7000-8000-000000000002")
	for _, tc := range []struct {
		args delivery.DeliverArgs
		json string
		back string // the trigger it decodes to
	}{
		{delivery.DeliverArgs{DeliveryID: id, Trigger: store.TriggerScheduled}, `{"delivery_id":"` + id.String() + `"}`, ""},
		{delivery.DeliverArgs{DeliveryID: id}, `{"delivery_id":"` + id.String() + `"}`, ""},
		{delivery.DeliverArgs{DeliveryID: id, Trigger: store.TriggerManual}, `{"delivery_id":"` + id.String() + `","trigger":"manual"}`, store.TriggerManual},
		{delivery.DeliverArgs{DeliveryID: id, Trigger: store.TriggerBackfill, ReplayID: replay},
			`{"delivery_id":"` + id.String() + `","trigger":"backfill","replay_id":"` + replay.String() + `"}`, store.TriggerBackfill},
	} {
		b, err := json.Marshal(tc.args)
		require.NoError(t, err)
		require.JSONEq(t, tc.json, string(b))
		var back delivery.DeliverArgs
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, tc.back, back.Trigger)
		require.Equal(t, tc.args.DeliveryID, back.DeliveryID)
		require.Equal(t, tc.args.ReplayID, back.ReplayID)
	}
}
