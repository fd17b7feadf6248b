package main

import (
	"math"
	"slices"
	"time"
)

// summary is the distribution of a set of latencies.
type summary struct {
	N    int
	P50  time.Duration
	P90  time.Duration
	P99  time.Duration
	Max  time.Duration
	Mean time.Duration
}

// summarize sorts ds in place and returns its percentiles.
func summarize(ds []time.Duration) summary {
	if len(ds) == 0 {
		return summary{}
	}
	slices.Sort(ds)
	var sum float64
	for _, d := range ds {
		sum += float64(d)
	}
	return summary{
		N:    len(ds),
		P50:  percentile(ds, 50),
		P90:  percentile(ds, 90),
		P99:  percentile(ds, 99),
		Max:  ds[len(ds)-1],
		Mean: time.Duration(sum / float64(len(ds))),
	}
}

// percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values at
// or below it. It is 0 for an empty slice.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p/100*float64(n) - 1e-9)) // 99.9% of 1000 is 999, not 999.0000000000001

	return sorted[min(max(rank-1, 0), n-1)]
}
