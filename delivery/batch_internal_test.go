package delivery

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A lone call is a batch of one. The calls that arrive while every slot
// is busy wait and go together in the next batch, each with its own
// result, and at most loops batches are in flight at once.
func TestBatcherBatchesWhatWaits(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int
	var inLoop []bool // whether each batch was flushed by a loop, not its caller
	inFlight, most := 0, 0
	b := newBatcher(256, 1, func(_ context.Context, items []int) ([]int, error) {
		mu.Lock()
		sizes = append(sizes, len(items))
		inLoop = append(inLoop, strings.Contains(string(debug.Stack()), ").loop("))
		inFlight++
		most = max(most, inFlight)
		first := len(sizes) == 2
		mu.Unlock()
		if first {
			<-release // the second batch holds the only slot
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
		out := make([]int, len(items))
		for i, n := range items {
			out[i] = n * 10
		}
		return out, nil
	})
	released := false
	defer func() {
		if !released {
			close(release) // a failed assertion must not leave Close waiting
		}
		b.Close()
	}()
	ctx := context.Background()

	got, err := b.Do(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, 10, got)

	results := make(chan [2]int, 6)
	go func() {
		r, err := b.Do(ctx, 2)
		assert.NoError(t, err)
		results <- [2]int{2, r}
	}()
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 2 }, 5*time.Second, time.Millisecond)
	for n := 3; n <= 7; n++ {
		go func() {
			r, err := b.Do(ctx, n)
			assert.NoError(t, err)
			results <- [2]int{n, r}
		}()
	}
	// The loop may hold one call while it waits for the slot; two more
	// in the queue make a batch of at least two once the slot is free.
	require.Eventually(t, func() bool { return len(b.in) >= 2 }, 5*time.Second, time.Millisecond, "the calls wait")
	close(release)
	released = true
	for range 6 {
		r := <-results
		require.Equal(t, r[0]*10, r[1], "each call gets its own result")
	}
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []int{1, 1}, sizes[:2], "a lone call is a batch of one")
	require.Equal(t, []bool{false, false}, inLoop[:2], "flushed by its caller")
	total, biggest := 0, 0
	for _, n := range sizes {
		total += n
		biggest = max(biggest, n)
	}
	require.Equal(t, 7, total, "every call flushed once")
	require.GreaterOrEqual(t, biggest, 2, "the calls that waited went together: %v", sizes)
	require.NotContains(t, inLoop[2:], false, "by the loop")
	require.Equal(t, 1, most, "one slot, one batch in flight")
}

// Close waits for a batch of one that its caller is flushing, and then
// calls are refused.
func TestBatcherCloseWaitsForCallersBatch(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	var done sync.WaitGroup
	b := newBatcher(256, 2, func(_ context.Context, items []int) ([]int, error) {
		close(started)
		<-release
		return items, nil
	})
	done.Add(1)
	go func() {
		defer done.Done()
		_, err := b.Do(context.Background(), 1)
		assert.NoError(t, err)
	}()
	<-started
	closed := make(chan struct{})
	go func() { b.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a batch was in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	<-closed
	done.Wait()
	_, err := b.Do(context.Background(), 2)
	require.True(t, errors.Is(err, context.Canceled), "after Close: %v", err)
}
