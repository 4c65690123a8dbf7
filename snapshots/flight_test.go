package snapshots

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

func TestFlightsRunOneCallPerKey(t *testing.T) {
	f := newFlights[int](0)
	defer f.close()
	release := make(chan struct{})
	var calls atomic.Int32
	var wg sync.WaitGroup
	results := make([]int, 10)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = f.do(context.Background(), "k", "", func(context.Context) (int, error) {
				calls.Add(1)
				<-release
				return 42, nil
			})
		}()
	}
	waitCallers(f, "k", len(results)) // every caller joined the one call
	close(release)
	wg.Wait()
	if got := calls.Load(); got != 1 {
		t.Errorf("%d calls for one key, want 1", got)
	}
	for i, r := range results {
		if r != 42 {
			t.Errorf("caller %d got %d, want 42", i, r)
		}
	}
}

// waitCallers waits until the call for key has n callers waiting.
func waitCallers[T any](f *flights[T], key string, n int) {
	for {
		f.mu.Lock()
		c := f.calls[key]
		got := c != nil && c.callers == n
		f.mu.Unlock()
		if got {
			return
		}
		runtime.Gosched()
	}
}

func TestFlightsCallerGivesUpWithoutCancellingTheCallForOthers(t *testing.T) {
	f := newFlights[int](0)
	defer f.close()
	release := make(chan struct{})
	finished := make(chan error, 1)
	call := func(ctx context.Context) (int, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		finished <- ctx.Err()
		return 1, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() {
		_, err := f.do(ctx, "k", "", call)
		gaveUp <- err
	}()
	waitCallers(f, "k", 1)
	other := make(chan int, 1)
	go func() {
		v, _ := f.do(context.Background(), "k", "", func(context.Context) (int, error) { return 2, nil })
		other <- v
	}()
	waitCallers(f, "k", 2)
	cancel()
	if err := <-gaveUp; registry.ErrorCode(err) != registry.ETIMEOUT {
		t.Errorf("caller that gave up got %v, want ETIMEOUT", err)
	}
	close(release)
	if v := <-other; v != 1 {
		t.Errorf("the caller still waiting got %d, want the call's 1", v)
	}
	if err := <-finished; err != nil {
		t.Errorf("the call saw its context end (%v) though a caller still waited", err)
	}
}

func TestFlightsCallNobodyWaitsForIsCancelled(t *testing.T) {
	f := newFlights[int](0)
	defer f.close()
	finished := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan struct{})
	go func() {
		defer close(gaveUp)
		f.do(ctx, "k", "", func(ctx context.Context) (int, error) {
			<-ctx.Done()
			finished <- ctx.Err()
			return 0, ctx.Err()
		})
	}()
	waitCallers(f, "k", 1)
	cancel()
	<-gaveUp
	if err := <-finished; err == nil {
		t.Error("the call went on with nobody waiting for it")
	}
	// The next caller for the key starts a call of its own.
	if v, err := f.do(context.Background(), "k", "", func(context.Context) (int, error) { return 3, nil }); v != 3 || err != nil {
		t.Errorf("next caller = %d, %v; want a fresh call's 3", v, err)
	}
}

func TestFlightsLimitRefusesRatherThanQueues(t *testing.T) {
	f := newFlights[int](2)
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	for _, k := range []string{"a", "b"} {
		go f.do(context.Background(), k, "", func(context.Context) (int, error) {
			started <- struct{}{}
			<-release
			return 0, nil
		})
	}
	<-started
	<-started
	_, err := f.do(context.Background(), "c", "too many", func(context.Context) (int, error) { return 0, nil })
	if registry.ErrorCode(err) != registry.EUNAVAILABLE {
		t.Errorf("third key over a limit of 2: %v, want EUNAVAILABLE", err)
	}
	close(release)
	f.close()
}

func TestFlightsCloseCancelsAndWaits(t *testing.T) {
	f := newFlights[int](0)
	started := make(chan struct{})
	var ended atomic.Bool
	go f.do(context.Background(), "k", "", func(ctx context.Context) (int, error) {
		close(started)
		<-ctx.Done()
		ended.Store(true)
		return 0, ctx.Err()
	})
	<-started
	f.close()
	if !ended.Load() {
		t.Error("close returned before the running call ended")
	}
	if _, err := f.do(context.Background(), "x", "", func(context.Context) (int, error) { return 0, errors.New("ran") }); registry.ErrorCode(err) != registry.EUNAVAILABLE {
		t.Errorf("a call after close: %v, want EUNAVAILABLE", err)
	}
}
