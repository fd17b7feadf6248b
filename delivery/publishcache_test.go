package delivery_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// counter reads a counter of reg (with the label value, if any).
func counter(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if label == "" || (len(m.GetLabel()) > 0 && m.GetLabel()[0].GetValue() == label) {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no counter %s{%s}", name, label)
	return 0
}

// A publish whose tenant, endpoints and event type were read by an
// earlier one goes in one round trip, and decides as one that read them
// afresh would: an endpoint added since gets its delivery, an event type
// archived since refuses the message.
func TestCachedPublishSeesChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	f := setup(t, delivery.Config{Registry: reg})
	rc := newReceiver(t, nil)
	tn := storetest.Tenant(t, f.st, nil)
	et := storetest.EventType(t, f.st, nil)
	a := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/a"})
	paths := func(p string) int {
		n := 0
		for _, r := range rc.requests() {
			if r.path == p {
				n++
			}
		}
		return n
	}
	one := func() float64 { return counter(t, reg, "hookd_publish_batches_total", "one_round_trip") }
	two := func() float64 { return counter(t, reg, "hookd_publish_batches_total", "two_round_trips") }
	changed := func() float64 { return counter(t, reg, "hookd_publish_lookups_changed_total", "") }

	m := f.publish(t, tn.ID, et.Name, `{"n":1}`)
	f.waitStatus(t, tn.ID, m.ID, a.ID, store.DeliverySucceeded)
	require.Equal(t, []float64{0, 1}, []float64{one(), two()}, "nothing cached yet")

	m = f.publish(t, tn.ID, et.Name, `{"n":2}`)
	f.waitStatus(t, tn.ID, m.ID, a.ID, store.DeliverySucceeded)
	require.Equal(t, []float64{1, 1}, []float64{one(), two()}, "the lookups were cached")

	b := storetest.Endpoint(t, f.st, tn.ID, &storetest.EndpointOpts{URL: rc.srv.URL + "/b"})
	m = f.publish(t, tn.ID, et.Name, `{"n":3}`)
	f.waitStatus(t, tn.ID, m.ID, a.ID, store.DeliverySucceeded)
	f.waitStatus(t, tn.ID, m.ID, b.ID, store.DeliverySucceeded)
	require.Equal(t, 1.0, changed(), "the new endpoint was seen by the check")
	require.Equal(t, []float64{1, 2}, []float64{one(), two()}, "made again from fresh lookups")

	m = f.publish(t, tn.ID, et.Name, `{"n":4}`)
	f.waitStatus(t, tn.ID, m.ID, b.ID, store.DeliverySucceeded)
	require.Equal(t, 2.0, one(), "cached again, with the new endpoint")
	require.Equal(t, 4, paths("/a"))
	require.Equal(t, 2, paths("/b"))
	require.Zero(t, rc.badSig)

	_, err := f.st.Pool().Exec(ctx, `UPDATE event_types SET archived = true WHERE name = $1`, et.Name)
	require.NoError(t, err)
	errArchived := errors.New("archived")
	check := func(e store.EventType) error {
		if e.Archived {
			return errArchived
		}
		return nil
	}
	_, _, err = f.svc.Publish(ctx, store.Message{TenantID: tn.ID, EventType: et.Name, Payload: []byte(`{"n":5}`)}, check)
	require.ErrorIs(t, err, errArchived, "refused on what the event type is now")
	require.Equal(t, 2.0, changed())
	var n int
	require.NoError(t, f.st.Pool().QueryRow(ctx, `SELECT count(*) FROM messages WHERE tenant_id = $1`, tn.ID).Scan(&n))
	require.Equal(t, 4, n)
}
