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
// When no call is waiting and fewer batches than loops are in flight, a
// call runs as a batch of one in its own goroutine: it would have been a
// batch of one anyway, and this saves the two hand-offs between
// goroutines (to a loop and back), which at light load were most of
// what the batcher cost.
type batcher[T, R any] struct {
	in    chan batchCall[T, R]
	max   int
	flush func(ctx context.Context, items []T) ([]R, error)
	wg    sync.WaitGroup
	stop  chan struct{}
	// busy holds a token for each batch in flight, a loop's or a
	// caller's own: at most one per loop.
	busy chan struct{}
}

type batchCall[T, R any] struct {
	item T
	out  chan batchResult[R]
}

type batchResult[R any] struct {
	val R
	err error
}

// batchTimeout bounds a batch. A batch outlives any one caller's context:
// others wait on it.
const batchTimeout = 30 * time.Second

func newBatcher[T, R any](max, loops int, flush func(ctx context.Context, items []T) ([]R, error)) *batcher[T, R] {
	b := &batcher[T, R]{in: make(chan batchCall[T, R], max*loops), max: max, flush: flush,
		stop: make(chan struct{}), busy: make(chan struct{}, loops)}
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
		case b.busy <- struct{}{}:
			return b.alone(item)
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

// alone runs item as a batch of one, holding a busy token.
func (b *batcher[T, R]) alone(item T) (R, error) {
	defer func() { <-b.busy }()
	var zero R
	select {
	case <-b.stop:
		return zero, context.Canceled
	default:
	}
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	results, err := b.flush(ctx, []T{item})
	if err != nil {
		return zero, err
	}
	return results[0], nil
}

// Close stops the loops after the batches in flight finish.
func (b *batcher[T, R]) Close() {
	close(b.stop)
	b.wg.Wait()
	for range cap(b.busy) { // the callers' own batches
		b.busy <- struct{}{}
	}
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
		select {
		case b.busy <- struct{}{}:
		case <-b.stop:
			for _, c := range calls {
				c.out <- batchResult[R]{err: context.Canceled}
			}
			return
		}
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
		ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
		results, err := b.flush(ctx, items)
		cancel()
		<-b.busy
		for i, c := range calls {
			r := batchResult[R]{err: err}
			if err == nil {
				r.val = results[i]
			}
			c.out <- r
		}
	}
}
