package executions

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// pollEvery is how often the dispatcher looks for queued executions when
// nothing woke it (another replica's, or ones a restart requeued).
const pollEvery = time.Second

// queue runs queued executions: a dispatcher claims them from the store as
// workers free up, each runs in its own goroutine, and followers of a
// running one get its text as it streams.
type queue struct {
	s      *Service
	wakeCh chan struct{}

	mu      sync.Mutex // guards running
	running map[string]*flight

	stop context.CancelFunc
	done chan struct{}
}

// flight is a running execution: the cancel of its call, and its text so
// far for followers.
type flight struct {
	cancel context.CancelFunc

	mu       sync.Mutex // guards the fields below
	text     strings.Builder
	watchers map[chan struct{}]struct{}
	finished *registry.Execution
}

func newQueue(s *Service) *queue {
	return &queue{s: s, wakeCh: make(chan struct{}, 1), running: map[string]*flight{}}
}

// wake tells the dispatcher that something was queued.
func (q *queue) wake() {
	select {
	case q.wakeCh <- struct{}{}:
	default:
	}
}

// Start recovers the executions a previous run left running (requeued, or
// failed once started MaxAttempts times) and starts the workers. Close
// stops them.
func (s *Service) Start(ctx context.Context) error {
	requeued, failed, err := s.store.RecoverExecutions(ctx, s.attempts, s.now().UTC())
	if err != nil {
		return err
	}
	if requeued+failed > 0 {
		s.log.Warn("executions interrupted by the last stop", "requeued", requeued, "failed", failed)
	}
	qctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.queue.stop, s.queue.done = cancel, make(chan struct{})
	go s.queue.dispatch(qctx)
	return nil
}

// Close stops claiming executions and waits up to grace for the running
// ones; those still running then are left running in the store, so the
// next start runs them again (as after a crash).
func (s *Service) Close(grace time.Duration) {
	q := s.queue
	if q.stop == nil {
		return
	}
	q.stop()
	<-q.done
	deadline := time.After(grace)
	for {
		q.mu.Lock()
		n := len(q.running)
		q.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-deadline:
			q.mu.Lock()
			for _, f := range q.running {
				f.cancel()
			}
			q.mu.Unlock()
			s.log.Warn("stopped with executions running; the next start runs them again", "running", n)
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// dispatch claims queued executions while workers are free.
func (q *queue) dispatch(ctx context.Context) {
	defer close(q.done)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	freed := make(chan struct{}, q.s.workers)
	for {
		q.mu.Lock()
		free := q.s.workers - len(q.running)
		q.mu.Unlock()
		if free > 0 {
			es, err := q.s.store.ClaimExecutions(ctx, free, q.s.now().UTC())
			if err != nil && ctx.Err() == nil {
				q.s.log.Error("claim queued executions", "err", err)
			}
			for _, e := range es {
				q.start(ctx, e, freed)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-q.wakeCh:
		case <-freed:
		case <-tick.C:
		}
	}
}

// start runs claimed execution e in its own goroutine.
func (q *queue) start(ctx context.Context, e registry.Execution, freed chan<- struct{}) {
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f := &flight{cancel: cancel, watchers: map[chan struct{}]struct{}{}}
	q.mu.Lock()
	q.running[e.ID] = f
	q.mu.Unlock()
	go func() {
		defer cancel()
		final := q.run(cctx, e, f)
		f.finish(final)
		q.mu.Lock()
		delete(q.running, e.ID)
		q.mu.Unlock()
		select {
		case freed <- struct{}{}:
		default:
		}
	}()
}

// run makes e's call and records its end; it returns e as it ended.
func (q *queue) run(ctx context.Context, e registry.Execution, f *flight) registry.Execution {
	s := q.s
	var w work
	if err := json.Unmarshal(e.Work, &w); err != nil {
		e.Status, e.ErrorClass, e.Error = registry.StatusFailed, registry.ClassBadRequest, "the queued work cannot be read: "+err.Error()
		now := s.now().UTC()
		e.FinishedAt = &now
	} else {
		e = s.call(ctx, e, w, f.add)
	}
	e.Work = nil
	rctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ok, err := s.store.FinishExecution(rctx, e)
	switch {
	case err != nil:
		// Left running in the store: the next start runs it again.
		s.log.Error("record the end of a queued execution", "id", e.ID, "err", err)
	case !ok:
		// Cancelled meanwhile: the store has the cancellation.
		if got, err := s.store.Execution(rctx, e.ID); err == nil {
			return got
		}
	}
	return e
}

// cancel stops the call of execution id if it runs here.
func (q *queue) cancel(id string) {
	q.mu.Lock()
	f := q.running[id]
	q.mu.Unlock()
	if f != nil {
		f.cancel()
	}
}

// add appends streamed text and tells the watchers.
func (f *flight) add(text string) error {
	f.mu.Lock()
	f.text.WriteString(text)
	for ch := range f.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	f.mu.Unlock()
	return nil
}

// finish records the end and tells the watchers.
func (f *flight) finish(e registry.Execution) {
	f.mu.Lock()
	f.finished = &e
	for ch := range f.watchers {
		close(ch)
	}
	f.watchers = nil
	f.mu.Unlock()
}

// Follow streams the text of execution id to onDelta as it is produced:
// what was produced so far at once, then the rest, and returns the
// execution once it ended. A queued execution is waited for; a finished one
// returns at once (its output is not replayed through onDelta). Errors:
// ENOTFOUND, ctx's.
func (s *Service) Follow(ctx context.Context, id string, onDelta func(string) error) (registry.Execution, error) {
	for {
		s.queue.mu.Lock()
		f := s.queue.running[id]
		s.queue.mu.Unlock()
		if f != nil {
			e, err := f.follow(ctx, onDelta)
			if err != nil || e != nil {
				if e != nil {
					return *e, nil
				}
				return registry.Execution{}, err
			}
		}
		e, err := s.store.Execution(ctx, id)
		if err != nil || registry.Terminal(e.Status) {
			return e, err
		}
		select {
		case <-ctx.Done():
			return e, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// follow sends f's text to onDelta until f finishes, and returns how it
// ended.
func (f *flight) follow(ctx context.Context, onDelta func(string) error) (*registry.Execution, error) {
	sent := 0
	ch := make(chan struct{}, 1)
	f.mu.Lock()
	if f.watchers != nil {
		f.watchers[ch] = struct{}{}
	} else {
		close(ch)
	}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.watchers, ch)
		f.mu.Unlock()
	}()
	for {
		f.mu.Lock()
		text, fin := f.text.String(), f.finished
		f.mu.Unlock()
		if len(text) > sent {
			if err := onDelta(text[sent:]); err != nil {
				return nil, err
			}
			sent = len(text)
		}
		if fin != nil {
			return fin, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		}
	}
}
