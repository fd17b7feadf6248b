package delivery

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/store"
)

// queueStatsTTL is how long one reading of River's tables answers scrapes:
// several Prometheus servers, or one scraping often, cost one query.
const queueStatsTTL = 2 * time.Second

// queueStatsTimeout bounds the query a scrape waits for, so that a slow
// database makes the queue series go missing rather than /metrics hang.
const queueStatsTimeout = time.Second

// waitingStates are the River job states still to run, which the depth
// gauge reports (finished jobs are in hookd_deliveries_finished_total).
var waitingStates = []string{"available", "running", "scheduled", "retryable", "pending"}

// queueCollector reports River's queues on scrape: jobs waiting by state,
// and how long the oldest available job has waited. Every node reports the
// same numbers (they are the database's), so aggregate with max().
type queueCollector struct {
	st     *store.Store
	logger *slog.Logger
	jobs   *prometheus.Desc
	age    *prometheus.Desc

	mu    sync.Mutex // held while reading, so concurrent scrapes share one query
	read  time.Time  // when stats were read; zero = never
	stats []store.QueueStats
	now   time.Time // the database's clock at that reading
	ok    bool
}

func newQueueCollector(st *store.Store, logger *slog.Logger) *queueCollector {
	return &queueCollector{
		st: st, logger: logger,
		jobs: prometheus.NewDesc("hookd_queue_jobs",
			"River jobs waiting to run, by queue and state (available, running, scheduled, retryable, pending).",
			[]string{"queue", "state"}, nil),
		age: prometheus.NewDesc("hookd_queue_oldest_available_age_seconds",
			"How long the longest-waiting available job of a queue has been due (0 when none is available).",
			[]string{"queue"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.age
}

// Collect implements prometheus.Collector.
func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	stats, now, ok := c.current()
	if !ok {
		return
	}
	for _, q := range stats {
		for _, state := range waitingStates {
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, float64(q.Counts[state]), q.Name, state)
		}
		var age float64
		if q.OldestAvailable != nil {
			age = max(now.Sub(*q.OldestAvailable).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, age, q.Name)
	}
}

// current returns the latest reading and the database's clock now, making
// a new reading when it is older than queueStatsTTL. ok is false when the
// reading failed.
func (c *queueCollector) current() ([]store.QueueStats, time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.read.IsZero() && time.Since(c.read) < queueStatsTTL {
		// The ages go on growing while a reading is reused.
		return c.stats, c.now.Add(time.Since(c.read)), c.ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), queueStatsTimeout)
	defer cancel()
	stats, now, err := c.st.QueueStats(ctx)
	c.read, c.stats, c.now, c.ok = time.Now(), stats, now, err == nil
	if err != nil {
		c.logger.Warn("metrics: queue stats", "err", err)
	}
	return c.stats, c.now, c.ok
}
