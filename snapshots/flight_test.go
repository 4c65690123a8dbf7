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
	// Release the call once every caller has joined it.
	for joined := 0; joined < len(results); runtime.Gosched() {
		f.mu.Lock()
		if c := f.calls["k"]; c != nil {
			joined = c.callers
		}
		f.mu.Unlock()
	}
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

func TestFlightsCallerGivesUpWithoutCancellingTheCall(t *testing.T) {
	f := newFlights[int](0)
	release, started := make(chan struct{}), make(chan struct{})
	finished := make(chan error, 1)
	gaveUp := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer close(gaveUp)
		_, err := f.do(ctx, "k", "", func(ctx context.Context) (int, error) {
			close(started)
			<-release
			finished <- ctx.Err()
			return 1, nil
		})
		if registry.ErrorCode(err) != registry.ETIMEOUT {
			t.Errorf("caller that gave up got %v, want ETIMEOUT", err)
		}
	}()
	<-started
	cancel()
	<-gaveUp
	// The call goes on: a second caller joins it and gets its outcome.
	go close(release)
	v, err := f.do(context.Background(), "k", "", func(context.Context) (int, error) { return 2, nil })
	if err != nil || (v != 1 && v != 2) {
		t.Errorf("second caller: %d, %v", v, err)
	}
	if err := <-finished; err != nil {
		t.Errorf("the call saw its context end (%v) because one caller gave up", err)
	}
	f.close()
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
