package delivery

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are delivery's Prometheus series.
type metrics struct {
	attempts *prometheus.CounterVec
	duration prometheus.Histogram
	rescued  prometheus.Counter
	stranded prometheus.Counter
}

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
	}
	if reg != nil {
		reg.MustRegister(m.attempts, m.duration, m.rescued, m.stranded)
	}
	return m
}
