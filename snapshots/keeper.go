package snapshots

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/promptreg/promptreg/history"
	"github.com/promptreg/promptreg/registry"
)

// Defaults of the Options fields left zero.
const (
	DefaultBranch         = "main"
	DefaultFetchTimeout   = time.Minute
	DefaultCacheSnapshots = 64
	DefaultCacheBytes     = 256 << 20
	DefaultMemoBytes      = 64 << 20
	// DefaultRemoteLookups bounds the lookups of unknown refs on the remote
	// running at once.
	DefaultRemoteLookups = 4
)

// Options configures a Keeper.
type Options struct {
	Source registry.Source
	Parser registry.Parser
	// Branch is the tracked branch; default "main".
	Branch string
	// History persists the version index and the promotion ledger, and Git
	// walks history for it and fetches refs the clone lacks. With History
	// nil prompts carry no version numbers and environment moves are not
	// recorded.
	History registry.HistoryStore
	Git     registry.HistorySource
	// FetchTimeout bounds one fetch, and one lookup of an unknown ref on
	// the remote; default one minute.
	FetchTimeout time.Duration
	// FetchUnknownRefs lets a ?ref= the clone does not have (refs/pull/N/head,
	// a branch pushed since the last fetch) be looked up on the remote and
	// fetched. Lookups are single-flighted per ref, their answers cached
	// for RemoteRefTTL, and at most DefaultRemoteLookups run at once.
	FetchUnknownRefs bool
	// CacheSnapshots and CacheBytes bound the snapshots of other commits
	// built on demand and kept (by count and by their estimated size);
	// MemoBytes bounds the parse results these builds share.
	CacheSnapshots int
	CacheBytes     int64
	MemoBytes      int64
	Logger         *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Keeper keeps the snapshots of the tracked branch and of the configured
// environments current, and builds the snapshot of any other commit on
// demand. Reads never wait for a sync: they load what is served with one
// atomic pointer read.
type Keeper struct {
	src    registry.Source
	branch string
	fetchT time.Duration
	log    *slog.Logger
	now    func() time.Time

	served atomic.Pointer[registry.Served]

	// syncMu serialises Sync. It guards builder (and its parse memo),
	// the index's updates, ledger and timesLoaded.
	syncMu      sync.Mutex
	builder     builder
	memo        *generations
	index       *history.Index  // nil without a history
	ledger      *history.Ledger // nil without a history
	store       registry.HistoryStore
	timesLoaded bool
	// pinned keeps the entries of the pinned versions the last sync
	// served, by name and checksum, so the next does not rebuild them.
	pinned map[string]*registry.Entry

	status  *syncStatus
	demand  *demand
	remote  *remoteRefs // nil when unknown refs are not looked up
	trigger *trigger
	queries *history.Queries
}

// New returns a Keeper with nothing loaded: Resolve answers EUNAVAILABLE
// until the first successful Sync. Close stops what it runs in the
// background.
func New(opts Options) *Keeper {
	if opts.Branch == "" {
		opts.Branch = DefaultBranch
	}
	if opts.FetchTimeout <= 0 {
		opts.FetchTimeout = DefaultFetchTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	k := &Keeper{
		src:     opts.Source,
		branch:  opts.Branch,
		fetchT:  opts.FetchTimeout,
		log:     opts.Logger,
		now:     opts.Now,
		memo:    newGenerations(),
		status:  &syncStatus{},
		trigger: newTrigger(),
	}
	k.builder = builder{src: opts.Source, parser: opts.Parser, now: opts.Now, memo: k.memo, git: opts.Git}
	if opts.History != nil && opts.Git != nil {
		k.store = opts.History
		k.index = history.New(history.Options{Store: opts.History, Git: opts.Git, Source: opts.Source,
			Parser: opts.Parser, Branch: opts.Branch, Peek: k.memo.peek})
		k.ledger = history.NewLedger(opts.History, opts.Git, opts.Logger, opts.Now)
		k.builder.versions, k.builder.lastGood = k.index.Lookup, k.index.LastGood
		if opts.FetchUnknownRefs {
			k.remote = newRemoteRefs(opts.Git.FetchRef, opts.FetchTimeout, DefaultRemoteLookups, opts.Now)
		}
	}
	k.demand = newDemand(demandOptions{
		src: opts.Source, parser: opts.Parser, now: opts.Now, versions: k.builder.versions,
		snapshots: opts.CacheSnapshots, bytes: opts.CacheBytes, memoBytes: opts.MemoBytes,
		generation: k.indexHead,
	})
	k.queries = history.NewQueries(k.index, k.store, opts.Source, k, opts.Branch)
	return k
}

// Close stops the lookups and builds running in the background for
// requests, and waits for them.
func (k *Keeper) Close() {
	k.demand.close()
	if k.remote != nil {
		k.remote.close()
	}
}

// History returns the read-side history queries over what k serves.
func (k *Keeper) History() *history.Queries { return k.queries }

// indexHead is the indexed head commit, "" without a history.
func (k *Keeper) indexHead() string {
	if k.index == nil {
		return ""
	}
	return k.index.Head()
}

// Ready reports whether a snapshot is loaded.
func (k *Keeper) Ready() bool { return k.served.Load() != nil }

// Served returns what is served now. Errors: EUNAVAILABLE before the first
// sync.
func (k *Keeper) Served() (*registry.Served, error) {
	st := k.served.Load()
	if st == nil {
		return nil, errNotLoaded
	}
	return st, nil
}

var errNotLoaded = registry.Errorf(registry.EUNAVAILABLE, "no snapshot loaded yet: the repository has not been synced")

// Sync fetches the remote, indexes new history, and rebuilds the snapshots
// of the tracked branch and of every configured environment, then publishes
// them at once. When the fetch fails it still builds from what the local
// clone has (so a restart with an unreachable remote serves the previous
// clone) and returns the fetch error. Syncs are serialised; reads are never
// blocked. Environment moves are recorded as observed through the API.
func (k *Keeper) Sync(ctx context.Context) error {
	return k.SyncFor(ctx, registry.Cause{Via: "api"})
}

// SyncFor is Sync with the cause the promotion ledger records.
func (k *Keeper) SyncFor(ctx context.Context, cause registry.Cause) error {
	return k.sync(ctx, cause, true)
}

// Publish is Sync without the fetch: it indexes, builds and publishes what
// the local clone has. The write path calls it once a commit it pushed is in
// the clone, so the 2xx is answered with the new version served
// (read-your-writes) without a round trip to the remote.
func (k *Keeper) Publish(ctx context.Context, cause registry.Cause) error {
	return k.sync(ctx, cause, false)
}

func (k *Keeper) sync(ctx context.Context, cause registry.Cause, fetch bool) error {
	k.syncMu.Lock()
	defer k.syncMu.Unlock()
	start := k.now()
	k.status.update(func(s *statusFields) { s.lastAttempt = start })
	k.loadTimes(ctx)

	var fetchErr error
	if fetch {
		fctx, cancel := context.WithTimeout(ctx, k.fetchT)
		fetchErr = k.src.Fetch(fctx)
		cancel()
		if fetchErr != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			k.log.Warn("fetch failed; serving what the clone has", "err", fetchErr)
		} else {
			at := k.now()
			k.status.update(func(s *statusFields) { s.lastFetchOK = at })
			k.saveTimes(ctx, registry.SyncTimes{LastFetchSuccess: at})
		}
	}

	prev := k.served.Load()
	st, err := k.buildServed(ctx, prev)
	if st != nil {
		k.served.Store(st)
		if k.ledger != nil {
			if lerr := k.ledger.Record(ctx, st, cause); lerr != nil {
				k.log.Error("record environment moves", "err", lerr)
			}
		}
	}
	if err == nil {
		err = fetchErr
	}
	done := k.now()
	k.status.update(func(s *statusFields) {
		s.syncs++
		if err != nil {
			s.failures++
			s.lastError = err.Error()
			return
		}
		s.failures, s.lastError, s.lastSync = 0, "", done
	})
	if err != nil {
		return err
	}
	k.saveTimes(ctx, registry.SyncTimes{LastSync: done})
	// Log at info only what changed something: a poll that found nothing
	// new every few seconds would drown the log.
	level := slog.LevelDebug
	if prev == nil || prev.Head != st.Head || !sameEnvs(prev, st) {
		level = slog.LevelInfo
	}
	k.log.Log(ctx, level, "synced", "commit", st.Head.Commit.SHA, "prompts", st.Head.Len(),
		"problems", len(st.Head.Problems), "environments", len(st.Envs), "took", k.now().Sub(start))
	return nil
}

// loadTimes reads, once, the sync times a previous run persisted, so that
// status says how stale the served state is even before this run's first
// fetch succeeds. Called with syncMu held.
func (k *Keeper) loadTimes(ctx context.Context) {
	if k.timesLoaded || k.store == nil {
		return
	}
	t, err := k.store.LoadSyncTimes(ctx)
	if err != nil {
		k.log.Warn("load the times of the last fetch and sync", "err", err)
		return
	}
	k.timesLoaded = true
	k.status.update(func(s *statusFields) {
		if s.lastFetchOK.IsZero() {
			s.lastFetchOK = t.LastFetchSuccess
		}
		if s.lastSync.IsZero() {
			s.lastSync = t.LastSync
		}
	})
}

// saveTimes persists sync times. A failure does not fail the sync (the
// database may be read-only: serving goes on) and is logged at debug level:
// the store reports an unwritable database itself, and status shows it.
func (k *Keeper) saveTimes(ctx context.Context, t registry.SyncTimes) {
	if k.store == nil {
		return
	}
	if err := k.store.SaveSyncTimes(ctx, t); err != nil {
		k.log.Debug("save the times of the last fetch and sync", "err", err)
	}
}

// sameEnvs reports whether two states serve the same environment snapshots.
func sameEnvs(a, b *registry.Served) bool {
	if len(a.Envs) != len(b.Envs) {
		return false
	}
	for env, s := range a.Envs {
		if b.Envs[env] != s {
			return false
		}
	}
	return true
}

// buildServed builds the snapshots of the tracked branch and environments
// from the local clone, reusing the previous state's snapshots of commits
// that did not move. When the history index cannot be updated it still
// returns what can be served, with the error: the previous state if there
// is one, else the commit the persisted index covers, marked stale.
func (k *Keeper) buildServed(ctx context.Context, prev *registry.Served) (*registry.Served, error) {
	refs, err := k.src.Refs(ctx)
	if err != nil {
		return nil, fmt.Errorf("list refs: %w", err)
	}
	headRef := "refs/heads/" + k.branch
	headSHA, ok := refs[headRef]
	if !ok {
		return nil, registry.Errorf(registry.ENOTFOUND, "branch %q not found in the repository", k.branch)
	}
	if prev == nil {
		prev = &registry.Served{}
	}
	var indexErr error
	indexed := k.indexHead()
	if k.index != nil {
		if indexErr = k.index.Update(ctx, headSHA); indexErr != nil {
			if ctx.Err() != nil || prev.Head != nil {
				return nil, indexErr // keep serving what was served
			}
			// Nothing served yet (a start with an unwritable or damaged
			// database): serve the commit the persisted index covers, so
			// that every body served has its version number.
			covered := k.index.Head()
			if covered == "" {
				return nil, indexErr
			}
			k.log.Error("history index cannot be updated; serving the last indexed commit", "commit", covered, "head", headSHA, "err", indexErr)
			headSHA = covered
		}
	}
	defer k.memo.rotate()
	// Content the index numbered since (a merge brought an environment's
	// edit onto the branch) changes the body of snapshots that served it
	// unnumbered: those are rebuilt even if their commit did not move.
	renumbered := k.indexHead() != indexed

	st := &registry.Served{Refs: refs, Envs: map[string]*registry.Snapshot{}, EnvRefs: map[string]string{}, EnvErrs: map[string]string{}}
	if st.Head, err = k.snapshotLine(ctx, headSHA, headRef, prev.Head, renumbered); err != nil {
		return nil, err
	}
	if indexErr != nil {
		st.Head = markStale(st.Head, fmt.Sprintf("the history index cannot be updated (%s): serving commit %s, the last it covers", registry.ErrorMessage(indexErr), headSHA))
	}
	for env, ref := range st.Head.Config.Environments {
		full, sha, ok := registry.LookupRef(refs, ref)
		if !ok {
			st.EnvErrs[env] = fmt.Sprintf("ref %q not found", ref)
			continue
		}
		st.EnvRefs[env] = full
		var prevEnv *registry.Snapshot
		if old, ok := prev.Envs[env]; ok {
			prevEnv = unpinned(old)
		}
		s, err := k.snapshotLine(ctx, sha, full, prevEnv, renumbered)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// One environment that cannot be built must not hold back
			// the others: it keeps what it served, and says why.
			k.log.Error("build environment snapshot", "environment", env, "commit", sha, "err", err)
			st.EnvErrs[env] = fmt.Sprintf("cannot build commit %s: %s", sha, registry.ErrorMessage(err))
			if old, ok := prev.Envs[env]; ok {
				st.Envs[env] = old
			}
			continue
		}
		st.Envs[env] = s
	}
	st.Default, st.DefaultRef = st.Head, headRef
	if de := st.Head.Config.DefaultEnvironment; de != "" {
		st.Default, st.DefaultRef = nil, ""
		switch s, ok := st.Envs[de]; {
		case ok:
			st.Default, st.DefaultRef = s, st.EnvRefs[de]
		case prev.Default != nil && prev.DefaultEnv == de:
			// The ref went away (a tag deleted to be re-pushed, a typo):
			// never fall back to unreleased content; keep what was served.
			st.Default, st.DefaultRef = prev.Default, prev.DefaultRef
			st.EnvErrs[de] += "; requests without a selection keep getting its last commit"
		}
		st.DefaultEnv = de
	}
	st.Pins, st.PinsProblem, err = k.readPins(ctx, st.Head.Commit.SHA, prev)
	if err != nil {
		return nil, err
	}
	if err := k.applyPins(ctx, st, prev); err != nil {
		return nil, err
	}
	return st, indexErr
}

// markStale returns a copy of s whose every entry is marked stale for why.
func markStale(s *registry.Snapshot, why string) *registry.Snapshot {
	entries := make([]*registry.Entry, 0, s.Len())
	for _, name := range s.Names() {
		e, _ := s.Get(name)
		entries = append(entries, e.WithStale(why))
	}
	return registry.NewSnapshot(s.Commit, s.Ref, s.Config, s.Problems, s.Built, entries)
}

// snapshotLine returns the snapshot of sha for a ref the server tracks: the
// previous one if the ref did not move (and, when the index numbered new
// content, prev has none it served unnumbered), else a new one built with
// prev as its last known good.
func (k *Keeper) snapshotLine(ctx context.Context, sha, ref string, prev *registry.Snapshot, renumbered bool) (*registry.Snapshot, error) {
	if prev != nil && prev.Commit.SHA == sha && !(renumbered && prev.Unnumbered > 0) {
		return prev, nil
	}
	return k.builder.build(ctx, sha, ref, prev)
}

// Resolve returns the snapshot sel selects and the ref it resolved to (a
// full ref name, or a commit sha). Errors: EUNAVAILABLE before the first
// sync or while too many lookups of unknown refs run, ENOTFOUND for an
// unknown environment or ref, EINVALID for a malformed one, ETIMEOUT when
// ctx ends first.
func (k *Keeper) Resolve(ctx context.Context, sel registry.Selector) (*registry.Snapshot, string, error) {
	st := k.served.Load()
	if st == nil {
		return nil, "", errNotLoaded
	}
	switch {
	case sel.Env != "":
		if s, ok := st.Envs[sel.Env]; ok {
			return s, st.EnvRefs[sel.Env], nil
		}
		if why, ok := st.EnvErrs[sel.Env]; ok && st.Environments()[sel.Env] != "" {
			return nil, "", registry.Errorf(registry.ENOTFOUND, "environment %q is not served: %s", sel.Env, why)
		}
		// Without configuration an environment is the tag, or else the
		// branch, of that name.
		for _, full := range []string{"refs/tags/" + sel.Env, "refs/heads/" + sel.Env} {
			if sha, ok := st.Refs[full]; ok {
				s, err := k.snapshotOf(ctx, st, sha, full)
				return s, full, err
			}
		}
		return nil, "", registry.Errorf(registry.ENOTFOUND, "environment %q not found: not configured in %s and no tag or branch of that name", sel.Env, registry.ConfigFile)
	case sel.Ref != "":
		if err := registry.ValidateRef(sel.Ref); err != nil {
			return nil, "", err
		}
		if full, sha, ok := registry.LookupRef(st.Refs, sel.Ref); ok {
			s, err := k.snapshotOf(ctx, st, sha, full)
			return s, full, err
		}
		if registry.IsHex(sel.Ref) && len(sel.Ref) >= 4 && len(sel.Ref) <= 40 {
			sha, err := k.src.ResolveCommit(ctx, strings.ToLower(sel.Ref))
			switch {
			case err == nil:
				s, err := k.snapshotOf(ctx, st, sha, sha)
				return s, sha, err
			case registry.ErrorCode(err) != registry.ENOTFOUND:
				return nil, "", err
			}
		}
		full := sel.Ref
		if !strings.HasPrefix(full, "refs/") {
			full = "refs/heads/" + full
		}
		if k.remote == nil || sel.Local {
			return nil, "", registry.Errorf(registry.ENOTFOUND, "ref %q not found", sel.Ref)
		}
		sha, err := k.remote.lookup(ctx, full)
		if err != nil {
			if registry.ErrorCode(err) == registry.ENOTFOUND {
				return nil, "", registry.Errorf(registry.ENOTFOUND, "ref %q not found", sel.Ref)
			}
			return nil, "", err
		}
		s, err := k.snapshotOf(ctx, st, sha, full)
		return s, full, err
	}
	if st.Default == nil {
		return nil, "", registry.Errorf(registry.EUNAVAILABLE, "the default environment %q is not served: %s", st.DefaultEnv, st.EnvErrs[st.DefaultEnv])
	}
	return st.Default, st.DefaultRef, nil
}

// Snapshot returns the snapshot of commit sha: a served one if it is at
// that commit, else one built on demand. Errors: EUNAVAILABLE before the
// first sync, ENOTFOUND for an unknown commit, ETIMEOUT.
func (k *Keeper) Snapshot(ctx context.Context, sha string) (*registry.Snapshot, error) {
	st := k.served.Load()
	if st == nil {
		return nil, errNotLoaded
	}
	return k.snapshotOf(ctx, st, sha, sha)
}

// snapshotOf returns the snapshot of sha for ref: a served one if it is at
// that commit, else one from the on-demand cache or built now.
func (k *Keeper) snapshotOf(ctx context.Context, st *registry.Served, sha, ref string) (*registry.Snapshot, error) {
	if st.Head.Commit.SHA == sha {
		return st.Head, nil
	}
	for _, s := range st.Envs {
		if s.Commit.SHA == sha {
			return unpinned(s), nil
		}
	}
	return k.demand.get(ctx, sha, ref)
}

// Status returns what is served and how fresh it is.
func (k *Keeper) Status() registry.Status {
	ss := k.status.get()
	now := k.now()
	out := registry.Status{Branch: k.branch, LastError: ss.lastError, ConsecutiveFailures: ss.failures, Environments: []registry.EnvStatus{}}
	age := func(t time.Time) *float64 { a := now.Sub(t).Seconds(); return &a }
	if !ss.lastAttempt.IsZero() {
		out.LastFetchAttempt, out.LastAttemptAge = &ss.lastAttempt, age(ss.lastAttempt)
	}
	if !ss.lastFetchOK.IsZero() {
		out.LastFetchSuccess, out.LastFetchAgeSeconds = &ss.lastFetchOK, age(ss.lastFetchOK)
	}
	if !ss.lastSync.IsZero() {
		out.LastSync, out.LastSyncAge = &ss.lastSync, age(ss.lastSync)
	}
	if k.index != nil {
		hs := k.index.Stats()
		out.History = &hs
	}
	if h, ok := k.store.(registry.StoreHealth); ok {
		if err := h.Health(); err != nil {
			out.DatabaseError = registry.ErrorMessage(err)
		}
	}
	st := k.served.Load()
	if st == nil {
		return out
	}
	out.Ready = true
	out.Head = refStatus(st.Head)
	out.Pins = pinsStatus(st)
	out.Default = st.DefaultRef
	for _, n := range slices.Sorted(maps.Keys(st.Environments())) {
		es := registry.EnvStatus{Name: n, Error: st.EnvErrs[n]}
		if s, ok := st.Envs[n]; ok {
			es.RefStatus = *refStatus(s)
			es.Ref = st.EnvRefs[n]
		} else {
			es.Ref = st.Environments()[n]
			es.Problems, es.Stale = []registry.Problem{}, []registry.StalePrompt{}
		}
		out.Environments = append(out.Environments, es)
	}
	return out
}

func refStatus(s *registry.Snapshot) *registry.RefStatus {
	at := s.Commit.Time
	rs := &registry.RefStatus{Ref: s.Ref, Commit: s.Commit.SHA, CommitTime: &at, Prompts: s.Len(),
		Problems: s.Problems, Stale: s.Stale()}
	if rs.Problems == nil {
		rs.Problems = []registry.Problem{}
	}
	if rs.Stale == nil {
		rs.Stale = []registry.StalePrompt{}
	}
	return rs
}

// syncStatus is what the syncs did, for Status.
type syncStatus struct {
	mu sync.Mutex // guards f
	f  statusFields
}

type statusFields struct {
	lastAttempt, lastFetchOK, lastSync time.Time
	lastError                          string
	failures                           int
	syncs                              int64
}

func (s *syncStatus) update(fn func(*statusFields)) {
	s.mu.Lock()
	fn(&s.f)
	s.mu.Unlock()
}

func (s *syncStatus) get() statusFields {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.f
}

// IndexStats reports what the history index did; zero without one.
func (k *Keeper) IndexStats() registry.IndexStats {
	if k.index == nil {
		return registry.IndexStats{}
	}
	return k.index.Stats()
}
