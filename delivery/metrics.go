package delivery

import (
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/store"
)

// metrics are delivery's Prometheus series.
type metrics struct {
	attempts *prometheus.CounterVec
	duration prometheus.Histogram
	rescued  prometheus.Counter
	stranded prometheus.Counter
	// finished counts deliveries by the state their last attempt left
	// them in; firstAttempt is how long after publishing each delivery's
	// first attempt ended.
	finished     *prometheus.CounterVec
	firstAttempt prometheus.Histogram
	// batches counts committed publish batches by how they went
	// (publish.go); changed counts cached lookups found changed.
	batches *prometheus.CounterVec
	batch   map[string]prometheus.Counter // batches' children by path
	changed prometheus.Counter
}

// The ways a publish batch goes to Postgres (hookd_publish_batches_total).
const (
	pathOneRoundTrip  = "one_round_trip"  // cached lookups, checked in the writes' pipeline
	pathTwoRoundTrips = "two_round_trips" // lookups, then the writes with COMMIT
	pathTransaction   = "transaction"     // lookups, then statement by statement
)

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_delivery_attempts_total",
			Help: "Delivery attempts by trigger, outcome and error class (\"\" for success).",
		}, []string{"trigger", "status", "error_class"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookd_delivery_attempt_duration_seconds",
			Help:    "How long receivers took to answer an attempt.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 15},
		}),
		rescued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_jobs_rescued_total",
			Help: "Jobs given back to the queue because the worker running them died or lost track of them.",
		}),
		stranded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_sweep_stranded_total",
			Help: "Pending deliveries the sweep found without a job and enqueued (0 in normal operation).",
		}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_deliveries_finished_total",
			Help: "Deliveries an attempt finished, by final state: succeeded, or failed (retries exhausted, or the receiver refused for good).",
		}, []string{"status"}),
		firstAttempt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "hookd_publish_to_first_attempt_seconds",
			Help:    "From a message's publish to the end of the first attempt of each of its deliveries.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hookd_publish_batches_total",
			Help: "Committed batches of publishes by how they went to Postgres: one_round_trip (cached lookups), two_round_trips, transaction.",
		}, []string{"path"}),
		changed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_publish_lookups_changed_total",
			Help: "Publishes of cached lookups whose tenant, endpoints or event types had changed, made again from fresh lookups.",
		}),
	}
	m.batch = map[string]prometheus.Counter{}
	for _, path := range []string{pathOneRoundTrip, pathTwoRoundTrips, pathTransaction} {
		m.batch[path] = m.batches.WithLabelValues(path)
	}
	for _, status := range []string{store.DeliverySucceeded, store.DeliveryFailed} {
		m.finished.WithLabelValues(status) // present at 0 from the start
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.duration, m.rescued, m.stranded, m.finished, m.firstAttempt, m.batches, m.changed)
	}
	return m
}

// delivery counts what a recorded attempt did to its delivery d (as loaded
// before the attempt) of a message published at published.
func (m *metrics) delivery(rec store.AttemptRecord, d store.Delivery, published time.Time, replay uuid.UUID) {
	if rec.Status == store.DeliverySucceeded || rec.Status == store.DeliveryFailed {
		m.finished.WithLabelValues(rec.Status).Inc()
	}
	// Re-sends and replays come long after the publish by design.
	if d.Attempts == 0 && rec.Attempt.Trigger == store.TriggerScheduled && replay == uuid.Nil {
		m.firstAttempt.Observe(max(time.Since(published), 0).Seconds())
	}
}
