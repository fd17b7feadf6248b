package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const (
	hookPathPrefix = "/hook/"
	// okPathPrefix and failPathPrefix are endpoints that are load but not
	// measured: they answer 204 and 500 and are only counted.
	okPathPrefix   = "/ok/"
	failPathPrefix = "/fail/"
)

// receiver is the webhook endpoint under test: an HTTP server on
// 127.0.0.1 that answers 204 at once and counts what arrives. Endpoint i is
// the path /hook/i. For each delivery it takes the publish time out of the
// payload (sent_ns) for the publish→receive latency, and dedupes on
// webhook-id and path, as a real receiver would, to count duplicates apart.
//
// Signatures: every delivery must carry the three webhook-* headers with a
// v1 signature (cheap); every verifyEvery-th one is verified in full with the
// Standard Webhooks library against its endpoint's secret.
//
// By default every message goes to every endpoint. A receiver made by
// newGroupedReceiver splits its endpoints into groups (tenants) of
// perMessage: message seq goes to group seq % groups only.
//
// Paths /ok/<n> and /fail/<n> answer 204 and 500, and are only counted.
type receiver struct {
	srv         *http.Server
	base        string
	endpoints   int
	perMessage  int // endpoints each message goes to: a group
	messages    int
	verifyEvery int64 // 0: no verification
	hooks       atomic.Pointer[[]*standardwebhooks.Webhook]
	arrivals    atomic.Int64
	unique      atomic.Int64
	okAnswered  atomic.Int64 // requests to /ok/<n>
	failed      atomic.Int64 // requests to /fail/<n>, answered 500
	bufs        sync.Pool

	mu          sync.Mutex
	seen        map[deliveryKey]struct{}
	got         []uint64 // bit seq*perMessage + ep%perMessage: delivered at least once
	latencies   []time.Duration
	first, last time.Time
	duplicates  int
	stray       int
	sigChecked  int
	sigFailed   int
	firstSigErr string
}

// deliveryKey is webhook-id (as 16 bytes) and endpoint: one delivery.
type deliveryKey struct {
	id [16]byte
	ep uint32
}

// newReceiver listens on 127.0.0.1 on a free port and serves until close.
// It expects up to messages messages (seq 0…messages-1) on each of
// endpoints endpoints.
func newReceiver(endpoints, messages, verifyEvery int) (*receiver, error) {
	return newGroupedReceiver(1, endpoints, messages, verifyEvery)
}

// newGroupedReceiver is a receiver of groups × perGroup endpoints, where
// message seq goes to the perGroup endpoints of group seq % groups: those
// numbered (seq % groups) × perGroup and up.
func newGroupedReceiver(groups, perGroup, messages, verifyEvery int) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("receiver listen: %w", err)
	}
	expected := perGroup * messages
	r := &receiver{
		base:        "http://" + ln.Addr().String(),
		endpoints:   groups * perGroup,
		perMessage:  perGroup,
		messages:    messages,
		verifyEvery: int64(verifyEvery),
		seen:        make(map[deliveryKey]struct{}, min(expected, 1<<20)),
		got:         make([]uint64, (expected+63)/64),
		latencies:   make([]time.Duration, 0, min(expected, 1<<20)),
		bufs:        sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
	r.srv = &http.Server{
		Handler:           r,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() { _ = r.srv.Serve(ln) }() // returns ErrServerClosed on close
	return r, nil
}

// endpointURL is the URL that endpoint i registers.
func (r *receiver) endpointURL(i int) string {
	return r.base + hookPathPrefix + strconv.Itoa(i)
}

// okURL and failURL are unmeasured endpoints that answer 204 and 500.
func (r *receiver) okURL(i int) string   { return r.base + okPathPrefix + strconv.Itoa(i) }
func (r *receiver) failURL(i int) string { return r.base + failPathPrefix + strconv.Itoa(i) }

// setSecrets gives the signing secret of each endpoint, in endpoint order.
func (r *receiver) setSecrets(secrets []string) error {
	hooks := make([]*standardwebhooks.Webhook, len(secrets))
	for i, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return fmt.Errorf("secret of endpoint %d: %w", i, err)
		}
		hooks[i] = wh
	}
	r.hooks.Store(&hooks)
	return nil
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	buf := r.bufs.Get().(*bytes.Buffer)
	defer r.bufs.Put(buf)
	buf.Reset()
	_, readErr := buf.ReadFrom(req.Body)
	switch {
	case strings.HasPrefix(req.URL.Path, failPathPrefix):
		w.WriteHeader(http.StatusInternalServerError)
		r.failed.Add(1)
		return
	case strings.HasPrefix(req.URL.Path, okPathPrefix):
		w.WriteHeader(http.StatusNoContent)
		r.okAnswered.Add(1)
		return
	}
	w.WriteHeader(http.StatusNoContent)

	ep, okPath := endpointIndex(req.URL.Path, r.endpoints)
	seq, sentNS, okBody := parsePayload(buf.Bytes())
	if req.Method != http.MethodPost || readErr != nil || !okPath || !okBody || seq < 0 || seq >= r.messages ||
		ep/r.perMessage != seq%r.groups() {
		r.mu.Lock()
		r.stray++
		r.mu.Unlock()
		return
	}

	checked, sigErr := r.checkSignature(ep, buf.Bytes(), req.Header)
	key := deliveryKey{id: idKey(req.Header.Get(standardwebhooks.HeaderWebhookID)), ep: uint32(ep)}
	latency := max(now.Sub(time.Unix(0, sentNS)), 0)
	bit := seq*r.perMessage + ep%r.perMessage

	r.mu.Lock()
	defer r.mu.Unlock()
	if checked {
		r.sigChecked++
	}
	if sigErr != nil {
		r.sigFailed++
		if r.firstSigErr == "" {
			r.firstSigErr = fmt.Sprintf("%s: %v", req.URL.Path, sigErr)
		}
	}
	if _, dup := r.seen[key]; dup {
		r.duplicates++
		return
	}
	r.seen[key] = struct{}{}
	r.got[bit/64] |= 1 << (bit % 64)
	r.latencies = append(r.latencies, latency)
	if r.first.IsZero() {
		r.first = now
	}
	if now.After(r.last) {
		r.last = now
	}
	r.unique.Add(1)
}

// checkSignature checks the webhook-* headers of every delivery and
// verifies the signature in full on a sample. checked says whether the full
// verification ran.
func (r *receiver) checkSignature(ep int, body []byte, h http.Header) (checked bool, err error) {
	if r.verifyEvery <= 0 {
		return false, nil
	}
	sig := h.Get(standardwebhooks.HeaderWebhookSignature)
	if h.Get(standardwebhooks.HeaderWebhookID) == "" || h.Get(standardwebhooks.HeaderWebhookTimestamp) == "" || !strings.HasPrefix(sig, "v1,") {
		return false, errors.New("missing webhook-id, webhook-timestamp or a v1 webhook-signature")
	}
	if r.arrivals.Add(1)%r.verifyEvery != 0 {
		return false, nil
	}
	hooks := r.hooks.Load()
	if hooks == nil || ep >= len(*hooks) {
		return true, errors.New("no secret known for this endpoint")
	}
	return true, (*hooks)[ep].Verify(body, h)
}

// endpointIndex parses /hook/<i> with 0 ≤ i < n.
func endpointIndex(path string, n int) (int, bool) {
	s, ok := strings.CutPrefix(path, hookPathPrefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i >= n {
		return 0, false
	}
	return i, true
}

// idKey packs a webhook-id into 16 bytes: the UUID itself when it is one
// (hookd's ids are UUIDv7), else a 128-bit hash of it.
func idKey(id string) [16]byte {
	if u, err := uuid.Parse(id); err == nil {
		return u
	}
	h := fnv.New128a()
	h.Write([]byte(id))
	var k [16]byte
	h.Sum(k[:0])
	return k
}

// waitFor waits until n distinct deliveries have arrived, deadline passes
// or ctx is done, and reports whether all n arrived.
func (r *receiver) waitFor(ctx context.Context, n int, deadline time.Time) bool {
	return waitUntil(ctx, deadline, 5*time.Millisecond, func() bool { return r.unique.Load() >= int64(n) })
}

// waitForAcked waits until every message acked marks as accepted has
// arrived, deadline passes or ctx is done. Unlike waitFor it cannot be
// satisfied by a message whose publish was cut short: hookd may have
// committed (and delivered) one that hookbench did not count as accepted.
func (r *receiver) waitForAcked(ctx context.Context, acked []bool, deadline time.Time) bool {
	return waitUntil(ctx, deadline, 20*time.Millisecond, func() bool {
		n, _ := r.missing(acked, 0)
		return n == 0
	})
}

// waitUntil checks done every interval until it holds, deadline passes or
// ctx is done, and reports whether it held.
func waitUntil(ctx context.Context, deadline time.Time, every time.Duration, done func() bool) bool {
	t := time.NewTicker(every)
	defer t.Stop()
	for !done() {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return done()
		case <-t.C:
		}
	}
	return true
}

// receiverStats is what the receiver saw.
type receiverStats struct {
	unique      int
	duplicates  int
	stray       int
	latencies   []time.Duration
	first, last time.Time
	sigChecked  int
	sigFailed   int
	firstSigErr string
}

// stats returns a copy of what the receiver has seen so far.
func (r *receiver) stats() receiverStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return receiverStats{
		unique:      len(r.seen),
		duplicates:  r.duplicates,
		stray:       r.stray,
		latencies:   append([]time.Duration(nil), r.latencies...),
		first:       r.first,
		last:        r.last,
		sigChecked:  r.sigChecked,
		sigFailed:   r.sigFailed,
		firstSigErr: r.firstSigErr,
	}
}

// missing counts the deliveries of acknowledged messages that have not
// arrived, and describes up to limit of them.
func (r *receiver) missing(acked []bool, limit int) (count int, sample []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for seq, ok := range acked {
		if !ok || seq >= r.messages {
			continue
		}
		first := seq % r.groups() * r.perMessage
		for k := range r.perMessage {
			ep, bit := first+k, seq*r.perMessage+k
			if r.got[bit/64]&(1<<(bit%64)) != 0 {
				continue
			}
			count++
			if len(sample) < limit {
				sample = append(sample, fmt.Sprintf("seq %d to %s%d", seq, hookPathPrefix, ep))
			}
		}
	}
	return count, sample
}

// groups is how many groups of perMessage endpoints there are.
func (r *receiver) groups() int { return r.endpoints / r.perMessage }

// close stops the server. It waits briefly for handlers in flight, then
// drops every connection: the numbers are taken, and a connection the
// sender opened but never used would otherwise hold Shutdown for 5 s.
func (r *receiver) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_ = r.srv.Shutdown(ctx) // times out on never-used connections; Close ends them
	_ = r.srv.Close()
}
