package snapshots

import (
	"context"
	"runtime"
	"time"

	"github.com/promptreg/promptreg/internal/sizedcache"
	"github.com/promptreg/promptreg/registry"
)

// demand builds the snapshots of commits no served ref is at (?ref=<sha>,
// ?version=N, a feature branch), once per commit however many requests ask
// at once, different commits in parallel, and keeps them in a cache bounded
// by count and bytes. The builds share a parse memo bounded by bytes:
// commits built on demand share most of their files, so walking
// ?version=1..N costs a parse per changed file, not per file.
type demand struct {
	src      registry.Source
	parser   registry.Parser
	now      func() time.Time
	versions func(name, checksum string) (int, *registry.Commit, string)
	// generation is the indexed head. A snapshot holding content the
	// index had not numbered is rebuilt once the index moved, so that a
	// feature branch's edit served before its merge gets its number (and
	// its numbered body's entity tag) after it.
	generation func() string

	cache   *sizedcache.Cache[cachedSnapshot]
	memo    *sharedMemo
	flights *flights[*registry.Snapshot]
	slots   chan struct{} // bounds the builds running at once
}

// maxPendingBuilds bounds the on-demand builds running or waiting for a
// core at once; more distinct commits asked at once are answered 503.
const maxPendingBuilds = 64

type cachedSnapshot struct {
	snap       *registry.Snapshot
	generation string
}

type demandOptions struct {
	src        registry.Source
	parser     registry.Parser
	now        func() time.Time
	versions   func(name, checksum string) (int, *registry.Commit, string)
	generation func() string
	snapshots  int   // default DefaultCacheSnapshots
	bytes      int64 // default DefaultCacheBytes
	memoBytes  int64 // default DefaultMemoBytes
}

func newDemand(o demandOptions) *demand {
	if o.snapshots <= 0 {
		o.snapshots = DefaultCacheSnapshots
	}
	if o.bytes <= 0 {
		o.bytes = DefaultCacheBytes
	}
	if o.memoBytes <= 0 {
		o.memoBytes = DefaultMemoBytes
	}
	return &demand{
		src: o.src, parser: o.parser, now: o.now, versions: o.versions, generation: o.generation,
		cache:   sizedcache.New[cachedSnapshot](o.snapshots, o.bytes),
		memo:    &sharedMemo{c: sizedcache.New[parsed](1<<20, o.memoBytes)},
		flights: newFlights[*registry.Snapshot](maxPendingBuilds),
		slots:   make(chan struct{}, runtime.GOMAXPROCS(0)),
	}
}

// get returns the snapshot of commit sha, built for ref if it has to be.
// Errors: those of the build (ENOTFOUND for an unknown commit), ETIMEOUT
// when ctx ends first.
func (d *demand) get(ctx context.Context, sha, ref string) (*registry.Snapshot, error) {
	if s, ok := d.cached(sha); ok {
		return s, nil
	}
	return d.flights.do(ctx, sha, "too many snapshots of other commits are being built; retry later", func(ctx context.Context) (*registry.Snapshot, error) {
		if s, ok := d.cached(sha); ok {
			return s, nil
		}
		select {
		case d.slots <- struct{}{}:
			defer func() { <-d.slots }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		gen := d.generation()
		b := builder{src: d.src, parser: d.parser, now: d.now, versions: d.versions, memo: d.memo}
		s, err := b.build(ctx, sha, ref, nil)
		if err != nil {
			return nil, err
		}
		d.cache.Add(sha, cachedSnapshot{snap: s, generation: gen}, s.Size)
		return s, nil
	})
}

// cached returns the cached snapshot of sha unless it holds unnumbered
// content and the index moved since it was built.
func (d *demand) cached(sha string) (*registry.Snapshot, bool) {
	c, ok := d.cache.Get(sha)
	if !ok || (c.snap.Unnumbered > 0 && c.generation != d.generation()) {
		return nil, false
	}
	return c.snap, true
}

func (d *demand) close() { d.flights.close() }

// sharedMemo is the parse memo of on-demand builds, safe for concurrent
// use and bounded by bytes.
type sharedMemo struct {
	c *sizedcache.Cache[parsed]
}

func (m *sharedMemo) get(key string) (parsed, bool) { return m.c.Get(key) }

func (m *sharedMemo) put(key string, r parsed) {
	size := int64(len(key)) + 256 // the outcome's own fields
	if r.prompt != nil {
		// The raw bytes, and the template, messages and schemas derived
		// from them: about twice the file.
		size += 2*int64(len(r.prompt.Raw)) + int64(len(r.prompt.InputSchema)+len(r.prompt.OutputSchema))
	}
	m.c.Add(key, r, size)
}
