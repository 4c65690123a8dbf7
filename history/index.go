package history

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/promptreg/promptreg/internal/parallel"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/repoconfig"
)

// flushEvery bounds how many commits one index batch holds before it is
// written, which bounds memory on long histories.
const flushEvery = 5000

// Index is the version history of the tracked branch: which distinct
// contents each prompt had, numbered by first appearance, and over which
// commits each was current. A prompt renamed by a commit carrying the
// registry.RenameTrailer starts its new name with the old name's versions.
// It lives in memory for lookups and is persisted in a HistoryStore batch
// by batch.
//
// Update is called by one goroutine at a time (the sync); the lookups
// (Lookup, List, Seq, SHA, Head, Stats, LastGood) are safe for concurrent
// use, also during an Update.
type Index struct {
	store  registry.HistoryStore
	hist   registry.HistorySource
	src    registry.Source
	parser registry.Parser
	branch string

	// Only Update reads and writes these.
	loaded bool       // the persisted index has been loaded into memory
	walk   *walkState // files at the indexed head; rebuilt on demand

	mu        sync.RWMutex // guards the fields below, which lookups read
	commits   []string
	seqOf     map[string]int
	versions  map[string][]registry.Version // name → versions; [i] is number i+1
	byContent map[string]int                // name + "\x00" + checksum → number
	open      map[string]registry.Span      // name → span current at the indexed head
	last      time.Duration                 // duration of the last update that indexed commits
	lastSize  int

	walked, parsed, rewrites atomic.Int64

	// peek returns what the snapshot builder already parsed of a blob at
	// a path, if it did; nil for none.
	peek func(blob, path string) (p *registry.Prompt, err error, ok bool)
}

// walkState is the tree of the indexed head as the walk needs it.
type walkState struct {
	cfg      registry.RepoConfig
	files    map[string]string          // prompt file path → blob
	info     map[string]blobInfo        // prompt file path → what its blob is
	pathName map[string]string          // path → the prompt its last valid content named
	paths    map[string]map[string]bool // prompt name → paths naming it
}

// blobInfo is what the index needs of one blob at one path.
type blobInfo struct {
	name     string
	checksum string
	valid    bool
}

// Options configure an Index.
type Options struct {
	Store  registry.HistoryStore
	Git    registry.HistorySource
	Source registry.Source
	Parser registry.Parser
	Branch string
	// Peek returns what the snapshot builder already parsed of a blob at
	// a path, if it did, so the walk does not parse it again; nil for none.
	// It is called only from Update.
	Peek func(blob, path string) (p *registry.Prompt, err error, ok bool)
}

// New returns the index of opts.Branch, loaded from the store on the first
// Update.
func New(opts Options) *Index {
	return &Index{store: opts.Store, hist: opts.Git, src: opts.Source, parser: opts.Parser, branch: opts.Branch, peek: opts.Peek}
}

// load reads the persisted index into memory.
func (x *Index) load(ctx context.Context) error {
	st, err := x.store.LoadIndex(ctx, x.branch)
	if err != nil {
		return fmt.Errorf("load history index: %w", err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.commits = st.Commits
	x.seqOf = make(map[string]int, len(st.Commits))
	for i, sha := range st.Commits {
		x.seqOf[sha] = i + 1
	}
	x.versions = map[string][]registry.Version{}
	x.byContent = make(map[string]int, len(st.Versions))
	for _, v := range st.Versions {
		x.versions[v.Name] = append(x.versions[v.Name], v)
		x.byContent[v.Name+"\x00"+v.Checksum] = v.Version
	}
	for name, vs := range x.versions {
		sort.Slice(vs, func(i, j int) bool { return vs[i].Version < vs[j].Version })
		x.versions[name] = vs
	}
	x.open = make(map[string]registry.Span, len(st.Open))
	for _, s := range st.Open {
		x.open[s.Name] = s
	}
	x.loaded = true
	x.walk = nil
	return nil
}

// Head returns the indexed head commit, "" if none.
func (x *Index) Head() string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if len(x.commits) == 0 {
		return ""
	}
	return x.commits[len(x.commits)-1]
}

// Update indexes the first-parent history up to head: only the commits not
// indexed yet, after dropping those a history rewrite took away.
func (x *Index) Update(ctx context.Context, head string) (err error) {
	if !x.loaded {
		if err := x.load(ctx); err != nil {
			return err
		}
	}
	if x.Head() == head {
		return nil
	}
	start := time.Now()
	defer func() {
		if err != nil {
			// Memory may be ahead of the store: start again from it.
			if lerr := x.load(context.WithoutCancel(ctx)); lerr != nil {
				x.loaded = false
			}
		}
	}()
	x.mu.RLock()
	seqOf := x.seqOf
	x.mu.RUnlock()
	chain, base, err := x.hist.FirstParents(ctx, head, func(sha string) bool { _, ok := seqOf[sha]; return ok })
	if err != nil {
		return fmt.Errorf("walk history of %s: %w", head, err)
	}
	baseSeq := 0
	if base != "" {
		baseSeq = seqOf[base]
	}
	if baseSeq < len(x.commits) {
		// The old head is not an ancestor of the new one: drop what was
		// indexed past the fork point. Numbered versions stay, so the
		// commits that introduced them must stay readable.
		if err := x.keepDropped(ctx, baseSeq); err != nil {
			return err
		}
		if err := x.store.ApplyIndex(ctx, x.branch, &registry.IndexBatch{Base: baseSeq}); err != nil {
			return fmt.Errorf("drop rewritten history: %w", err)
		}
		if err := x.load(ctx); err != nil {
			return err
		}
		x.rewrites.Add(1)
	}
	if x.walk == nil {
		if x.walk, err = x.stateAt(ctx, base); err != nil {
			return err
		}
	}
	// First the commits and what each changed (sequential: each diff is
	// cheap), then every new prompt blob parsed on all cores, then the
	// changes applied in order.
	steps := make([]step, 0, len(chain))
	parent := base
	for i := len(chain) - 1; i >= 0; i-- {
		sha := chain[i]
		commit, err := x.src.Commit(ctx, sha)
		if err != nil {
			return fmt.Errorf("read commit %s: %w", sha, err)
		}
		changes, err := x.hist.Diff(ctx, parent, sha, "")
		if err != nil {
			return fmt.Errorf("diff %s: %w", sha, err)
		}
		steps = append(steps, step{commit: commit, changes: changes})
		parent = sha
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	memo := map[string]blobInfo{}
	var jobs []parseJob
	for _, st := range steps {
		for _, c := range st.changes {
			if def, ok := registry.NameFromPath(x.walk.cfg.Root, x.walk.cfg.Extensions, c.Path); ok && c.Blob != "" {
				jobs = append(jobs, parseJob{blob: c.Blob, path: c.Path, def: def, size: c.Size})
			}
		}
	}
	if err := x.parseAll(ctx, jobs, memo); err != nil {
		return err
	}

	batch := &registry.IndexBatch{Base: baseSeq}
	opened := map[string]int{} // name → index in batch.Spans of a span opened in this batch
	for i, st := range steps {
		sha, seq := st.commit.SHA, len(x.commits)+1
		touched, err := x.apply(ctx, sha, st.changes, memo)
		if err != nil {
			return err
		}
		batch.Commits = append(batch.Commits, registry.IndexedCommit{Seq: seq, Commit: st.commit})
		x.mu.Lock()
		x.commits = append(x.commits, sha)
		x.seqOf[sha] = seq
		x.inherit(st.commit, batch)
		for _, name := range touched {
			x.advance(name, seq, st.commit, batch, opened)
		}
		x.mu.Unlock()
		x.walked.Add(1)
		if len(batch.Commits) >= flushEvery || i == len(steps)-1 {
			if err := x.store.ApplyIndex(ctx, x.branch, batch); err != nil {
				return fmt.Errorf("save history index: %w", err)
			}
			batch = &registry.IndexBatch{Base: seq}
			opened = map[string]int{}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	x.mu.Lock()
	x.last, x.lastSize = time.Since(start), len(chain)
	x.mu.Unlock()
	return nil
}

// keepDropped asks Git to keep the commits past seq that introduced a
// version, before a rewrite drops them from the index.
func (x *Index) keepDropped(ctx context.Context, seq int) error {
	x.mu.RLock()
	dropped := map[string]bool{}
	for _, sha := range x.commits[seq:] {
		dropped[sha] = true
	}
	var keep []string
	for _, vs := range x.versions {
		for _, v := range vs {
			if dropped[v.Commit.SHA] {
				keep = append(keep, v.Commit.SHA)
				dropped[v.Commit.SHA] = false // once
			}
		}
	}
	x.mu.RUnlock()
	for _, sha := range keep {
		if err := x.hist.Keep(ctx, sha); err != nil {
			return fmt.Errorf("keep commit %s of a version: %w", sha, err)
		}
	}
	return nil
}

// advance records, at commit seq, what prompt name now serves. Called with
// x.mu held.
func (x *Index) advance(name string, seq int, commit registry.Commit, batch *registry.IndexBatch, opened map[string]int) {
	paths := x.walk.paths[name]
	cur, isOpen := x.open[name]
	closeOpen := func() {
		if !isOpen {
			return
		}
		if i, ok := opened[name]; ok {
			batch.Spans[i].To = seq
		} else {
			batch.Closed = append(batch.Closed, registry.Span{Name: name, Version: cur.Version, From: cur.From, To: seq})
		}
		delete(x.open, name)
		delete(opened, name)
	}
	switch len(paths) {
	case 0: // deleted
		closeOpen()
		return
	case 1:
	default: // claimed twice: the last good version stays current
		return
	}
	var path string
	for p := range paths {
		path = p
	}
	info := x.walk.info[path]
	if !info.valid {
		return // broken: the last good version stays current
	}
	num, ok := x.byContent[name+"\x00"+info.checksum]
	if !ok {
		num = len(x.versions[name]) + 1
		v := registry.Version{Name: name, Version: num, Checksum: info.checksum, Path: path, Commit: commit}
		x.versions[name] = append(x.versions[name], v)
		x.byContent[name+"\x00"+info.checksum] = num
		batch.Versions = append(batch.Versions, v)
	}
	if isOpen && cur.Version == num {
		return
	}
	closeOpen()
	s := registry.Span{Name: name, Version: num, From: seq}
	x.open[name] = s
	opened[name] = len(batch.Spans)
	batch.Spans = append(batch.Spans, s)
}

// inherit gives each new name that commit's rename trailers name
// (registry.Renames) the versions of its old name: the same numbers,
// checksums, paths and first commits, so the new name's content numbers on
// from them in advance. Only a rename the commit made counts (see renamed);
// a name that already has versions keeps its own history and ignores the
// trailer. The copies go into batch, so the store holds them like any other
// version. Called with x.mu held, after apply and before advance.
func (x *Index) inherit(commit registry.Commit, batch *registry.IndexBatch) {
	renames := registry.Renames(commit.Message)
	for _, to := range slices.Sorted(maps.Keys(renames)) {
		from := renames[to]
		if !x.renamed(from, to) {
			continue
		}
		for _, v := range x.versions[from] {
			v.Name = to
			x.versions[to] = append(x.versions[to], v)
			x.byContent[to+"\x00"+v.Checksum] = v.Version
			batch.Versions = append(batch.Versions, v)
		}
	}
}

// renamed reports whether the commit just applied renamed prompt from to
// to, as far as the history can tell: from had a current version at the
// parent and no file names it now, to never had a version and exactly one
// valid file names it now. A trailer that does not match its commit (a
// copied message, a rename of a prompt deleted long ago, a new file that
// does not parse) is ignored rather than guessed at. Called with x.mu held.
func (x *Index) renamed(from, to string) bool {
	if _, current := x.open[from]; !current || len(x.walk.paths[from]) > 0 {
		return false
	}
	if len(x.versions[to]) > 0 || len(x.walk.paths[to]) != 1 {
		return false
	}
	for path := range x.walk.paths[to] {
		return x.walk.info[path].valid
	}
	return false
}

// apply updates the walk state with one commit's changes and returns the
// prompt names they touched, sorted.
func (x *Index) apply(ctx context.Context, sha string, changes []registry.Change, memo map[string]blobInfo) ([]string, error) {
	w := x.walk
	touched := map[string]bool{}
	for _, c := range changes {
		if c.Path == registry.ConfigFile {
			cfg, err := x.config(ctx, sha, w.cfg)
			if err != nil {
				return nil, err
			}
			if cfg.Root != w.cfg.Root || !equalStrings(cfg.Extensions, w.cfg.Extensions) {
				// Another set of files are prompts now, with other
				// default names: forget what was parsed under the old
				// configuration and compare whole trees.
				clear(memo)
				nw, err := x.stateAt(ctx, sha)
				if err != nil {
					return nil, err
				}
				for p := range w.files {
					if _, ok := nw.files[p]; !ok {
						changes = append(changes, registry.Change{Path: p})
					}
				}
				for p, b := range nw.files {
					if w.files[p] != b {
						changes = append(changes, registry.Change{Path: p, Blob: b})
					}
				}
			}
			w.cfg = cfg
		}
	}
	for _, c := range changes {
		def, ok := registry.NameFromPath(w.cfg.Root, w.cfg.Extensions, c.Path)
		if _, tracked := w.files[c.Path]; !ok && !tracked {
			continue
		}
		if old, ok := w.pathName[c.Path]; ok {
			touched[old] = true
		}
		if c.Blob == "" || !ok { // deleted, or no longer a prompt file
			w.unname(c.Path)
			delete(w.files, c.Path)
			delete(w.info, c.Path)
			continue
		}
		w.files[c.Path] = c.Blob
		info, err := x.info(ctx, c.Blob, c.Path, def, memo)
		if err != nil {
			return nil, err
		}
		w.info[c.Path] = info
		if info.valid {
			w.unname(c.Path)
			w.name(c.Path, info.name)
			touched[info.name] = true
		}
	}
	return slices.Sorted(maps.Keys(touched)), nil
}

// name records that the file at path names prompt name.
func (w *walkState) name(path, name string) {
	w.pathName[path] = name
	if w.paths[name] == nil {
		w.paths[name] = map[string]bool{}
	}
	w.paths[name][path] = true
}

// unname forgets what the file at path named.
func (w *walkState) unname(path string) {
	if old, ok := w.pathName[path]; ok {
		delete(w.paths[old], path)
		if len(w.paths[old]) == 0 {
			delete(w.paths, old)
		}
		delete(w.pathName, path)
	}
}

// step is one commit of the walk and what it changed.
type step struct {
	commit  registry.Commit
	changes []registry.Change
}

// parseJob is a blob to parse at a path, whose default name is def.
type parseJob struct {
	blob, path, def string
	size            int64 // 0 when unknown
}

// parseAll parses the jobs not in memo yet on every core and adds the
// outcomes to memo. Parses the builder already made (the files of the
// served snapshot) are reused through peek.
func (x *Index) parseAll(ctx context.Context, jobs []parseJob, memo map[string]blobInfo) error {
	todo := jobs[:0:0]
	seen := map[string]bool{}
	for _, j := range jobs {
		key := j.blob + "\x00" + j.path
		if _, ok := memo[key]; ok || seen[key] {
			continue
		}
		seen[key] = true
		if x.peek != nil {
			if p, err, ok := x.peek(j.blob, j.path); ok {
				in := blobInfo{}
				if err == nil {
					in = blobInfo{name: p.Name, checksum: p.Checksum, valid: true}
				}
				memo[key] = in
				continue
			}
		}
		todo = append(todo, j)
	}
	if len(todo) == 0 {
		return nil
	}
	out := make([]blobInfo, len(todo))
	err := parallel.Do(ctx, len(todo), func(i int) (err error) {
		out[i], err = x.parse(ctx, todo[i])
		return err
	})
	if err != nil {
		return err
	}
	for i, j := range todo {
		memo[j.blob+"\x00"+j.path] = out[i]
	}
	return nil
}

// parse reads and parses one blob. Safe for concurrent use.
func (x *Index) parse(ctx context.Context, j parseJob) (blobInfo, error) {
	if j.size > registry.MaxFileSize {
		return blobInfo{}, nil // too large to be a prompt: never a version
	}
	data, err := x.src.ReadBlob(ctx, j.blob)
	if registry.ErrorCode(err) == registry.ETOOLARGE {
		return blobInfo{}, nil
	}
	if err != nil {
		return blobInfo{}, fmt.Errorf("read %s: %w", j.path, err)
	}
	x.parsed.Add(1)
	if int64(len(data)) > registry.MaxFileSize {
		return blobInfo{}, nil
	}
	p, err := x.parser.ParsePrompt(j.path, j.def, data)
	if err != nil {
		return blobInfo{}, nil
	}
	return blobInfo{name: p.Name, checksum: registry.Checksum(data), valid: true}, nil
}

// info parses the blob at path (default name def) through the memo.
func (x *Index) info(ctx context.Context, blob, path, def string, memo map[string]blobInfo) (blobInfo, error) {
	key := blob + "\x00" + path
	if in, ok := memo[key]; ok {
		return in, nil
	}
	in, err := x.parse(ctx, parseJob{blob: blob, path: path, def: def})
	if err != nil {
		return blobInfo{}, err
	}
	memo[key] = in
	return in, nil
}

// config reads promptreg.yaml at sha; a broken one keeps prev.
func (x *Index) config(ctx context.Context, sha string, prev registry.RepoConfig) (registry.RepoConfig, error) {
	cfg, _, err := repoconfig.Read(ctx, x.src, sha, prev)
	return cfg, err
}

// stateAt builds the walk state of commit sha ("" for the empty tree).
func (x *Index) stateAt(ctx context.Context, sha string) (*walkState, error) {
	w := &walkState{cfg: registry.DefaultConfig(), files: map[string]string{}, info: map[string]blobInfo{}, pathName: map[string]string{}, paths: map[string]map[string]bool{}}
	if sha == "" {
		return w, nil
	}
	var err error
	if w.cfg, err = x.config(ctx, sha, registry.DefaultConfig()); err != nil {
		return nil, err
	}
	files, err := x.src.ListFiles(ctx, sha, w.cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("list files at %s: %w", sha, err)
	}
	memo := map[string]blobInfo{}
	var jobs []parseJob
	for _, f := range files {
		if def, ok := registry.NameFromPath(w.cfg.Root, w.cfg.Extensions, f.Path); ok {
			jobs = append(jobs, parseJob{blob: f.Blob, path: f.Path, def: def, size: f.Size})
		}
	}
	if err := x.parseAll(ctx, jobs, memo); err != nil {
		return nil, err
	}
	for _, f := range files {
		def, ok := registry.NameFromPath(w.cfg.Root, w.cfg.Extensions, f.Path)
		if !ok {
			continue
		}
		w.files[f.Path] = f.Blob
		info, err := x.info(ctx, f.Blob, f.Path, def, memo)
		if err != nil {
			return nil, err
		}
		w.info[f.Path] = info
		switch {
		case info.valid:
			w.name(f.Path, info.name)
		default:
			// A broken file keeps serving the prompt its path names by
			// default, if that prompt has a current version.
			x.mu.RLock()
			_, current := x.open[def]
			x.mu.RUnlock()
			if current {
				w.name(f.Path, def)
			}
		}
	}
	return w, nil
}

// Lookup returns the number, first commit and first path of the named
// prompt's content with checksum; 0 when the history has no such version.
func (x *Index) Lookup(name, checksum string) (int, *registry.Commit, string) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n, ok := x.byContent[name+"\x00"+checksum]
	if !ok {
		return 0, nil, ""
	}
	v := x.versions[name][n-1]
	return n, &v.Commit, v.Path
}

// List returns the versions of the named prompt, oldest first.
func (x *Index) List(name string) []registry.Version {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return append([]registry.Version(nil), x.versions[name]...)
}

// Seq returns the sequence number of an indexed commit, 0 if not indexed.
func (x *Index) Seq(sha string) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.seqOf[sha]
}

// SHA returns the indexed commit with sequence number seq.
func (x *Index) SHA(seq int) string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if seq < 1 || seq > len(x.commits) {
		return ""
	}
	return x.commits[seq-1]
}

// Stats reports what the index holds and did.
func (x *Index) Stats() registry.IndexStats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := registry.IndexStats{Commits: len(x.commits), CommitsWalked: x.walked.Load(), BlobsParsed: x.parsed.Load(),
		Rewrites: x.rewrites.Load(), LastUpdate: x.last, LastUpdateSize: x.lastSize}
	for _, vs := range x.versions {
		st.Versions += len(vs)
	}
	return st
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// LastGood returns the version of the named prompt that was current at
// indexed commit sha (the last valid content before it), read and parsed
// from its first commit: what a broken file stands for after a restart,
// when no previous snapshot has it. Nothing for a commit off the indexed
// history.
func (x *Index) LastGood(ctx context.Context, name, sha string) (*registry.Prompt, bool) {
	seq := x.Seq(sha)
	if seq == 0 {
		return nil, false
	}
	spans, err := x.store.Spans(ctx, x.branch, name)
	if err != nil {
		return nil, false
	}
	n := versionAt(spans, seq)
	vs := x.List(name)
	if n < 1 || n > len(vs) {
		return nil, false
	}
	v := vs[n-1]
	data, err := x.src.ReadFile(ctx, v.Commit.SHA, v.Path)
	if err != nil {
		return nil, false
	}
	p, err := x.parser.ParsePrompt(v.Path, name, data)
	if err != nil || p.Name != name {
		return nil, false
	}
	p.Raw, p.Checksum, p.Path, p.File = data, registry.Checksum(data), v.Path, v.Path
	return p, true
}
