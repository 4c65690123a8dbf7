package registry

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// MaxFileSize bounds a prompt file; a larger file is a problem, not read.
const MaxFileSize = 1 << 20

// MaxIncludeDepth bounds how deeply partials may include partials.
const MaxIncludeDepth = 8

// parsed is the memoised outcome of parsing one blob at one path.
type parsed struct {
	prompt *Prompt
	err    error
}

// builder builds snapshots. It memoises parse results by blob and path
// across builds so that a sync parses only the files that changed.
type builder struct {
	src    Source
	parser Parser
	now    func() time.Time
	// versions returns the number and first commit of a prompt's content
	// from the history index; nil without one.
	versions func(name, checksum string) (n int, first *Commit, path string)
	// lastGood returns the version of a prompt current at commit sha
	// when its file there is broken and no previous snapshot has it (after
	// a restart); nil without a history index.
	lastGood func(ctx context.Context, name, sha string) (*Prompt, bool)

	memo map[string]parsed // blob + "\x00" + path → outcome; replaced each sync
	used map[string]parsed // what the current sync used
}

// beginSync starts a new generation of the parse memo: entries not used by
// the coming builds are dropped at endSync.
func (b *builder) beginSync() { b.used = make(map[string]parsed) }

func (b *builder) endSync() { b.memo, b.used = b.used, nil }

// peek returns the outcome of a parse of blob at path the last sync made.
// Called with the registry's sync lock held, outside beginSync/endSync.
func (b *builder) peek(blob, path string) (*Prompt, error, bool) {
	r, ok := b.memo[blob+"\x00"+path]
	return r.prompt, r.err, ok
}

// build builds the snapshot of commit sha for ref. prev is the snapshot the
// same ref served before (nil if none): a prompt whose file is broken at sha
// keeps prev's entry, marked stale.
func (b *builder) build(ctx context.Context, sha, ref string, prev *Snapshot) (*Snapshot, error) {
	commit, err := b.src.Commit(ctx, sha)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", sha, err)
	}
	s := &Snapshot{Commit: commit, Ref: ref, Built: b.now(), entries: map[string]*Entry{}, byPath: map[string]*Entry{}}

	s.Config, err = b.config(ctx, sha, prev, &s.Problems)
	if err != nil {
		return nil, err
	}
	files, err := b.src.ListFiles(ctx, sha, s.Config.Root)
	if err != nil {
		return nil, fmt.Errorf("list files at %s: %w", sha, err)
	}

	if err := b.prefetch(ctx, s.Config, files); err != nil {
		return nil, err
	}
	// Parse every prompt file, then find names claimed twice.
	fresh := map[string]*Prompt{}   // name → valid prompt at sha
	claims := map[string][]string{} // name → paths claiming it
	broken := map[string]string{}   // path → problem, for last known good
	for _, f := range files {
		name, ok := NameFromPath(s.Config.Root, s.Config.Extensions, f.Path)
		if !ok {
			continue
		}
		p, err := b.parse(ctx, f, name)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			prob := asProblem(f.Path, name, err)
			s.Problems = append(s.Problems, prob)
			broken[f.Path] = prob.Error()
			continue
		}
		claims[p.Name] = append(claims[p.Name], f.Path)
		fresh[p.Name] = p
	}
	for name, paths := range claims {
		if len(paths) < 2 {
			continue
		}
		sort.Strings(paths)
		delete(fresh, name)
		for i, p := range paths {
			other := paths[(i+1)%len(paths)]
			prob := Problem{Path: p, Name: name, Message: fmt.Sprintf("prompt name %q is also claimed by %s", name, other)}
			s.Problems = append(s.Problems, prob)
			broken[p] = prob.Error()
		}
	}

	// Last known good: a broken file keeps serving what the same ref served
	// for it before, unless a valid file now serves that name.
	stale := map[string]*Entry{}
	fallback := map[string]*Prompt{} // last good versions read from history
	why := map[string]string{}
	for path, problem := range broken {
		var old *Entry
		if prev != nil {
			old = prev.byPath[path]
		}
		if old != nil {
			if _, taken := fresh[old.Prompt.Name]; !taken {
				stale[old.Prompt.Name] = staleEntry(old, problem)
			}
			continue
		}
		name := problemName(s.Problems, path)
		if _, taken := fresh[name]; taken || name == "" || b.lastGood == nil {
			continue
		}
		if p, ok := b.lastGood(ctx, name, sha); ok {
			p.File = path // the broken file stands for it at this commit
			fallback[name], why[name] = p, problem
		}
	}

	// Resolve partials. A prompt whose partials cannot be resolved is broken
	// too, and falls back to its last known good version.
	r := resolver{fresh: fresh, stale: stale, fallback: fallback, why: why, done: map[string]*resolved{}}
	names := make([]string, 0, len(fresh))
	for name := range fresh {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := fresh[name]
		res := r.resolve(name, nil)
		if res.err == "" && res.height > MaxIncludeDepth {
			res = &resolved{err: fmt.Sprintf("partials nested %d deep, over the limit of %d", res.height, MaxIncludeDepth)}
		}
		if res.err != "" {
			prob := Problem{Path: p.File, Name: name, Message: res.err}
			s.Problems = append(s.Problems, prob)
			if prev != nil {
				if old, ok := prev.entries[name]; ok {
					s.add(staleEntry(old, prob.Error()))
				}
			}
			continue
		}
		e, err := b.entry(p, res, prev)
		if err != nil {
			return nil, fmt.Errorf("encode prompt %s: %w", name, err)
		}
		s.add(e)
	}
	for name, e := range stale {
		if _, ok := s.entries[name]; !ok {
			s.add(e)
		}
	}
	for _, name := range sortedKeysOf(fallback) {
		if _, ok := s.entries[name]; ok {
			continue
		}
		res := r.resolve(name, nil)
		if res.err != "" || res.height > MaxIncludeDepth {
			continue
		}
		e, err := b.entry(fallback[name], res, nil)
		if err != nil {
			return nil, fmt.Errorf("encode prompt %s: %w", name, err)
		}
		e.Stale = oneLine(why[name])
		s.add(e)
	}
	s.names = make([]string, 0, len(s.entries))
	for name := range s.entries {
		s.names = append(s.names, name)
	}
	sort.Strings(s.names)
	sortProblems(s.Problems)
	return s, nil
}

func (s *Snapshot) add(e *Entry) {
	s.entries[e.Prompt.Name] = e
	s.byPath[e.Prompt.File] = e
}

// staleEntry returns a copy of e marked as the last known good version.
func staleEntry(e *Entry, why string) *Entry {
	c := *e
	c.Stale = oneLine(why)
	return &c
}

// oneLine folds a message into one line without control characters, so it
// can travel in a header (X-Promptreg-Stale) as it is.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, s)
}

// entry returns the entry of p with its partials resolved, reusing prev's
// entry when nothing it depends on changed.
func (b *builder) entry(parsedPrompt *Prompt, res *resolved, prev *Snapshot) (*Entry, error) {
	p := *parsedPrompt // the parsed value is shared through the memo: copy
	p.Includes = res.includes
	p.Variables = res.variables
	if b.versions != nil {
		var first string
		if p.Version, p.Commit, first = b.versions(p.Name, p.Checksum); first != "" {
			p.Path = first
		}
	}
	stale := res.stale
	if prev != nil {
		if old, ok := prev.entries[p.Name]; ok && old.Prompt.File == p.File && old.Prompt.Path == p.Path && old.ETag == ETag(p.Checksum, p.Includes) &&
			old.Prompt.Version == p.Version && old.Stale == "" {
			if stale == "" {
				return old, nil
			}
			return staleEntry(old, stale), nil
		}
	}
	e, err := newEntry(&p)
	if err != nil {
		return nil, err
	}
	e.Stale = oneLine(stale)
	return e, nil
}

// config reads promptreg.yaml at sha. A broken file is reported and replaced
// by the configuration prev used, or the default one.
func (b *builder) config(ctx context.Context, sha string, prev *Snapshot, problems *[]Problem) (RepoConfig, error) {
	fallback := DefaultConfig()
	if prev != nil {
		fallback = prev.Config
	}
	cfg, problem, err := readConfig(ctx, b.src, b.parser, sha, fallback)
	if problem != nil {
		*problems = append(*problems, *problem)
	}
	return cfg, err
}

// readConfig reads promptreg.yaml at sha: the default configuration when
// there is none, fallback and the problem when it is broken.
func readConfig(ctx context.Context, src Source, parser Parser, sha string, fallback RepoConfig) (RepoConfig, *Problem, error) {
	data, err := src.ReadFile(ctx, sha, ConfigFile)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return DefaultConfig(), nil, nil
	case err != nil:
		return fallback, nil, fmt.Errorf("read %s at %s: %w", ConfigFile, sha, err)
	}
	cfg, err := parser.ParseConfig(data)
	if err != nil {
		p := asProblem(ConfigFile, "", err)
		return fallback, &p, nil
	}
	if len(cfg.Extensions) == 0 {
		cfg.Extensions = append([]string(nil), DefaultExtensions...)
	}
	return cfg, nil, nil
}

// parallel calls fn(i) for every i in [0, n) on every core and returns the
// error of the lowest i that failed, or ctx's error.
func parallel(ctx context.Context, n int, fn func(i int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n && ctx.Err() == nil; i = int(next.Add(1)) - 1 {
				errs[i] = fn(i)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// prefetch parses, on every core, the prompt files the memo does not hold
// yet, so that a snapshot of thousands of new files (the first one, or the
// first after a restart) is not parsed one file at a time.
func (b *builder) prefetch(ctx context.Context, cfg RepoConfig, files []FileRef) error {
	type job struct {
		f    FileRef
		name string
	}
	var jobs []job
	for _, f := range files {
		name, ok := NameFromPath(cfg.Root, cfg.Extensions, f.Path)
		if !ok {
			continue
		}
		key := f.Blob + "\x00" + f.Path
		if _, ok := b.used[key]; ok {
			continue
		}
		if _, ok := b.memo[key]; ok {
			continue
		}
		jobs = append(jobs, job{f, name})
	}
	if len(jobs) < 16 {
		return nil // not worth the goroutines: parse lazily
	}
	out := make([]parsed, len(jobs))
	err := parallel(ctx, len(jobs), func(i int) (err error) {
		out[i], err = b.parseFile(ctx, jobs[i].f, jobs[i].name)
		return err
	})
	if err != nil {
		return err
	}
	for i, j := range jobs {
		b.used[j.f.Blob+"\x00"+j.f.Path] = out[i]
	}
	return nil
}

// parse parses file f (default name name) through the memo.
func (b *builder) parse(ctx context.Context, f FileRef, name string) (*Prompt, error) {
	key := f.Blob + "\x00" + f.Path
	if r, ok := b.used[key]; ok {
		return r.prompt, r.err
	}
	if r, ok := b.memo[key]; ok {
		b.used[key] = r
		return r.prompt, r.err
	}
	r, err := b.parseFile(ctx, f, name)
	if err != nil {
		return nil, err
	}
	b.used[key] = r
	return r.prompt, r.err
}

// parseFile reads and parses file f. Safe for concurrent use.
func (b *builder) parseFile(ctx context.Context, f FileRef, name string) (parsed, error) {
	var r parsed
	if f.Size > MaxFileSize {
		r.err = &Problem{Path: f.Path, Name: name, Message: fmt.Sprintf("file is %d bytes, over the %d byte limit", f.Size, MaxFileSize)}
		return r, nil
	}
	data, err := b.src.ReadBlob(ctx, f.Blob)
	if err != nil {
		return r, fmt.Errorf("read %s: %w", f.Path, err)
	}
	r.prompt, r.err = b.parser.ParsePrompt(f.Path, name, data)
	if r.err == nil {
		r.prompt.Raw = data
		r.prompt.Checksum = Checksum(data)
		r.prompt.Path, r.prompt.File = f.Path, f.Path
	}
	return r, nil
}

// asProblem turns a parse error into a Problem about path.
func asProblem(path, name string, err error) Problem {
	if p, ok := err.(*Problem); ok {
		c := *p
		if c.Path == "" {
			c.Path = path
		}
		if c.Name == "" {
			c.Name = name
		}
		return c
	}
	return Problem{Path: path, Name: name, Message: ErrorMessage(err)}
}

// resolved is the outcome of resolving one prompt's partials.
type resolved struct {
	includes  []Include // transitive, sorted by name
	variables []string  // own and the partials', sorted
	stale     string    // a partial is served from its last known good version
	height    int       // longest chain of partials below the prompt
	err       string
}

// resolver resolves partials by name among the valid prompts of a build,
// falling back to the last known good version of a broken partial.
type resolver struct {
	fresh    map[string]*Prompt
	stale    map[string]*Entry
	fallback map[string]*Prompt // last good versions from history
	why      map[string]string  // why each fallback is used
	done     map[string]*resolved
}

func (r *resolver) lookup(name string) (p *Prompt, stale string, ok bool) {
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
func problemName(ps []Problem, path string) string {
	for _, p := range ps {
		if p.Path == path && p.Name != "" {
			return p.Name
		}
	}
	return ""
}

func sortedKeysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// resolve resolves name's partials; stack holds the names being resolved
// above it, to report cycles.
func (r *resolver) resolve(name string, stack []string) *resolved {
	if res, ok := r.done[name]; ok {
		return res
	}
	p, _, _ := r.lookup(name)
	for _, s := range stack {
		if s == name {
			return &resolved{err: fmt.Sprintf("include cycle: %s", joinCycle(append(stack, name)))}
		}
	}
	if len(stack) > MaxIncludeDepth {
		return &resolved{err: fmt.Sprintf("partials nested deeper than %d: %s", MaxIncludeDepth, joinCycle(append(stack, name)))}
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
		res.includes = make([]Include, 0, len(incs))
		for n, c := range incs {
			res.includes = append(res.includes, Include{Name: n, Checksum: c})
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
func Build(ctx context.Context, src Source, parser Parser, sha, ref string) (*Snapshot, error) {
	b := builder{src: src, parser: parser, now: time.Now}
	b.beginSync()
	return b.build(ctx, sha, ref, nil)
}
