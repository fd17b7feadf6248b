package api

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// What the API stores is bounded; README's "Limits" lists these. Lengths
// are in bytes of UTF-8.
const (
	maxNameLen        = 128      // tenant ids, event type names, channels
	maxTenantName     = 256      // a tenant's display name
	maxDescription    = 2000     // endpoint and event type descriptions
	maxURLLen         = 2048     // an endpoint's URL
	maxDisabledReason = 500      // why an endpoint is disabled
	maxFilters        = 100      // event type filters of an endpoint
	maxFilterLen      = 130      // one filter: a name and ".*"
	maxChannels       = 100      // channels of an endpoint or a message
	maxMetadataBytes  = 16 << 10 // a tenant's or an endpoint's metadata, as sent
	maxIdempotencyKey = 256
	maxRateLimit      = 10000 // deliveries per second to one endpoint

	defaultMaxEndpoints = 100 // per tenant (Config.MaxEndpointsPerTenant)
	defaultTestSends    = 10  // per endpoint per minute (Config.TestSendsPerMinute)
)

// sendLimiter bounds how many test events one endpoint gets a minute. It
// counts in this process: with N API nodes an endpoint may get up to N
// times the limit.
type sendLimiter struct {
	mu    sync.Mutex
	limit int
	sent  map[uuid.UUID][]time.Time // send times within the last minute, oldest first
}

func newSendLimiter(limit int) *sendLimiter {
	return &sendLimiter{limit: limit, sent: map[uuid.UUID][]time.Time{}}
}

// take reserves a send to id at now. When the endpoint had its limit in
// the last minute it returns false and how long until a send is free.
func (l *sendLimiter) take(id uuid.UUID, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.sent) > 10000 {
		for k, ts := range l.sent {
			if len(ts) == 0 || now.Sub(ts[len(ts)-1]) >= time.Minute {
				delete(l.sent, k)
			}
		}
	}
	ts := l.sent[id]
	for len(ts) > 0 && now.Sub(ts[0]) >= time.Minute {
		ts = ts[1:]
	}
	if len(ts) >= l.limit {
		l.sent[id] = ts
		return false, ts[0].Add(time.Minute).Sub(now)
	}
	l.sent[id] = append(ts, now)
	return true, 0
}

// give returns a send reserved at t that did not happen.
func (l *sendLimiter) give(id uuid.UUID, t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.sent[id]
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Equal(t) {
			l.sent[id] = append(ts[:i:i], ts[i+1:]...)
			return
		}
	}
}
