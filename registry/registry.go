package registry

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Registry.
type Options struct {
	Source Source
	Parser Parser
	// Branch is the tracked branch; default "main".
	Branch string
	// Cache keeps snapshots of refs built on demand; nil builds them on
	// every request.
	Cache SnapshotCache
	// History persists the version index and the promotion ledger, and
	// HistorySource walks Git history for it. With both nil prompts carry
	// no version numbers and environment moves are not recorded.
	History       HistoryStore
	HistorySource HistorySource
	// FetchTimeout bounds one fetch; default one minute.
	FetchTimeout time.Duration
	Logger       *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Registry serves prompts from snapshots of the tracked branch and of the
// configured environments, and keeps them current through Sync. Reads never
// wait for a sync: they load the current state with one atomic pointer read.
type Registry struct {
	src    Source
	branch string
	cache  SnapshotCache
	fetchT time.Duration
	log    *slog.Logger
	now    func() time.Time

	state atomic.Pointer[state]

	syncMu  sync.Mutex // serialises Sync; guards builder and lastRefs
	builder builder
	index   *index            // nil without a history store
	ledger  HistoryStore      // nil without a history store
	hsrc    HistorySource     // nil without a history store
	refsAt  map[string]string // environment → commit last recorded in the ledger; nil until loaded

	demandMu   sync.Mutex        // serialises on-demand builds so each commit is built once
	demandMemo map[string]parsed // parse results kept across on-demand builds; guarded by demandMu

	remoteMu sync.Mutex              // serialises asking the remote for unknown refs
	remote   map[string]remoteAnswer // its recent answers

	statMu sync.Mutex
	stat   syncStatus

	trig    chan struct{} // Trigger → Watch, buffered 1 so triggers coalesce
	causeMu sync.Mutex
	cause   Cause // why the pending triggered sync runs
}

// Cause says why a sync ran; the promotion ledger records it with each
// environment move the sync observed.
type Cause struct {
	Via      string // start, poll, webhook, api
	Delivery string // the webhook delivery id, if any
}

// state is what one sync produced. It is immutable once published.
type state struct {
	refs    map[string]string    // full ref name → commit sha
	head    *Snapshot            // the tracked branch
	envs    map[string]*Snapshot // configured environments that resolved
	envRefs map[string]string    // configured environment → full ref name
	envErrs map[string]string    // configured environment → why it is not served
	def     *Snapshot            // what a request without selection gets; nil: nothing (503)
	defRef  string               // the ref def was resolved from
	defEnv  string               // the default environment, if configured
}

type syncStatus struct {
	lastAttempt, lastFetchOK, lastSync time.Time
	lastError                          string
	failures                           int
	syncs                              int64
}

// New returns a Registry with nothing loaded: Resolve answers EUNAVAILABLE
// until the first successful Sync.
func New(opts Options) *Registry {
	r := &Registry{
		src:    opts.Source,
		branch: opts.Branch,
		cache:  opts.Cache,
		fetchT: opts.FetchTimeout,
		log:    opts.Logger,
		now:    opts.Now,

		trig:       make(chan struct{}, 1),
		demandMemo: map[string]parsed{},
	}
	if r.branch == "" {
		r.branch = "main"
	}
	if r.fetchT <= 0 {
		r.fetchT = time.Minute
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.builder = builder{src: opts.Source, parser: opts.Parser, now: r.now}
	if opts.History != nil && opts.HistorySource != nil {
		r.index = newIndex(opts.History, opts.HistorySource, opts.Source, opts.Parser, r.branch)
		r.ledger, r.hsrc = opts.History, opts.HistorySource
		r.builder.versions = r.index.lookup
		r.builder.lastGood = r.lastGood
		r.index.peek = r.builder.peek
	}
	return r
}

// lastGood reads the version of name the history says was current at
// commit sha (the last valid content before it): nothing for a commit off
// the indexed history.
func (r *Registry) lastGood(ctx context.Context, name, sha string) (*Prompt, bool) {
	seq := r.index.seq(sha)
	if seq == 0 {
		return nil, false
	}
	spans, err := r.ledger.Spans(ctx, r.branch, name)
	if err != nil {
		return nil, false
	}
	n := versionAt(spans, seq)
	vs := r.index.list(name)
	if n < 1 || n > len(vs) {
		return nil, false
	}
	v := vs[n-1]
	data, err := r.src.ReadFile(ctx, v.Commit.SHA, v.Path)
	if err != nil {
		return nil, false
	}
	p, err := r.builder.parser.ParsePrompt(v.Path, name, data)
	if err != nil || p.Name != name {
		return nil, false
	}
	p.Raw, p.Checksum, p.Path, p.File = data, Checksum(data), v.Path, v.Path
	return p, true
}

// Branch returns the tracked branch.
func (r *Registry) Branch() string { return r.branch }

// Ready reports whether a snapshot is loaded.
func (r *Registry) Ready() bool { return r.state.Load() != nil }

// Sync fetches the remote, indexes new history, and rebuilds the snapshots
// of the tracked branch and of every configured environment, then publishes
// them at once. When the fetch fails it still builds from what the local
// clone has (so a restart with an unreachable remote serves the previous
// clone) and returns the fetch error. Syncs are serialised; reads are never
// blocked. Environment moves are recorded as observed through the API.
func (r *Registry) Sync(ctx context.Context) error {
	return r.SyncFor(ctx, Cause{Via: "api"})
}

// SyncFor is Sync with the cause the promotion ledger records.
func (r *Registry) SyncFor(ctx context.Context, cause Cause) error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	start := r.now()
	r.setStatus(func(s *syncStatus) { s.lastAttempt = start })

	fctx, cancel := context.WithTimeout(ctx, r.fetchT)
	fetchErr := r.src.Fetch(fctx)
	cancel()
	if fetchErr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.log.Warn("fetch failed; serving what the clone has", "err", fetchErr)
	} else {
		r.setStatus(func(s *syncStatus) { s.lastFetchOK = r.now() })
	}

	prev := r.state.Load()
	st, err := r.buildState(ctx)
	if err == nil {
		r.state.Store(st)
		if lerr := r.recordMoves(ctx, st, cause); lerr != nil {
			r.log.Error("record environment moves", "err", lerr)
		}
		err = fetchErr
	}
	r.setStatus(func(s *syncStatus) {
		s.syncs++
		if err != nil {
			s.failures++
			s.lastError = err.Error()
			return
		}
		s.failures, s.lastError, s.lastSync = 0, "", r.now()
	})
	if err != nil {
		return err
	}
	// Log at info only what changed something: a poll that found nothing
	// new every few seconds would drown the log.
	level := slog.LevelDebug
	if prev == nil || prev.head != st.head || !sameEnvs(prev, st) {
		level = slog.LevelInfo
	}
	r.log.Log(ctx, level, "synced", "commit", st.head.Commit.SHA, "prompts", st.head.Len(),
		"problems", len(st.head.Problems), "environments", len(st.envs), "took", r.now().Sub(start))
	return nil
}

// sameEnvs reports whether two states serve the same environment snapshots.
func sameEnvs(a, b *state) bool {
	if len(a.envs) != len(b.envs) {
		return false
	}
	for env, s := range a.envs {
		if b.envs[env] != s {
			return false
		}
	}
	return true
}

func (r *Registry) setStatus(f func(*syncStatus)) {
	r.statMu.Lock()
	f(&r.stat)
	r.statMu.Unlock()
}

// buildState builds the snapshots of the tracked branch and environments
// from the local clone, reusing the previous state's snapshots of commits
// that did not move.
func (r *Registry) buildState(ctx context.Context) (*state, error) {
	refs, err := r.src.Refs(ctx)
	if err != nil {
		return nil, fmt.Errorf("list refs: %w", err)
	}
	headRef := "refs/heads/" + r.branch
	headSHA, ok := refs[headRef]
	if !ok {
		return nil, Errorf(ENOTFOUND, "branch %q not found in the repository", r.branch)
	}
	prev := r.state.Load()
	if prev == nil {
		prev = &state{}
	}
	if r.index != nil {
		if err := r.index.update(ctx, headSHA); err != nil {
			return nil, err
		}
	}
	r.builder.beginSync()
	defer r.builder.endSync()

	st := &state{refs: refs, envs: map[string]*Snapshot{}, envRefs: map[string]string{}, envErrs: map[string]string{}}
	if st.head, err = r.snapshotLine(ctx, headSHA, headRef, prev.head); err != nil {
		return nil, err
	}
	for env, ref := range st.head.Config.Environments {
		full, sha, ok := LookupRef(refs, ref)
		if !ok {
			st.envErrs[env] = fmt.Sprintf("ref %q not found", ref)
			continue
		}
		st.envRefs[env] = full
		s, err := r.snapshotLine(ctx, sha, full, prev.envs[env])
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// One environment that cannot be built must not hold back
			// the others: it keeps what it served, and says why.
			r.log.Error("build environment snapshot", "environment", env, "commit", sha, "err", err)
			st.envErrs[env] = fmt.Sprintf("cannot build commit %s: %s", sha, ErrorMessage(err))
			if old, ok := prev.envs[env]; ok {
				st.envs[env] = old
			}
			continue
		}
		st.envs[env] = s
	}
	st.def, st.defRef = st.head, headRef
	if de := st.head.Config.DefaultEnvironment; de != "" {
		st.def, st.defRef = nil, ""
		switch s, ok := st.envs[de]; {
		case ok:
			st.def, st.defRef = s, st.envRefs[de]
		case prev.def != nil && prev.defEnv == de:
			// The ref went away (a tag deleted to be re-pushed, a typo):
			// never fall back to unreleased content; keep what was served.
			st.def, st.defRef = prev.def, prev.defRef
			st.envErrs[de] += "; requests without a selection keep getting its last commit"
		}
		st.defEnv = de
	}
	return st, nil
}

// snapshotLine returns the snapshot of sha for a ref the server tracks: the
// previous one if the ref did not move, else a new one built with prev as
// its last known good.
func (r *Registry) snapshotLine(ctx context.Context, sha, ref string, prev *Snapshot) (*Snapshot, error) {
	if prev != nil && prev.Commit.SHA == sha {
		return prev, nil
	}
	return r.builder.build(ctx, sha, ref, prev)
}

// LookupRef finds ref among refs (full ref names → commits): a full name,
// or a short name tried as a tag and then as a branch, the order Git itself
// resolves names in.
func LookupRef(refs map[string]string, ref string) (full, sha string, ok bool) {
	if strings.HasPrefix(ref, "refs/") {
		sha, ok = refs[ref]
		return ref, sha, ok
	}
	for _, prefix := range []string{"refs/tags/", "refs/heads/"} {
		if sha, ok = refs[prefix+ref]; ok {
			return prefix + ref, sha, true
		}
	}
	return "", "", false
}

// Selector picks what a request serves. At most one field is set; none
// selects the default environment, or the tracked branch head.
type Selector struct {
	Env string // an environment name
	Ref string // a branch, tag, full ref name, or full or abbreviated commit sha
}

// Resolve returns the snapshot sel selects and the ref it resolved to (a
// full ref name, or a commit sha). Errors: EUNAVAILABLE before the first
// sync, ENOTFOUND for an unknown environment or ref, EINVALID for a
// malformed one.
func (r *Registry) Resolve(ctx context.Context, sel Selector) (*Snapshot, string, error) {
	st := r.state.Load()
	if st == nil {
		return nil, "", Errorf(EUNAVAILABLE, "no snapshot loaded yet: the repository has not been synced")
	}
	switch {
	case sel.Env != "":
		if s, ok := st.envs[sel.Env]; ok {
			return s, st.envRefs[sel.Env], nil
		}
		if why, ok := st.envErrs[sel.Env]; ok && st.head.Config.Environments[sel.Env] != "" {
			return nil, "", Errorf(ENOTFOUND, "environment %q is not served: %s", sel.Env, why)
		}
		// Without configuration an environment is the tag, or else the
		// branch, of that name.
		for _, full := range []string{"refs/tags/" + sel.Env, "refs/heads/" + sel.Env} {
			if sha, ok := st.refs[full]; ok {
				s, err := r.onDemand(ctx, st, sha, full)
				return s, full, err
			}
		}
		return nil, "", Errorf(ENOTFOUND, "environment %q not found: not configured in %s and no tag or branch of that name", sel.Env, ConfigFile)
	case sel.Ref != "":
		if err := validateRef(sel.Ref); err != nil {
			return nil, "", err
		}
		if full, sha, ok := LookupRef(st.refs, sel.Ref); ok {
			s, err := r.onDemand(ctx, st, sha, full)
			return s, full, err
		}
		if isHex(sel.Ref) && len(sel.Ref) >= 4 && len(sel.Ref) <= 40 {
			sha, err := r.src.ResolveCommit(ctx, strings.ToLower(sel.Ref))
			switch {
			case err == nil:
				s, err := r.onDemand(ctx, st, sha, sha)
				return s, sha, err
			case ErrorCode(err) != ENOTFOUND:
				return nil, "", err
			}
		}
		full := sel.Ref
		if !strings.HasPrefix(full, "refs/") {
			full = "refs/heads/" + full
		}
		sha, err := r.remoteRef(ctx, full)
		if err != nil {
			if ErrorCode(err) == ENOTFOUND {
				return nil, "", Errorf(ENOTFOUND, "ref %q not found", sel.Ref)
			}
			return nil, "", err
		}
		s, err := r.onDemand(ctx, st, sha, full)
		return s, full, err
	}
	if st.def == nil {
		return nil, "", Errorf(EUNAVAILABLE, "the default environment %q is not served: %s", st.defEnv, st.envErrs[st.defEnv])
	}
	return st.def, st.defRef, nil
}

// maxDemandMemo bounds the parse results kept for on-demand builds.
const maxDemandMemo = 8192

// remoteRefTTL is how long the answer of the remote about a ref the clone
// does not have is reused, so that requests for unknown refs cannot turn
// into a fetch each.
const remoteRefTTL = 30 * time.Second

type remoteAnswer struct {
	sha string
	err error
	at  time.Time
}

// remoteRef asks the remote for a ref the last fetch did not bring
// (refs/pull/12/head, a branch pushed since), at most once per ref every
// remoteRefTTL.
func (r *Registry) remoteRef(ctx context.Context, full string) (string, error) {
	if r.hsrc == nil {
		return "", Errorf(ENOTFOUND, "ref %q not found", full)
	}
	r.remoteMu.Lock()
	defer r.remoteMu.Unlock()
	if a, ok := r.remote[full]; ok && r.now().Sub(a.at) < remoteRefTTL {
		return a.sha, a.err
	}
	fctx, cancel := context.WithTimeout(ctx, r.fetchT)
	defer cancel()
	sha, err := r.hsrc.FetchRef(fctx, full)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return "", err // not cached: the remote may be back soon
	}
	if r.remote == nil || len(r.remote) >= 1024 {
		r.remote = map[string]remoteAnswer{}
	}
	r.remote[full] = remoteAnswer{sha: sha, err: err, at: r.now()}
	return sha, err
}

// onDemand returns the snapshot of sha: a tracked one if it serves that
// commit, else one from the cache or built now.
func (r *Registry) onDemand(ctx context.Context, st *state, sha, ref string) (*Snapshot, error) {
	if st.head.Commit.SHA == sha {
		return st.head, nil
	}
	for _, s := range st.envs {
		if s.Commit.SHA == sha {
			return s, nil
		}
	}
	if r.cache != nil {
		if s, ok := r.cache.Get(sha); ok {
			return s, nil
		}
	}
	r.demandMu.Lock()
	defer r.demandMu.Unlock()
	if r.cache != nil {
		if s, ok := r.cache.Get(sha); ok {
			return s, nil
		}
	}
	// Commits built on demand share most of their files: parse results are
	// kept across these builds (bounded), so walking ?version=1..N or
	// ?ref=<sha> costs a parse per changed file, not per file.
	b := builder{src: r.src, parser: r.builder.parser, now: r.now, versions: r.builder.versions, memo: r.demandMemo}
	b.beginSync()
	s, err := b.build(ctx, sha, ref, nil)
	if len(r.demandMemo)+len(b.used) > maxDemandMemo {
		r.demandMemo = map[string]parsed{}
	}
	for k, v := range b.used {
		r.demandMemo[k] = v
	}
	if err != nil {
		return nil, err
	}
	if r.cache != nil {
		r.cache.Add(sha, s)
	}
	return s, nil
}

// MaxRefLength bounds a ref in a request.
const MaxRefLength = 256

// validateRef rejects refs Git could never name.
func validateRef(ref string) error {
	if len(ref) > MaxRefLength {
		return Errorf(EINVALID, "ref is longer than %d bytes", MaxRefLength)
	}
	for i := 0; i < len(ref); i++ {
		if c := ref[i]; c < 0x21 || c == 0x7f || strings.IndexByte("~^:?*[\\", c) >= 0 {
			return Errorf(EINVALID, "ref %q contains a character Git does not allow", ref)
		}
	}
	if strings.Contains(ref, "..") || strings.Contains(ref, "@{") || strings.HasSuffix(ref, ".lock") || strings.HasSuffix(ref, "/") || strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "-") {
		return Errorf(EINVALID, "ref %q is not a valid Git ref name", ref)
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// Status describes what the registry serves and how fresh it is.
type Status struct {
	Ready  bool   `json:"ready"`
	Branch string `json:"branch"`
	// Head is the tracked branch's snapshot; nil before the first sync.
	Head *RefStatus `json:"head"`
	// Default names what requests without a selection serve.
	Default      string      `json:"default"`
	Environments []EnvStatus `json:"environments"`

	LastFetchAttempt    *time.Time `json:"last_fetch_attempt"`
	LastAttemptAge      *float64   `json:"last_fetch_attempt_age_seconds"`
	LastFetchSuccess    *time.Time `json:"last_fetch_success"`
	LastFetchAgeSeconds *float64   `json:"last_fetch_success_age_seconds"`
	LastSync            *time.Time `json:"last_sync"`
	LastSyncAge         *float64   `json:"last_sync_age_seconds"`
	LastError           string     `json:"last_error,omitempty"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	// History is what the version index holds and did; nil without one.
	History *IndexStats `json:"history,omitempty"`
}

// RefStatus is one served snapshot.
type RefStatus struct {
	Ref        string    `json:"ref"`
	Commit     string    `json:"commit"`
	CommitTime time.Time `json:"commit_time"`
	Prompts    int       `json:"prompts"`
	// Problems lists the invalid files at the commit, and Stale the
	// prompts served from their last known good version.
	Problems []Problem     `json:"problems"`
	Stale    []StalePrompt `json:"stale"`
}

// EnvStatus is one configured environment.
type EnvStatus struct {
	Name string `json:"name"`
	RefStatus
	Error string `json:"error,omitempty"`
}

// Status returns the registry's status now.
func (r *Registry) Status() Status {
	r.statMu.Lock()
	ss := r.stat
	r.statMu.Unlock()
	now := r.now()
	out := Status{Branch: r.branch, LastError: ss.lastError, ConsecutiveFailures: ss.failures, Environments: []EnvStatus{}}
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
	if r.index != nil {
		hs := r.index.statsNow()
		out.History = &hs
	}
	st := r.state.Load()
	if st == nil {
		return out
	}
	out.Ready = true
	out.Head = refStatus(st.head)
	out.Default = st.defRef
	names := make([]string, 0, len(st.head.Config.Environments))
	for n := range st.head.Config.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		es := EnvStatus{Name: n, Error: st.envErrs[n]}
		if s, ok := st.envs[n]; ok {
			es.RefStatus = *refStatus(s)
			es.Ref = st.envRefs[n]
		} else {
			es.Ref = st.head.Config.Environments[n]
		}
		out.Environments = append(out.Environments, es)
	}
	return out
}

func refStatus(s *Snapshot) *RefStatus {
	rs := &RefStatus{Ref: s.Ref, Commit: s.Commit.SHA, CommitTime: s.Commit.Time, Prompts: s.Len(),
		Problems: s.Problems, Stale: s.Stale()}
	if rs.Problems == nil {
		rs.Problems = []Problem{}
	}
	if rs.Stale == nil {
		rs.Stale = []StalePrompt{}
	}
	return rs
}
