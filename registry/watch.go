package registry

import (
	"context"
	"math/rand/v2"
	"time"
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

// Trigger asks the running Watch to sync now, for cause (recorded in the
// promotion ledger with the moves the sync observes). Triggers that arrive
// while a sync is pending are coalesced into it; Trigger never blocks.
func (r *Registry) Trigger(cause Cause) {
	r.causeMu.Lock()
	r.cause = cause
	r.causeMu.Unlock()
	select {
	case r.trig <- struct{}{}:
	default:
	}
}

// Watch syncs at once, then on every Trigger and every Poll interval (with
// ±10% jitter so replicas spread out), backing off exponentially while syncs
// fail. It returns when ctx is done.
func (r *Registry) Watch(ctx context.Context, opts WatchOptions) {
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 5 * time.Minute
	}
	trig := r.trig
	failures := 0
	cause := Cause{Via: "start"}
	for {
		if err := r.SyncFor(ctx, cause); err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			r.log.Error("sync failed", "err", err, "consecutive_failures", failures)
		} else {
			failures = 0
		}
		var timer *time.Timer
		var wait <-chan time.Time
		if d := nextDelay(opts, failures); d > 0 {
			timer = time.NewTimer(d)
			wait = timer.C
		}
		cause = Cause{Via: "poll"}
		select {
		case <-ctx.Done():
		case <-trig:
			cause = r.takeCause()
		case <-wait:
			// A trigger that arrived with the timer names the sync better.
			select {
			case <-trig:
				cause = r.takeCause()
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

// takeCause returns the cause of the pending trigger.
func (r *Registry) takeCause() Cause {
	r.causeMu.Lock()
	defer r.causeMu.Unlock()
	return r.cause
}
