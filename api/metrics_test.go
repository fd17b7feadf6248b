package api_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/delivery"
)

// scrape reads /metrics as Prometheus would.
func (h *harness) scrape(t testing.TB) map[string]*dto.MetricFamily {
	t.Helper()
	status, _, raw := h.do(t, http.MethodGet, "/metrics", "", nil)
	require.Equal(t, http.StatusOK, status)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(raw))
	require.NoError(t, err)
	return fams
}

// series returns the metric of family name whose labels are labels, nil
// when there is none.
func series(fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		for _, l := range m.Label {
			if labels[l.GetName()] != l.GetValue() {
				continue next
			}
		}
		return m
	}
	return nil
}

// TestMetricsForOnCall: after a delivery, /metrics shows how many
// deliveries finished and how, how long publish to first attempt took,
// and each queue's depth and oldest wait.
func TestMetricsForOnCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tn := h.tenant(t)
	et := h.eventType(t, "")
	rc := newReceiver(t, nil)
	h.endpoint(t, tn, obj{"url": rc.url})
	start := time.Now()
	m := h.publish(t, tn, et, `{"n": 1}`)
	h.waitDelivery(t, tn, m["id"].(string), "succeeded")
	took := time.Since(start).Seconds()

	// A job on a queue no worker takes waits: it shows as depth and age
	// once River's scheduler has made it available (within seconds).
	_, err := h.svc.River().Insert(context.Background(), delivery.ReplayArgs{ReplayID: uuid.New()},
		&river.InsertOpts{Queue: "unworked", ScheduledAt: time.Now().Add(-90 * time.Second)})
	require.NoError(t, err)

	var fams map[string]*dto.MetricFamily
	eventually(t, func() (bool, string) { // the queue stats are also reused for up to 2 s
		fams = h.scrape(t)
		g := series(fams, "hookd_queue_jobs", map[string]string{"queue": "unworked", "state": "available"})
		return g.GetGauge().GetValue() == 1, "no available job on the queue unworked: " + fams["hookd_queue_jobs"].String()
	})

	ok := series(fams, "hookd_deliveries_finished_total", map[string]string{"status": "succeeded"})
	require.NotNil(t, ok)
	require.Equal(t, 1.0, ok.GetCounter().GetValue())
	failed := series(fams, "hookd_deliveries_finished_total", map[string]string{"status": "failed"})
	require.NotNil(t, failed, "the failed series exists before any failure")
	require.Equal(t, 0.0, failed.GetCounter().GetValue())

	lag := series(fams, "hookd_publish_to_first_attempt_seconds", map[string]string{}).GetHistogram()
	require.Equal(t, uint64(1), lag.GetSampleCount())
	require.Greater(t, lag.GetSampleSum(), 0.0)
	require.Less(t, lag.GetSampleSum(), took, "at most the time from before the publish to the delivery's success")

	for _, state := range []string{"available", "running", "scheduled", "retryable", "pending"} {
		want := 0.0
		if state == "available" {
			want = 1
		}
		g := series(fams, "hookd_queue_jobs", map[string]string{"queue": "unworked", "state": state})
		require.NotNil(t, g, state)
		require.Equal(t, want, g.GetGauge().GetValue(), state)
	}
	age := series(fams, "hookd_queue_oldest_available_age_seconds", map[string]string{"queue": "unworked"})
	require.NotNil(t, age)
	require.InDelta(t, 90, age.GetGauge().GetValue(), 10, "the job has been due for 90 s")
	deliver := series(fams, "hookd_queue_oldest_available_age_seconds", map[string]string{"queue": "deliver"})
	require.NotNil(t, deliver, "every queue is reported")
	require.Less(t, deliver.GetGauge().GetValue(), 10.0, "nothing waits long on the deliver queue")
}
