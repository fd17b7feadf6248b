package client

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	c := New("http://127.0.0.1:1", "", WithRetry(Retry{MinWait: 100 * time.Millisecond, MaxWait: time.Second}))
	for _, tc := range []struct {
		retry int
		want  time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{50, time.Second},
	} {
		for range 20 {
			got := c.backoff(tc.retry)
			require.GreaterOrEqual(t, got, tc.want*8/10, "retry %d", tc.retry)
			require.LessOrEqual(t, got, tc.want*12/10, "retry %d", tc.retry)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"3", 3 * time.Second, true},
		{"-1", 0, false},
		{"soon", 0, false},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), 0, true},
	} {
		got, ok := retryAfter(tc.in)
		require.Equal(t, tc.ok, ok, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	got, ok := retryAfter(time.Now().Add(time.Minute).UTC().Format(http.TimeFormat))
	require.True(t, ok)
	require.InDelta(t, time.Minute, got, float64(2*time.Second))
}

func TestRetryDefaults(t *testing.T) {
	t.Parallel()
	require.Equal(t, Retry{Attempts: 4, MinWait: 100 * time.Millisecond, MaxWait: 5 * time.Second}, Retry{}.withDefaults())
	require.Equal(t, Retry{Attempts: 1, MinWait: time.Second, MaxWait: time.Second},
		Retry{Attempts: 1, MinWait: time.Second, MaxWait: time.Millisecond}.withDefaults())
}
