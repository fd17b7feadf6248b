package delivery

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A call with nothing else in flight runs as a batch of one, and calls
// that come while every loop's turn is taken wait and go together, never
// more batches in flight than loops.
func TestBatcherBatchesAndBounds(t *testing.T) {
	release := make(chan struct{})
	var inFlight, most atomic.Int32
	var mu sync.Mutex
	var sizes []int
	b := newBatcher(256, 2, func(_ context.Context, items []int) ([]int, error) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		mu.Lock()
		sizes = append(sizes, len(items))
		mu.Unlock()
		<-release
		out := make([]int, len(items))
		for i, v := range items {
			out[i] = 2 * v
		}
		return out, nil
	})
	defer b.Close()

	const calls = 20
	results := make([]int, calls)
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = b.Do(context.Background(), i)
		}()
	}
	// Wait until the two turns are taken and the rest are queued.
	deadline := time.Now().Add(10 * time.Second)
	for inFlight.Load() < 2 || len(b.in) < calls-4 {
		if time.Now().After(deadline) {
			t.Fatalf("in flight %d, queued %d", inFlight.Load(), len(b.in))
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	for i := range calls {
		if errs[i] != nil || results[i] != 2*i {
			t.Fatalf("call %d: %d, %v; want %d", i, results[i], errs[i], 2*i)
		}
	}
	if m := most.Load(); m > 2 {
		t.Fatalf("%d batches in flight at once, want at most 2 (the loops)", m)
	}
	total, biggest := 0, 0
	for _, n := range sizes {
		total += n
		biggest = max(biggest, n)
	}
	if total != calls || biggest < 2 || len(sizes) >= calls {
		t.Fatalf("batch sizes %v: want %d calls in fewer batches, one of several", sizes, calls)
	}
}

// Close waits for the batch a lone call runs, and Do after it fails.
func TestBatcherCloseWaitsForALoneCall(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	b := newBatcher(8, 1, func(_ context.Context, items []int) ([]int, error) {
		close(started)
		<-release
		return items, nil
	})
	done := make(chan error, 1)
	go func() {
		_, err := b.Do(context.Background(), 7)
		done <- err
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
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-closed
	if _, err := b.Do(context.Background(), 1); err == nil {
		t.Fatal("Do after Close succeeded")
	}
}
