package main

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestOpenLoopCount(t *testing.T) {
	t.Parallel()

	tests := []struct {
		rate float64
		d    time.Duration
		want int
	}{
		{200, 20 * time.Second, 4000},
		{500, 20 * time.Second, 10000},
		{1000, 200 * time.Millisecond, 200},
		{3, time.Second, 3},
		{0.5, 3 * time.Second, 2}, // at 0s and 2s
		{0.1, 5 * time.Second, 1},
		{0, time.Second, 0},
		{100, 0, 0},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, openLoopCount(tt.rate, tt.d), "rate %v for %v", tt.rate, tt.d)
	}
}

func TestScheduledOffset(t *testing.T) {
	t.Parallel()

	require.Equal(t, time.Duration(0), scheduledOffset(0, 200))
	require.Equal(t, 5*time.Millisecond, scheduledOffset(1, 200))
	require.Equal(t, time.Second, scheduledOffset(200, 200))
	require.Equal(t, 19995*time.Millisecond, scheduledOffset(3999, 200))
	require.Equal(t, 333333333*time.Nanosecond, scheduledOffset(1, 3))
	require.Equal(t, 10*time.Minute, scheduledOffset(5_000_000, 5_000_000.0/600), "no drift over a long run")

	// Offsets never go backwards, even at high rates.
	prev := time.Duration(-1)
	for i := range 100_000 {
		off := scheduledOffset(i, 8333.3)
		require.Greater(t, off, prev)
		prev = off
	}
}

// A slow server must show up as latency in an open loop: sends keep their
// scheduled times, and latency counts from the schedule, not from the moment
// a busy sender got around to the send.
func TestOpenLoopMeasuresFromSchedule(t *testing.T) {
	t.Parallel()

	var (
		mu    sync.Mutex
		sents = map[int]int64{}
	)
	publish := func(_ context.Context, seq int, sentNS int64) error {
		mu.Lock()
		sents[seq] = sentNS
		mu.Unlock()
		time.Sleep(2 * time.Millisecond) // serves 500/s at concurrency 1
		return nil
	}
	p := plan{openLoop: true, concurrency: 1, rate: 1000, duration: 50 * time.Millisecond}
	res := runLoad(context.Background(), p, publish, nil)

	require.Equal(t, 50, res.ok)
	require.Zero(t, res.notSent)
	require.NoError(t, res.stopped)
	require.Len(t, res.latencies, 50)
	for i := range 50 {
		require.Equal(t, int64(scheduledOffset(i, 1000)), sents[i]-sents[0], "send %d is stamped with its scheduled time", i)
	}
	s := summarize(res.latencies)
	require.GreaterOrEqual(t, s.Max, 40*time.Millisecond, "the backlog (50×2ms of work in 50ms at 1/ms) is in the latency")
	require.GreaterOrEqual(t, s.P50, 2*time.Millisecond)
}

func TestClosedLoopPublishesEachMessageOnce(t *testing.T) {
	t.Parallel()

	var (
		mu   sync.Mutex
		seen = map[int]int{}
	)
	publish := func(_ context.Context, seq int, _ int64) error {
		mu.Lock()
		seen[seq]++
		mu.Unlock()
		return nil
	}
	p := plan{concurrency: 8, messages: 1000, duration: time.Minute}
	res := runLoad(context.Background(), p, publish, nil)

	require.Equal(t, 1000, res.ok)
	require.Zero(t, res.failed)
	require.Zero(t, res.notSent)
	require.Len(t, seen, 1000)
	for seq, n := range seen {
		require.Equal(t, 1, n, "seq %d", seq)
		require.True(t, res.acked[seq])
	}
	require.False(t, res.end.Before(res.start))
}

func TestLoadStopsAfterConsecutiveErrors(t *testing.T) {
	t.Parallel()

	boom := errors.New("boom")
	publish := func(context.Context, int, int64) error { return boom }
	p := plan{concurrency: 4, messages: 100_000, duration: time.Minute}
	res := runLoad(context.Background(), p, publish, nil)

	require.Zero(t, res.ok)
	require.GreaterOrEqual(t, res.failed, maxConsecutiveErrors)
	require.Less(t, res.failed, 1000)
	require.Positive(t, res.notSent)
	require.ErrorIs(t, res.stopped, boom)
	require.ErrorIs(t, res.firstErr, boom)
}

func TestClosedLoopTimeLimit(t *testing.T) {
	t.Parallel()

	publish := func(context.Context, int, int64) error {
		time.Sleep(time.Millisecond)
		return nil
	}
	p := plan{concurrency: 2, messages: 1_000_000, duration: 50 * time.Millisecond}
	res := runLoad(context.Background(), p, publish, nil)

	require.Positive(t, res.ok)
	require.Equal(t, 1_000_000, res.ok+res.notSent)
	require.ErrorContains(t, res.stopped, "time limit")
	require.Less(t, res.end.Sub(res.start), time.Second)
}

func TestStoppedRunCountsCutOffSendsAsNotSent(t *testing.T) {
	t.Parallel()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	publish := func(ctx context.Context, seq int, _ int64) error {
		if seq < 10 {
			return nil
		}
		<-ctx.Done() // hookd hangs; the user presses Ctrl-C
		return ctx.Err()
	}
	p := plan{concurrency: 4, messages: 1000, duration: time.Minute}
	res := runLoad(ctx, p, publish, nil)

	require.Equal(t, 10, res.ok)
	require.Zero(t, res.failed, "sends cut off by the stop are not hookd's failures")
	require.Equal(t, 990, res.notSent)
	require.ErrorIs(t, res.stopped, context.DeadlineExceeded)
}
