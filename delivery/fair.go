package delivery

import (
	"sync"
	"time"
)

// Fairness across tenants when the queue is deep. River fetches a queue's
// jobs by priority, then by time. A tenant that publishes more than
// FairShare messages a second (counted by each API process over the last
// second) has its new deliveries queued at a lower priority, so that a
// tenant publishing a million messages does not make a small tenant wait
// behind all of them: the small tenant's deliveries go first, the big
// tenant's get every slot left. Retries have their own queue (QueueRetry).

// priorityHeavy is the River priority of a heavy publisher's deliveries
// (1 is River's highest and the default).
const priorityHeavy = 3

type fairness struct {
	mu     sync.Mutex
	window time.Time
	counts map[string]int
}

// priority counts n publishes of tenant and returns the River priority
// for their deliveries.
func (f *fairness) priority(tenant string, n, share int, now time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.window) >= time.Second || f.counts == nil {
		f.window, f.counts = now, map[string]int{}
	}
	f.counts[tenant] += n
	if f.counts[tenant] > share {
		return priorityHeavy
	}
	return 1
}
