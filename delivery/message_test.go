package delivery_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

func TestValidatorCheck(t *testing.T) {
	t.Parallel()
	v := &delivery.Validator{MaxPayloadBytes: 64}
	ok := delivery.Message{TenantID: "acme", EventType: "order.created", Payload: []byte(` {"id": 1}`),
		Channels: []string{"eu", "orders:v1"}, IdempotencyKey: "order-1"}
	require.NoError(t, v.Check(ok))

	for _, tc := range []struct {
		name      string
		change    func(m *delivery.Message)
		fields    []string
		eventType bool // errors.Is ErrEventType
		tooLarge  bool
	}{
		{"no event type", func(m *delivery.Message) { m.EventType = "" }, []string{"event_type"}, false, false},
		{"event type no one can name", func(m *delivery.Message) { m.EventType = "order created\x00" }, []string{"event_type"}, true, false},
		{"event type too long", func(m *delivery.Message) { m.EventType = strings.Repeat("a", 129) }, []string{"event_type"}, true, false},
		{"no payload", func(m *delivery.Message) { m.Payload = nil }, []string{"payload"}, false, false},
		{"null payload", func(m *delivery.Message) { m.Payload = []byte("null") }, []string{"payload"}, false, false},
		{"array payload", func(m *delivery.Message) { m.Payload = []byte(`[1]`) }, []string{"payload"}, false, false},
		{"broken JSON", func(m *delivery.Message) { m.Payload = []byte(`{"id": `) }, []string{"payload"}, false, false},
		{"payload too large", func(m *delivery.Message) { m.Payload = []byte(`{"pad": "` + strings.Repeat("x", 64) + `"}`) }, []string{"payload"}, false, true},
		{"bad channel", func(m *delivery.Message) { m.Channels = []string{"eu", "a b"} }, []string{"channels"}, false, false},
		{"key too long", func(m *delivery.Message) { m.IdempotencyKey = strings.Repeat("k", 257) }, []string{"idempotency_key"}, false, false},
		{"key with NUL", func(m *delivery.Message) { m.IdempotencyKey = "a\x00b" }, []string{"idempotency_key"}, false, false},
		{"key not UTF-8", func(m *delivery.Message) { m.IdempotencyKey = "\xff" }, []string{"idempotency_key"}, false, false},
		{"everything at once", func(m *delivery.Message) { m.EventType, m.Payload, m.Channels = "", []byte(`1`), []string{""} },
			[]string{"event_type", "payload", "channels"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := ok
			tc.change(&m)
			err := v.Check(m)
			ie, isInvalid := errors.AsType[*delivery.InvalidError](err)
			require.True(t, isInvalid, "an *InvalidError, not %v", err)
			var fields []string
			for _, e := range ie.Errors {
				fields = append(fields, e.Field)
				require.Contains(t, ie.Detail, e.Message, "the detail says each fault")
			}
			require.Equal(t, tc.fields, fields)
			require.Equal(t, tc.eventType, errors.Is(err, delivery.ErrEventType))
			require.Equal(t, tc.tooLarge, ie.TooLarge)
		})
	}
}

func TestValidatorCheckEventType(t *testing.T) {
	t.Parallel()
	v := &delivery.Validator{}
	schema := []byte(`{"type": "object", "required": ["amount"], "properties": {"amount": {"type": "integer"}}}`)
	typed := store.EventType{Name: "invoice.paid", Schema: schema}
	msg := func(payload string) delivery.Message {
		return delivery.Message{TenantID: "acme", EventType: "invoice.paid", Payload: []byte(payload)}
	}

	require.NoError(t, v.CheckEventType(typed, msg(`{"amount": 10}`)))
	require.NoError(t, v.CheckEventType(store.EventType{Name: "invoice.paid"}, msg(`{"anything": true}`)), "no schema")

	err := v.CheckEventType(store.EventType{}, msg(`{}`))
	require.ErrorIs(t, err, delivery.ErrEventType)
	require.ErrorContains(t, err, "invoice.paid is not a known event type")
	err = v.CheckEventType(store.EventType{Name: "invoice.paid", Archived: true}, msg(`{}`))
	require.ErrorIs(t, err, delivery.ErrEventType)
	require.ErrorContains(t, err, "invoice.paid is archived")

	for _, payload := range []string{`{"amount": "ten"}`, `{}`} {
		err := v.CheckEventType(typed, msg(payload))
		ie, ok := errors.AsType[*delivery.InvalidError](err)
		require.True(t, ok, payload)
		require.NotErrorIs(t, err, delivery.ErrEventType, "the payload is at fault, not the event type")
		require.True(t, strings.HasPrefix(ie.Detail, "the payload does not match the schema of invoice.paid: "), ie.Detail)
		require.NotEmpty(t, ie.Errors)
		for _, e := range ie.Errors {
			require.True(t, strings.HasPrefix(e.Field, "payload"), e.Field)
		}
		require.Contains(t, ie.Detail, "amount")
	}

	// A changed schema is compiled again: the cache keys on its bytes.
	loose := store.EventType{Name: "invoice.paid", Schema: []byte(`{"type": "object"}`)}
	require.NoError(t, v.CheckEventType(loose, msg(`{}`)))
	require.Error(t, v.CheckEventType(typed, msg(`{}`)))
}
