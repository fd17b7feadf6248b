package delivery

import (
	"context"
	"sync"
	"time"
)

// batcher gathers calls from many goroutines into batches: while one batch
// is in flight, the calls that arrive wait and go together in the next.
// It turns one round trip (and one commit) per job into one per batch.
//
// At most loops batches are in flight at once; each holds one of slots. A
// call that finds a slot free and no call waiting is a batch of one, and
// its own goroutine flushes it: at light load, where nothing waits to be
// batched with it, that spares handing the call to a loop and its result
// back, two goroutine wake-ups (each a thread woken when the process is
// otherwise idle). The loops take the calls that wait.
type batcher[T, R any] struct {
	in    chan batchCall[T, R]
	max   int
	flush func(ctx context.Context, items []T) ([]R, error)
	slots chan struct{} // one token per batch in flight
	wg    sync.WaitGroup
	stop  chan struct{}
}

type batchCall[T, R any] struct {
	item T
	out  chan batchResult[R]
}

type batchResult[R any] struct {
	val R
	err error
}

func newBatcher[T, R any](max, loops int, flush func(ctx context.Context, items []T) ([]R, error)) *batcher[T, R] {
	b := &batcher[T, R]{in: make(chan batchCall[T, R], max*loops), max: max, flush: flush,
		slots: make(chan struct{}, loops), stop: make(chan struct{})}
	for range loops {
		b.wg.Add(1)
		go b.loop()
	}
	return b
}

// Do adds item to the next batch and waits for its result.
func (b *batcher[T, R]) Do(ctx context.Context, item T) (R, error) {
	var zero R
	select {
	case <-b.stop:
		return zero, context.Canceled
	default:
	}
	if len(b.in) == 0 {
		select {
		case b.slots <- struct{}{}:
			results, err := b.flushBatch([]T{item})
			<-b.slots
			if err != nil {
				return zero, err
			}
			return results[0], nil
		default:
		}
	}
	c := batchCall[T, R]{item: item, out: make(chan batchResult[R], 1)}
	select {
	case b.in <- c:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-b.stop:
		return zero, context.Canceled
	}
	select {
	case r := <-c.out:
		return r.val, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}

// Close stops the loops after the batches in flight finish.
func (b *batcher[T, R]) Close() {
	close(b.stop)
	b.wg.Wait()
	for range cap(b.slots) { // and the batches of one that callers flush
		b.slots <- struct{}{}
	}
}

// flushBatch flushes items. The batch outlives any one caller's context:
// others wait on it.
func (b *batcher[T, R]) flushBatch(items []T) ([]R, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return b.flush(ctx, items)
}

func (b *batcher[T, R]) loop() {
	defer b.wg.Done()
	calls := make([]batchCall[T, R], 0, b.max)
	items := make([]T, 0, b.max)
	for {
		calls, items = calls[:0], items[:0]
		select {
		case c := <-b.in:
			calls = append(calls, c)
		case <-b.stop:
			return
		}
		b.slots <- struct{}{}
	gather:
		for len(calls) < b.max {
			select {
			case c := <-b.in:
				calls = append(calls, c)
			default:
				break gather
			}
		}
		for _, c := range calls {
			items = append(items, c.item)
		}
		results, err := b.flushBatch(items)
		<-b.slots
		for i, c := range calls {
			r := batchResult[R]{err: err}
			if err == nil {
				r.val = results[i]
			}
			c.out <- r
		}
	}
}
