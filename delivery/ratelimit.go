package delivery

import (
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/time/rate"
)

// limiters hold each rate-limited endpoint's token bucket in this process,
// which spreads its attempts over each second; store.TakeRate holds the
// limit across all worker processes.
type limiters struct {
	mu sync.Mutex
	m  map[uuid.UUID]*rate.Limiter
}

// maxWaitInWorker is how long an attempt waits for its turn in the worker;
// a longer wait snoozes the job instead of holding a worker.
const maxWaitInWorker = 100 * time.Millisecond

// wait takes a turn for endpoint at perSecond messages per second. It
// returns 0 when the attempt may go now (having waited at most
// maxWaitInWorker), or how long to snooze the job.
func (l *limiters) wait(endpoint uuid.UUID, perSecond int) time.Duration {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[uuid.UUID]*rate.Limiter{}
	}
	lim, ok := l.m[endpoint]
	if !ok {
		lim = rate.NewLimiter(rate.Limit(perSecond), max(perSecond, 1))
		l.m[endpoint] = lim
	} else if lim.Limit() != rate.Limit(perSecond) {
		lim.SetLimit(rate.Limit(perSecond))
		lim.SetBurst(max(perSecond, 1))
	}
	l.mu.Unlock()

	r := lim.Reserve()
	d := r.Delay()
	if d <= maxWaitInWorker {
		time.Sleep(d)
		return 0
	}
	r.Cancel()
	return d
}
