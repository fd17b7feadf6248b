package delivery

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/store"
)

func TestPace(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	ptr := func(n int) *int { return &n }
	for _, tc := range []struct {
		name string
		n    int
		rate *int
		want []time.Duration
	}{
		{"no limit: all now", 3, nil, []time.Duration{0, 0, 0}},
		{"one a second", 3, ptr(1), []time.Duration{0, time.Second, 2 * time.Second}},
		{"four a second", 5, ptr(4), []time.Duration{0, 250 * time.Millisecond, 500 * time.Millisecond, 750 * time.Millisecond, time.Second}},
		{"none", 0, ptr(10), []time.Duration{}},
	} {
		got := pace(start, tc.n, tc.rate)
		require.Len(t, got, len(tc.want), tc.name)
		for i, d := range tc.want {
			require.Equal(t, start.Add(d), got[i], "%s: delivery %d", tc.name, i)
		}
	}
}

func TestBackfillFilter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		filters         []string
		exact, prefixes []string
	}{
		{"all", nil, nil, nil},
		{"star wins", []string{"invoice.paid", "*"}, nil, nil},
		{"names and prefixes", []string{"invoice.*", "user.created", "a.b.*"}, []string{"user.created"}, []string{"invoice.", "a.b."}},
	} {
		f := backfillFilter(store.Endpoint{TenantID: "t", EventTypes: tc.filters, Channels: []string{"eu"}}, time.Time{})
		require.Equal(t, tc.exact, f.EventTypes, tc.name)
		require.Equal(t, tc.prefixes, f.Prefixes, tc.name)
		require.Equal(t, []string{"eu"}, f.Channels, tc.name)
		require.Equal(t, "t", f.TenantID, tc.name)
	}
}
