package delivery_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

func TestValidatorChecksVersions(t *testing.T) {
	t.Parallel()
	v := &delivery.Validator{MaxPayloadBytes: 64}
	v1 := []byte(`{"required": ["amount"], "properties": {"amount": {"type": "number"}}}`)
	v2 := []byte(`{"required": ["cents"], "properties": {"cents": {"type": "integer"}}}`)
	et := store.EventType{Name: "invoice.paid", Version: 2, Schema: v2, Versions: []store.EventTypeVersion{
		{Version: 1, Schema: v1}, {Version: 2, Schema: v2}}}
	base := delivery.Message{TenantID: "acme", EventType: "invoice.paid"}

	for _, tc := range []struct {
		name     string
		version  int
		payload  string
		payloads map[int]string
		fields   []string // nil: accepted
		tooLarge bool
	}{
		{name: "the latest", payload: `{"cents": 1}`},
		{name: "v1 by name", version: 1, payload: `{"amount": 1.5}`},
		{name: "the latest by name", version: 2, payload: `{"cents": 1}`},
		{name: "v1 off its schema", version: 1, payload: `{"cents": 1}`, fields: []string{"payload"}},
		{name: "no such version", version: 3, payload: `{}`, fields: []string{"version"}},
		{name: "a version out of range", version: -1, payload: `{}`, fields: []string{"version"}},
		{name: "both versions", payloads: map[int]string{1: `{"amount": 1}`, 2: `{"cents": 1}`}},
		{name: "v1 as the message's", version: 1, payloads: map[int]string{1: `{"amount": 1}`, 2: `{"cents": 1}`}},
		{name: "one payload off its schema", payloads: map[int]string{1: `{"amount": "x"}`, 2: `{"cents": 1}`},
			fields: []string{"payloads.1/amount"}},
		{name: "without the latest", payloads: map[int]string{1: `{"amount": 1}`}, fields: []string{"payloads"}},
		{name: "a version it lacks", payloads: map[int]string{2: `{"cents": 1}`, 5: `{}`}, fields: []string{"payloads.5"}},
		{name: "payload and payloads", payload: `{"cents": 1}`, payloads: map[int]string{2: `{"cents": 1}`}, fields: []string{"payload"}},
		{name: "not an object", payloads: map[int]string{2: `[]`}, fields: []string{"payloads.2"}},
		{name: "no version number", payloads: map[int]string{0: `{}`, 2: `{"cents": 1}`}, fields: []string{"payloads"}},
		{name: "too many", payloads: map[int]string{1: `{}`, 2: `{}`, 3: `{}`, 4: `{}`, 5: `{}`}, fields: []string{"payloads"}},
		{name: "one too large", payloads: map[int]string{2: `{"pad": "` + strings.Repeat("x", 64) + `"}`},
			fields: []string{"payloads.2"}, tooLarge: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := base
			m.Version = tc.version
			if tc.payload != "" {
				m.Payload = []byte(tc.payload)
			}
			if tc.payloads != nil {
				m.Payloads = map[int][]byte{}
				for k, p := range tc.payloads {
					m.Payloads[k] = []byte(p)
				}
			}
			err := v.Check(m)
			if err == nil {
				err = v.CheckEventType(et, m)
			}
			if tc.fields == nil {
				require.NoError(t, err)
				return
			}
			ie, ok := errors.AsType[*delivery.InvalidError](err)
			require.True(t, ok, "an *InvalidError, not %v", err)
			var fields []string
			for _, e := range ie.Errors {
				fields = append(fields, e.Field)
			}
			require.Equal(t, tc.fields, fields, "detail: %s", ie.Detail)
			require.Equal(t, tc.tooLarge, ie.TooLarge)
		})
	}
}
