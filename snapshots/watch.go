package snapshots

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// WatchOptions configures Watch.
type WatchOptions struct {
	// Poll is the interval between syncs while they succeed; 0 disables
	// polling (syncs then run only at start and on Trigger).
	Poll time.Duration
	// MaxBackoff caps the delay between retries while syncs fail; default
	// five minutes.
	MaxBackoff time.Duration
}

// trigger carries requests for a sync to Watch: a channel buffered by one,
// so that triggers arriving while one is pending coalesce into it, and the
// cause of the pending one.
type trigger struct {
	c     chan struct{}
	mu    sync.Mutex // guards cause
	cause registry.Cause
}

func newTrigger() *trigger { return &trigger{c: make(chan struct{}, 1)} }

// pull sets the pending cause and signals, without blocking.
func (t *trigger) pull(cause registry.Cause) {
	t.mu.Lock()
	t.cause = cause
	t.mu.Unlock()
	select {
	case t.c <- struct{}{}:
	default:
	}
}

// take returns the cause of the pending trigger.
func (t *trigger) take() registry.Cause {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cause
}

// Trigger asks the running Watch to sync now, for cause (recorded in the
// promotion ledger with the moves the sync observes). Triggers that arrive
// while a sync is pending are coalesced into it; Trigger never blocks.
func (k *Keeper) Trigger(cause registry.Cause) { k.trigger.pull(cause) }

// Watch syncs at once, then on every Trigger and every Poll interval (with
// ±10% jitter so replicas spread out), backing off exponentially while syncs
// fail. It returns when ctx is done.
func (k *Keeper) Watch(ctx context.Context, opts WatchOptions) {
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	trig := k.trigger.c
	failures := 0
	cause := registry.Cause{Via: "start"}
	for {
		if err := k.SyncFor(ctx, cause); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			k.log.Error("sync failed", "err", err, "consecutive_failures", failures)
		} else {
			failures = 0
		}
		var timer *time.Timer
		var wait <-chan time.Time
		if d := nextDelay(opts, failures); d > 0 {
			timer = time.NewTimer(d)
			wait = timer.C
		}
		cause = registry.Cause{Via: "poll"}
		select {
		case <-ctx.Done():
		case <-trig:
			cause = k.trigger.take()
		case <-wait:
			// A trigger that arrived with the timer names the sync better.
			select {
			case <-trig:
				cause = k.trigger.take()
			default:
			}
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// nextDelay is how long Watch waits before the next sync: the poll interval
// with jitter, doubled for each consecutive failure up to MaxBackoff. A
// failing first sync is retried after a second even without polling, since
// nothing is being served yet.
func nextDelay(opts WatchOptions, failures int) time.Duration {
	base := opts.Poll
	if failures > 0 {
		if base <= 0 || base > time.Second {
			base = time.Second
		}
		for i := 1; i < failures && base < opts.MaxBackoff; i++ {
			base *= 2
		}
		base = min(base, opts.MaxBackoff)
	}
	if base <= 0 {
		return 0
	}
	jitter := time.Duration(float64(base) * (rand.Float64()*0.2 - 0.1))
	return base + jitter
}
