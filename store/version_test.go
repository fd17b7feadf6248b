package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
	"github.com/hookd/hookd/store/storetest"
)

// TestEventTypeVersionsAreWritten: the latest version and the event type's
// own schema and example stay one, whether the caller knows of versions or
// not; versions left out are kept.
func TestEventTypeVersionsAreWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)

	// A caller that knows nothing of versions makes version 1.
	e, err := st.CreateEventType(ctx, store.EventType{Name: "order.paid", Schema: []byte(`{"type": "object"}`)})
	require.NoError(t, err)
	require.Equal(t, 1, e.Version)
	require.Len(t, e.Versions, 1)
	require.Equal(t, `{"type": "object"}`, string(e.Versions[0].Schema))

	// Add version 2 and say what changed in 1.
	dep := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	e.Versions = []store.EventTypeVersion{
		{Version: 1, Schema: e.Versions[0].Schema, Changes: "the first", DeprecatedAt: &dep},
		{Version: 2, Schema: []byte(`{"required": ["id"]}`), Example: []byte(`{"id": 1}`)},
	}
	e.Version, e.Schema, e.Example = 2, []byte(`{"required": ["id"]}`), []byte(`{"id": 1}`)
	e, err = st.UpdateEventType(ctx, e)
	require.NoError(t, err)
	require.Equal(t, 2, e.Version)
	require.Equal(t, `{"required": ["id"]}`, string(e.Schema))
	require.Len(t, e.Versions, 2)
	require.Equal(t, "the first", e.Versions[0].Changes)
	require.True(t, dep.Equal(*e.Versions[0].DeprecatedAt))

	// Without versions again (as a caller unaware of them writes): the
	// schema becomes the latest's, and the rest is kept.
	got, err := st.GetEventType(ctx, "order.paid")
	require.NoError(t, err)
	got.Versions = nil
	got.Schema = []byte(`{"required": ["id", "at"]}`)
	_, err = st.UpdateEventType(ctx, got)
	require.NoError(t, err)
	got, err = st.GetEventType(ctx, "order.paid")
	require.NoError(t, err)
	require.Len(t, got.Versions, 2)
	v1, _ := got.VersionOf(1)
	v2, _ := got.VersionOf(2)
	require.Equal(t, "the first", v1.Changes, "kept")
	require.Equal(t, `{"required": ["id", "at"]}`, string(v2.Schema))
	require.Equal(t, `{"id": 1}`, string(v2.Example), "kept")

	// Versions named win for the others; the top-level schema for the latest.
	got.Versions = []store.EventTypeVersion{{Version: 2, Schema: []byte(`{"ignored": true}`), Changes: "ids"}}
	got, err = st.UpdateEventType(ctx, got)
	require.NoError(t, err)
	require.Len(t, got.Versions, 2, "version 1, left out, is kept")
	require.Equal(t, `{"required": ["id", "at"]}`, string(got.Versions[1].Schema))
	require.Equal(t, "ids", got.Versions[1].Changes)
}

// TestLoadWorkChoosesThePayload: a delivery sends the message's payload
// unless its endpoint pins another version (whose payload is then read),
// or the delivery names one (a test event).
func TestLoadWorkChoosesThePayload(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	pinned := storetest.Endpoint(t, st, tn.ID, nil)
	plain := storetest.Endpoint(t, st, tn.ID, nil)
	pinned.VersionPins = map[string]int{"invoice.paid": 1, "other.type": 7}
	pinned, err := st.UpdateEndpoint(ctx, pinned)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"invoice.paid": 1, "other.type": 7}, pinned.VersionPins)

	m, _, err := st.InsertMessage(ctx, store.Message{TenantID: tn.ID, EventType: "invoice.paid", Version: 2,
		Payload: []byte(`{"v": 2}`), Payloads: map[int][]byte{1: []byte(`{"v":  1}`)}})
	require.NoError(t, err)
	require.Equal(t, 2, m.Version)
	require.Equal(t, map[int][]byte{1: []byte(`{"v":  1}`)}, m.Payloads)
	alone, _, err := st.InsertMessage(ctx, store.Message{TenantID: tn.ID, EventType: "invoice.paid", Version: 2,
		Payload: []byte(`{"only": 2}`)})
	require.NoError(t, err)

	work := func(message, endpoint uuid.UUID) store.Work {
		t.Helper()
		d := storetest.Delivery(t, st, tn.ID, message, endpoint)
		w, err := st.LoadWork(ctx, []uuid.UUID{d.ID})
		require.NoError(t, err)
		return w[d.ID]
	}
	w := work(m.ID, pinned.ID)
	require.Equal(t, 1, w.Version)
	require.Equal(t, `{"v":  1}`, string(w.Payload))
	require.False(t, w.VersionMissing)
	w = work(m.ID, plain.ID)
	require.Equal(t, 2, w.Version)
	require.Equal(t, `{"v": 2}`, string(w.Payload))
	w = work(alone.ID, pinned.ID)
	require.True(t, w.VersionMissing, "the message has no payload of version 1")
	require.Nil(t, w.Payload)

	// A test event of version 2 goes to the pinned endpoint in version 2.
	test, _, err := st.InsertMessage(ctx, store.Message{TenantID: tn.ID, EventType: "invoice.paid", Version: 2,
		Payload: []byte(`{"test": 2}`)})
	require.NoError(t, err)
	d := storetest.Delivery(t, st, tn.ID, test.ID, pinned.ID)
	require.NoError(t, st.SetDeliveryVersion(ctx, test.ID, 2))
	ws, err := st.LoadWork(ctx, []uuid.UUID{d.ID})
	require.NoError(t, err)
	require.Equal(t, 2, ws[d.ID].Version)
	require.Equal(t, `{"test": 2}`, string(ws[d.ID].Payload))

	payloads, err := st.MessagePayloads(ctx, m.ID)
	require.NoError(t, err)
	require.Equal(t, map[int][]byte{1: []byte(`{"v":  1}`)}, payloads)
}

// TestPayloadsGoWithTheirMessage: the payloads of other versions are
// deleted with their message, by retention and with the tenant.
func TestPayloadsGoWithTheirMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Store(t)
	tn := storetest.Tenant(t, st, nil)
	old, _, err := st.InsertMessage(ctx, store.Message{ID: idAt(time.Now().Add(-40 * 24 * time.Hour)), TenantID: tn.ID,
		EventType: "a", Version: 2, Payload: []byte(`{}`), Payloads: map[int][]byte{1: []byte(`{}`)}})
	require.NoError(t, err)
	recent, _, err := st.InsertMessage(ctx, store.Message{TenantID: tn.ID, EventType: "a", Version: 2, Payload: []byte(`{}`),
		Payloads: map[int][]byte{1: []byte(`{"recent": true}`)}})
	require.NoError(t, err)

	for {
		n, err := st.DeleteExpired(ctx, time.Now().Add(-30*24*time.Hour), 100)
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	gone, err := st.MessagePayloads(ctx, old.ID)
	require.NoError(t, err)
	require.Empty(t, gone)
	kept, err := st.MessagePayloads(ctx, recent.ID)
	require.NoError(t, err)
	require.Len(t, kept, 1)

	require.NoError(t, st.DeleteTenant(ctx, tn.ID))
	for {
		n, err := st.PurgeTenant(ctx, tn.ID, store.NewID(), 100)
		require.NoError(t, err)
		if n == 0 {
			break
		}
	}
	kept, err = st.MessagePayloads(ctx, recent.ID)
	require.NoError(t, err)
	require.Empty(t, kept)
}
