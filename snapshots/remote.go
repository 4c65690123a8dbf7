package snapshots

import (
	"context"
	"time"

	"github.com/promptreg/promptreg/internal/sizedcache"
	"github.com/promptreg/promptreg/registry"
)

// RemoteRefTTL is how long the remote's answer about a ref the clone does
// not have is reused, so that requests for unknown refs cannot turn into a
// fetch each.
const RemoteRefTTL = 30 * time.Second

// remoteAnswers bounds the answers kept (least recently used dropped
// first), so that cycling through made-up ref names cannot grow memory nor
// flush the answers everyone else relies on faster than they are asked.
const remoteAnswers = 4096

// remoteRefs looks up on the remote the refs the clone does not have
// (refs/pull/12/head, a branch pushed since the last fetch) and fetches
// them: one lookup per ref at a time, a bounded number at once, each
// bounded by the fetch timeout, the answers (found or not) cached for
// RemoteRefTTL. Callers wait at most until their context ends.
type remoteRefs struct {
	fetch   func(ctx context.Context, ref string) (string, error)
	timeout time.Duration
	now     func() time.Time
	answers *sizedcache.Cache[remoteAnswer]
	flights *flights[string]
}

type remoteAnswer struct {
	sha string
	err error
	at  time.Time
}

func newRemoteRefs(fetch func(ctx context.Context, ref string) (string, error), timeout time.Duration, parallel int, now func() time.Time) *remoteRefs {
	return &remoteRefs{fetch: fetch, timeout: timeout, now: now,
		answers: sizedcache.New[remoteAnswer](remoteAnswers, remoteAnswers),
		flights: newFlights[string](parallel)}
}

// lookup returns the commit of the remote's ref full, fetched into the
// clone. Errors: ENOTFOUND when the remote has no such ref, EUNAVAILABLE
// when it cannot be reached or too many lookups run, ETIMEOUT when ctx ends
// first.
func (r *remoteRefs) lookup(ctx context.Context, full string) (string, error) {
	if a, ok := r.answer(full); ok {
		return a.sha, a.err
	}
	return r.flights.do(ctx, full, "too many lookups of unknown refs on the remote are running; retry later",
		func(ctx context.Context) (string, error) {
			// A lookup that ended just before this one started answered.
			if a, ok := r.answer(full); ok {
				return a.sha, a.err
			}
			ctx, cancel := context.WithTimeout(ctx, r.timeout)
			defer cancel()
			sha, err := r.fetch(ctx, full)
			if err != nil && registry.ErrorCode(err) != registry.ENOTFOUND {
				return "", err // not cached: the remote may be back soon
			}
			r.answers.Add(full, remoteAnswer{sha: sha, err: err, at: r.now()}, 1)
			return sha, err
		})
}

// answer returns the cached answer about full, if it is recent enough.
func (r *remoteRefs) answer(full string) (remoteAnswer, bool) {
	a, ok := r.answers.Get(full)
	if ok && r.now().Sub(a.at) >= RemoteRefTTL {
		r.answers.Remove(full)
		return remoteAnswer{}, false
	}
	return a, ok
}

func (r *remoteRefs) close() { r.flights.close() }
