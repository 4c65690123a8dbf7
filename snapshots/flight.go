package snapshots

import (
	"context"
	"sync"

	"github.com/promptreg/promptreg/registry"
)

// flights runs at most one call per key at a time, for every caller that
// asks for that key while it runs. A call runs in a goroutine of its own,
// under a context of its own derived from the owner's rather than the first
// caller's: a caller that gives up (its context ends) does not wait for it,
// and cancels it only if it was the last caller waiting, so work nobody
// waits for stops. close cancels the calls running and waits for them.
type flights[T any] struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// limit bounds the calls running at once; 0 is no bound. A call over
	// the bound is refused with EUNAVAILABLE rather than queued, so that
	// a flood of distinct keys costs no goroutine each.
	limit int

	mu    sync.Mutex // guards calls
	calls map[string]*flight[T]
}

// flight is one running call and, once done is closed, its outcome.
type flight[T any] struct {
	done    chan struct{}
	cancel  context.CancelFunc
	callers int // callers waiting for it; guarded by flights.mu
	val     T
	err     error
}

func newFlights[T any](limit int) *flights[T] {
	ctx, cancel := context.WithCancel(context.Background())
	return &flights[T]{ctx: ctx, cancel: cancel, limit: limit, calls: map[string]*flight[T]{}}
}

// do returns the outcome of fn for key: of the call running for key if
// there is one, else of a new one. It waits at most until ctx ends
// (ETIMEOUT). busy is the message of the EUNAVAILABLE error for a call
// over the limit.
func (f *flights[T]) do(ctx context.Context, key, busy string, fn func(ctx context.Context) (T, error)) (T, error) {
	f.mu.Lock()
	c, ok := f.calls[key]
	if !ok {
		if f.limit > 0 && len(f.calls) >= f.limit {
			f.mu.Unlock()
			var zero T
			return zero, registry.Errorf(registry.EUNAVAILABLE, "%s", busy)
		}
		if err := f.ctx.Err(); err != nil {
			f.mu.Unlock()
			var zero T
			return zero, registry.Errorf(registry.EUNAVAILABLE, "shutting down")
		}
		cctx, cancel := context.WithCancel(f.ctx)
		c = &flight[T]{done: make(chan struct{}), cancel: cancel}
		f.calls[key] = c
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer cancel()
			c.val, c.err = fn(cctx)
			f.mu.Lock()
			if f.calls[key] == c {
				delete(f.calls, key)
			}
			f.mu.Unlock()
			close(c.done)
		}()
	}
	c.callers++
	f.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		f.mu.Lock()
		if c.callers--; c.callers == 0 {
			// Nobody waits for it any more: stop it, and let the next
			// caller for key start afresh rather than join a call
			// being cancelled.
			c.cancel()
			if f.calls[key] == c {
				delete(f.calls, key)
			}
		}
		f.mu.Unlock()
		var zero T
		return zero, &registry.Error{Code: registry.ETIMEOUT, Message: "gave up waiting: " + ctx.Err().Error(), Err: ctx.Err()}
	}
}

// close cancels the running calls and waits for them to return.
func (f *flights[T]) close() {
	f.cancel()
	f.wg.Wait()
}
