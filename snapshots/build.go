package snapshots

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/promptreg/promptreg/internal/parallel"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/repoconfig"
)

// parsed is the memoised outcome of parsing one blob at one path.
type parsed struct {
	prompt *registry.Prompt
	err    error
}

// parseMemo keeps parse outcomes by blob and path ("blob\x00path").
type parseMemo interface {
	get(key string) (parsed, bool)
	put(key string, r parsed)
}

// generations is the parse memo of the syncs: what the current sync used,
// and what the previous one did. Outcomes no sync used are dropped when the
// next one starts (rotate), so the memo holds about one snapshot's files.
// Not safe for concurrent use: syncs run one at a time.
type generations struct {
	prev, cur map[string]parsed
}

func newGenerations() *generations {
	return &generations{prev: map[string]parsed{}, cur: map[string]parsed{}}
}

func (g *generations) get(key string) (parsed, bool) {
	if r, ok := g.cur[key]; ok {
		return r, true
	}
	r, ok := g.prev[key]
	if ok {
		g.cur[key] = r
	}
	return r, ok
}

func (g *generations) put(key string, r parsed) { g.cur[key] = r }

// rotate starts a new generation.
func (g *generations) rotate() { g.prev, g.cur = g.cur, map[string]parsed{} }

// peek returns the outcome of a parse of blob at path that the last sync
// made, for the history walk (which runs before the builds of a sync).
func (g *generations) peek(blob, path string) (*registry.Prompt, error, bool) {
	r, ok := g.prev[blob+"\x00"+path]
	return r.prompt, r.err, ok
}

// builder builds snapshots, parsing each file through its memo so that a
// sync, or an on-demand build, parses only the files that changed.
type builder struct {
	src    registry.Source
	parser registry.Parser
	now    func() time.Time
	memo   parseMemo
	// versions returns the number and first commit of a prompt's content
	// from the history index; nil without one.
	versions func(name, checksum string) (n int, first *registry.Commit, path string)
	// lastGood returns the version of a prompt current at commit sha
	// when its file there is broken and no previous snapshot has it (after
	// a restart); nil without a history index.
	lastGood func(ctx context.Context, name, sha string) (*registry.Prompt, bool)
	// git diffs commits, for incremental builds; nil builds every
	// snapshot in full. states is what the last build of each ref knew
	// (see incremental.go).
	git    registry.HistorySource
	states map[string]*buildState
}

// build builds the snapshot of commit sha for ref. prev is the snapshot the
// same ref served before (nil if none): a prompt whose file is broken at sha
// keeps prev's entry, marked stale. When prev is the snapshot this builder
// built last for ref, and the configuration did not change, the build starts
// from prev and the diff between the two commits (see incremental.go): same
// snapshot, but only what changed is parsed and resolved again.
func (b *builder) build(ctx context.Context, sha, ref string, prev *registry.Snapshot) (*registry.Snapshot, error) {
	commit, err := b.src.Commit(ctx, sha)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", sha, err)
	}
	var problems []registry.Problem
	cfg, err := b.config(ctx, sha, prev, &problems)
	if err != nil {
		return nil, err
	}
	inc, err := b.since(ctx, ref, sha, cfg, prev)
	if err != nil {
		return nil, err
	}
	var fs *fileSet
	if inc != nil {
		fs = inc.files
	} else {
		files, err := b.src.ListFiles(ctx, sha, cfg.Root)
		if err != nil {
			return nil, fmt.Errorf("list files at %s: %w", sha, err)
		}
		b.seed(ref, cfg, files)
		if err := b.prefetch(ctx, cfg, files); err != nil {
			return nil, err
		}
		if fs, err = b.scan(ctx, cfg, files); err != nil {
			return nil, err
		}
	}

	// Files that do not parse, and names claimed twice, are problems.
	broken := map[string]string{} // path → problem, for last known good
	for _, path := range slices.Sorted(maps.Keys(fs.broken)) {
		prob := fs.files[path].problem
		problems = append(problems, prob)
		broken[path] = prob.Error()
	}
	for _, name := range slices.Sorted(maps.Keys(fs.dups)) {
		paths := fs.claims[name]
		for i, p := range paths {
			other := paths[(i+1)%len(paths)]
			prob := registry.Problem{Path: p, Name: name, Message: fmt.Sprintf("prompt name %q is also claimed by %s", name, other)}
			problems = append(problems, prob)
			broken[p] = prob.Error()
		}
	}
	fresh := fs.fresh // name → valid prompt at sha

	// Last known good: a broken file keeps serving what the same ref served
	// for it before, unless a valid file now serves that name.
	stale := map[string]*registry.Entry{}
	fallback := map[string]*registry.Prompt{} // last good versions read from history
	why := map[string]string{}
	for path, problem := range broken {
		if old, ok := prev.ByPath(path); ok {
			if _, taken := fresh[old.Prompt.Name]; !taken {
				stale[old.Prompt.Name] = old.WithStale(problem)
			}
			continue
		}
		name := problemName(problems, path)
		if _, taken := fresh[name]; taken || name == "" || b.lastGood == nil {
			continue
		}
		if p, ok := b.lastGood(ctx, name, sha); ok {
			p.File = path // the broken file stands for it at this commit
			fallback[name], why[name] = p, problem
		}
	}

	// Resolve partials. A prompt whose partials cannot be resolved is broken
	// too, and falls back to its last known good version. An incremental
	// build resolves only the dirty names (unless one fails), and takes the
	// others' entries from prev as they are.
	var dirty map[string]bool
	var prior map[string]*resolved
	if inc != nil {
		dirty = inc.dirty(prev, problems, broken, stale, fallback)
		prior = inc.prior.res
	}
	r, results, only := resolveAll(fs, stale, fallback, why, dirty, prior)
	next := newBuildState(fs, prior, dirty)
	names := fs.names
	if only {
		names = slices.Sorted(maps.Keys(results))
	}
	entries := make([]*registry.Entry, 0, len(names)+len(stale)+len(fallback))
	add := func(e *registry.Entry) { entries = append(entries, e) }
	for _, name := range names {
		p := fresh[name]
		res, ok := results[name]
		if !ok {
			res = prior[name] // not dirty: resolved as before
		}
		if res.err != "" {
			prob := registry.Problem{Path: p.File, Name: name, Message: res.err}
			problems = append(problems, prob)
			if old, ok := prev.Get(name); ok {
				add(old.WithStale(prob.Error()))
			}
			next.note(name, nil, nil, b.versions != nil)
			continue
		}
		if dirty != nil && !dirty[name] {
			if e, ok := unchanged(prev, p, res); ok {
				add(e)
				continue
			}
		}
		e, err := b.entry(cfg, p, res, prev)
		if err != nil {
			return nil, fmt.Errorf("encode prompt %s: %w", name, err)
		}
		add(e)
		next.note(name, res, e, b.versions != nil)
	}
	// The entries so far are the fresh names'. No stale name is fresh, and
	// no fallback name is fresh or stale to be served.
	for _, name := range slices.Sorted(maps.Keys(stale)) {
		add(stale[name])
	}
	for _, name := range slices.Sorted(maps.Keys(fallback)) {
		if _, served := stale[name]; served {
			continue
		}
		res := r.resolve(name, nil)
		if res.err != "" || res.height > registry.MaxIncludeDepth {
			continue
		}
		e, err := b.entry(cfg, fallback[name], res, nil)
		if err != nil {
			return nil, fmt.Errorf("encode prompt %s: %w", name, err)
		}
		add(e.WithStale(why[name]))
	}
	built := b.now()
	var s *registry.Snapshot
	if only {
		// The entries are the dirty names'; the others keep prev's.
		changed := make(map[string]*registry.Entry, len(dirty))
		for name := range dirty {
			changed[name] = nil
		}
		for _, e := range entries {
			changed[e.Prompt.Name] = e
		}
		var ok bool
		if s, ok = prev.Next(commit, ref, cfg, problems, built, changed); !ok {
			entries = allEntries(fs.names, entries[:len(names)], entries[len(names):], prev)
		}
	}
	if s == nil {
		s = registry.NewSnapshot(commit, ref, cfg, problems, built, entries)
	}
	b.keep(ref, s, next, prev, broken, stale, fallback)
	return s, nil
}

// entry returns the entry of p with its partials resolved, reusing prev's
// entry when nothing it depends on changed.
func (b *builder) entry(cfg registry.RepoConfig, parsedPrompt *registry.Prompt, res *resolved, prev *registry.Snapshot) (*registry.Entry, error) {
	p := *parsedPrompt // the parsed value is shared through the memo: copy
	p.Includes = res.includes
	p.Variables = res.variables
	if b.versions != nil {
		var first string
		if p.Version, p.Commit, first = b.versions(p.Name, p.Checksum); first != "" {
			p.Path = first
		}
	}
	p.Mode = registry.ModeOf(cfg, p.Path, p.Commit)
	// With a history, content it has not numbered (not on the tracked
	// branch yet) has a body without version and commit: a tag of its own.
	unnumbered := b.versions != nil && p.Version == 0
	etag := registry.ETag(p.Checksum, p.Includes)
	if unnumbered {
		etag = registry.UnnumberedETag(etag, p.Path)
	}
	stale := res.stale
	if old, ok := prev.Get(p.Name); ok && old.Prompt.File == p.File && old.Prompt.Path == p.Path && old.ETag == etag &&
		old.Prompt.Version == p.Version && old.Prompt.Mode == p.Mode && old.Stale == "" {
		if stale == "" {
			return old, nil
		}
		return old.WithStale(stale), nil
	}
	e, err := registry.NewEntry(&p, unnumbered)
	if err != nil {
		return nil, err
	}
	if stale != "" {
		return e.WithStale(stale), nil
	}
	return e, nil
}

// config reads promptreg.yaml at sha. A broken file is reported and replaced
// by the configuration prev used, or the default one.
func (b *builder) config(ctx context.Context, sha string, prev *registry.Snapshot, problems *[]registry.Problem) (registry.RepoConfig, error) {
	fallback := registry.DefaultConfig()
	if prev != nil {
		fallback = prev.Config
	}
	cfg, problem, err := repoconfig.Read(ctx, b.src, sha, fallback)
	if problem != nil {
		*problems = append(*problems, *problem)
	}
	return cfg, err
}

// prefetch parses, on every core, the prompt files the memo does not hold
// yet, so that a snapshot of thousands of new files (the first one, or the
// first after a restart) is not parsed one file at a time.
func (b *builder) prefetch(ctx context.Context, cfg registry.RepoConfig, files []registry.FileRef) error {
	type job struct {
		f    registry.FileRef
		name string
	}
	var jobs []job
	for _, f := range files {
		name, ok := registry.NameFromPath(cfg.Root, cfg.Extensions, f.Path)
		if !ok {
			continue
		}
		key := f.Blob + "\x00" + f.Path
		if _, ok := b.memo.get(key); ok {
			continue
		}
		jobs = append(jobs, job{f, name})
	}
	if len(jobs) < 16 {
		return nil // not worth the goroutines: parse lazily
	}
	out := make([]parsed, len(jobs))
	err := parallel.Do(ctx, len(jobs), func(i int) (err error) {
		out[i], err = b.parseFile(ctx, jobs[i].f, jobs[i].name)
		return err
	})
	if err != nil {
		return err
	}
	for i, j := range jobs {
		b.memo.put(j.f.Blob+"\x00"+j.f.Path, out[i])
	}
	return nil
}

// parse parses file f (default name name) through the memo. err is a
// failure to read the file, which is not memoised.
func (b *builder) parse(ctx context.Context, f registry.FileRef, name string) (parsed, error) {
	key := f.Blob + "\x00" + f.Path
	if r, ok := b.memo.get(key); ok {
		return r, nil
	}
	r, err := b.parseFile(ctx, f, name)
	if err != nil {
		return parsed{}, err
	}
	b.memo.put(key, r)
	return r, nil
}

// parseFile reads and parses file f. Safe for concurrent use.
func (b *builder) parseFile(ctx context.Context, f registry.FileRef, name string) (parsed, error) {
	var r parsed
	if f.Size > registry.MaxFileSize {
		r.err = &registry.Problem{Path: f.Path, Name: name, Message: fmt.Sprintf("file is %d bytes, over the %d byte limit", f.Size, registry.MaxFileSize)}
		return r, nil
	}
	data, err := b.src.ReadBlob(ctx, f.Blob)
	if err != nil {
		return r, fmt.Errorf("read %s: %w", f.Path, err)
	}
	r.prompt, r.err = b.parser.ParsePrompt(f.Path, name, data)
	if r.err == nil {
		r.prompt.Raw = data
		r.prompt.Checksum = registry.Checksum(data)
		r.prompt.Path, r.prompt.File = f.Path, f.Path
	}
	return r, nil
}

// asProblem turns a parse error into a Problem about path.
func asProblem(path, name string, err error) registry.Problem {
	if p, ok := err.(*registry.Problem); ok {
		c := *p
		if c.Path == "" {
			c.Path = path
		}
		if c.Name == "" {
			c.Name = name
		}
		return c
	}
	return registry.Problem{Path: path, Name: name, Message: registry.ErrorMessage(err)}
}

// resolved is the outcome of resolving one prompt's partials.
type resolved struct {
	includes  []registry.Include // transitive, sorted by name
	variables []string           // own and the partials', sorted
	stale     string             // a partial is served from its last known good version
	height    int                // longest chain of partials below the prompt
	err       string
}

// resolver resolves partials by name among the valid prompts of a build,
// falling back to the last known good version of a broken partial.
type resolver struct {
	fresh    map[string]*registry.Prompt
	stale    map[string]*registry.Entry
	fallback map[string]*registry.Prompt // last good versions from history
	why      map[string]string           // why each fallback is used
	done     map[string]*resolved
	// prior holds, in an incremental build, the previous build's
	// resolutions of fresh names; those not dirty stand as they are.
	prior map[string]*resolved
	dirty map[string]bool
}

func (r *resolver) lookup(name string) (p *registry.Prompt, stale string, ok bool) {
	if p, ok := r.fresh[name]; ok {
		return p, "", true
	}
	if e, ok := r.stale[name]; ok {
		return e.Prompt, e.Stale, true
	}
	if p, ok := r.fallback[name]; ok {
		return p, r.why[name], true
	}
	return nil, "", false
}

// problemName returns the prompt name of the first problem about path.
func problemName(ps []registry.Problem, path string) string {
	for _, p := range ps {
		if p.Path == path && p.Name != "" {
			return p.Name
		}
	}
	return ""
}

// top resolves name's partials for the prompt itself: partials nested too
// deep are an error here.
func (r *resolver) top(name string) *resolved {
	res := r.resolve(name, nil)
	if res.err == "" && res.height > registry.MaxIncludeDepth {
		res = &resolved{err: fmt.Sprintf("partials nested %d deep, over the limit of %d", res.height, registry.MaxIncludeDepth)}
	}
	return res
}

// resolve resolves name's partials; stack holds the names being resolved
// above it, to report cycles.
func (r *resolver) resolve(name string, stack []string) *resolved {
	if res, ok := r.done[name]; ok {
		return res
	}
	if res, ok := r.prior[name]; ok && !r.dirty[name] {
		return res
	}
	p, _, _ := r.lookup(name)
	for _, s := range stack {
		if s == name {
			return &resolved{err: fmt.Sprintf("include cycle: %s", joinCycle(append(stack, name)))}
		}
	}
	if len(stack) > registry.MaxIncludeDepth {
		return &resolved{err: fmt.Sprintf("partials nested deeper than %d: %s", registry.MaxIncludeDepth, joinCycle(append(stack, name)))}
	}
	incs := map[string]string{}
	vars := map[string]bool{}
	for _, v := range p.Variables {
		vars[v] = true
	}
	res := &resolved{}
	for _, ref := range p.References {
		dep, why, ok := r.lookup(ref)
		if !ok {
			res.err = fmt.Sprintf("includes %q, which is not a valid prompt at this commit", ref)
			break
		}
		if why != "" && res.stale == "" {
			res.stale = fmt.Sprintf("partial %s: %s", ref, why)
		}
		sub := r.resolve(ref, append(stack[:len(stack):len(stack)], name))
		if sub.err != "" {
			res.err = sub.err
			if len(stack) == 0 {
				res.err = fmt.Sprintf("partial %s: %s", ref, sub.err)
			}
			break
		}
		if sub.stale != "" && res.stale == "" {
			res.stale = sub.stale
		}
		res.height = max(res.height, sub.height+1)
		incs[ref] = dep.Checksum
		for _, in := range sub.includes {
			incs[in.Name] = in.Checksum
		}
		for _, v := range sub.variables {
			vars[v] = true
		}
	}
	if res.err == "" {
		res.includes = make([]registry.Include, 0, len(incs))
		for n, c := range incs {
			res.includes = append(res.includes, registry.Include{Name: n, Checksum: c})
		}
		sort.Slice(res.includes, func(i, j int) bool { return res.includes[i].Name < res.includes[j].Name })
		res.variables = make([]string, 0, len(vars))
		for v := range vars {
			res.variables = append(res.variables, v)
		}
		sort.Strings(res.variables)
	}
	if len(stack) == 0 || res.err == "" {
		// Errors found below the top depend on the path taken (where a
		// cycle was entered): memoise only what is path-independent.
		r.done[name] = res
	}
	return res
}

func joinCycle(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += " -> "
		}
		out += n
	}
	return out
}

// Build builds the snapshot of commit sha of src on its own, without a
// previous snapshot to fall back on: what lint and offline rendering use.
func Build(ctx context.Context, src registry.Source, parser registry.Parser, sha, ref string) (*registry.Snapshot, error) {
	b := builder{src: src, parser: parser, now: time.Now, memo: newGenerations()}
	return b.build(ctx, sha, ref, nil)
}
