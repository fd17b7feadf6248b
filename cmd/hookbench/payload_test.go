package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPublishBody(t *testing.T) {
	t.Parallel()

	for _, size := range []int{0, 10, 64, 256, 1000, 4096} {
		body := appendPublishBody(nil, 12345, 1_700_000_000_123_456_789, size)

		var msg struct {
			EventType string          `json:"event_type"`
			Payload   json.RawMessage `json:"payload"`
		}
		require.NoError(t, json.Unmarshal(body, &msg), "size %d: %s", size, body)
		require.Equal(t, eventType, msg.EventType)
		if size >= 64 {
			require.Len(t, msg.Payload, size, "the payload is padded to --payload-bytes")
		}

		seq, sent, ok := parsePayload(msg.Payload)
		require.True(t, ok)
		require.Equal(t, 12345, seq)
		require.Equal(t, int64(1_700_000_000_123_456_789), sent)
	}
}

func TestParsePayload(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		body   string
		seq    int
		sentNS int64
		ok     bool
	}{
		{"as published", `{"seq":7,"sent_ns":99,"pad":"xx"}`, 7, 99, true},
		{"reformatted falls back to JSON", `{ "pad": "x", "sent_ns" : 99, "seq" : 7 }`, 7, 99, true},
		{"missing sent_ns", `{"seq":7}`, 0, 0, false},
		{"not JSON", `seq=7`, 0, 0, false},
		{"negative falls back to JSON", `{"seq":-1,"sent_ns":5}`, -1, 5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seq, sent, ok := parsePayload([]byte(tt.body))
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.seq, seq)
			require.Equal(t, tt.sentNS, sent)
		})
	}
}
