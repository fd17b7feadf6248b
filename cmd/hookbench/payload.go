package main

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// eventType is the event type every bench message is published as.
const eventType = "bench.event"

// maxPayloadBytes keeps payloads under hookd's default 1 MiB publish limit.
const maxPayloadBytes = 1_000_000

const padChunk = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

// appendPublishBody appends the JSON body of POST /tenants/{t}/messages for
// message seq, sent (or scheduled) at sentNS Unix nanoseconds.
func appendPublishBody(dst []byte, seq int, sentNS int64, payloadBytes int) []byte {
	dst = append(dst, `{"event_type":"`+eventType+`","payload":`...)
	dst = appendPayload(dst, seq, sentNS, payloadBytes)
	return append(dst, '}')
}

// appendPayload appends the message payload
// {"seq":N,"sent_ns":T,"pad":"xx…"}, padded to size bytes when size is
// larger than the fields alone.
func appendPayload(dst []byte, seq int, sentNS int64, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendInt(dst, int64(seq), 10)
	dst = append(dst, `,"sent_ns":`...)
	dst = strconv.AppendInt(dst, sentNS, 10)
	dst = append(dst, `,"pad":"`...)
	for pad := size - (len(dst) - start) - len(`"}`); pad > 0; {
		n := min(pad, len(padChunk))
		dst = append(dst, padChunk[:n]...)
		pad -= n
	}
	return append(dst, `"}`...)
}

// parsePayload finds seq and sent_ns in a delivered payload. Deliveries carry
// the exact bytes that were published, so a scan for the two keys is enough;
// anything else falls back to decoding the JSON.
func parsePayload(body []byte) (seq int, sentNS int64, ok bool) {
	s, okSeq := scanInt(body, `"seq":`)
	t, okSent := scanInt(body, `"sent_ns":`)
	if okSeq && okSent {
		return int(s), t, true
	}
	var p struct {
		Seq    *int   `json:"seq"`
		SentNS *int64 `json:"sent_ns"`
	}
	if err := json.Unmarshal(body, &p); err != nil || p.Seq == nil || p.SentNS == nil {
		return 0, 0, false
	}
	return *p.Seq, *p.SentNS, true
}

// scanInt reads the non-negative integer right after the first key in b.
func scanInt(b []byte, key string) (int64, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	if n == 0 || n > 19 {
		return 0, false
	}
	v, err := strconv.ParseInt(string(b[:n]), 10, 64)
	return v, err == nil
}
