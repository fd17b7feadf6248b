package main

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPercentile(t *testing.T) {
	t.Parallel()

	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	thousand := make([]time.Duration, 1000)
	for i := range thousand {
		thousand[i] = time.Duration(i+1) * time.Microsecond
	}

	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value p50", []time.Duration{7}, 50, 7},
		{"one value p99", []time.Duration{7}, 99, 7},
		{"two values p50 is the lower", []time.Duration{1, 2}, 50, 1},
		{"two values p51 is the upper", []time.Duration{1, 2}, 51, 2},
		{"1..100 p50", hundred, 50, 50 * time.Millisecond},
		{"1..100 p90", hundred, 90, 90 * time.Millisecond},
		{"1..100 p99", hundred, 99, 99 * time.Millisecond},
		{"1..100 p100", hundred, 100, 100 * time.Millisecond},
		{"1..1000 p99", thousand, 99, 990 * time.Microsecond},
		{"1..1000 p99.9", thousand, 99.9, 999 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, percentile(tt.sorted, tt.p))
		})
	}
}

func TestSummarizeSortsAndSummarizes(t *testing.T) {
	t.Parallel()

	ds := make([]time.Duration, 1000)
	for i := range ds {
		ds[i] = time.Duration(i+1) * time.Millisecond
	}
	rand.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })

	s := summarize(ds)
	require.Equal(t, 1000, s.N)
	require.Equal(t, 500*time.Millisecond, s.P50)
	require.Equal(t, 900*time.Millisecond, s.P90)
	require.Equal(t, 990*time.Millisecond, s.P99)
	require.Equal(t, 1000*time.Millisecond, s.Max)
	require.Equal(t, 500500*time.Microsecond, s.Mean)

	require.Equal(t, summary{}, summarize(nil))
}
