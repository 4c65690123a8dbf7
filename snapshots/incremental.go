package snapshots

import (
	"context"
	"maps"
	"reflect"
	"slices"

	"github.com/promptreg/promptreg/registry"
)

// Incremental builds.
//
// A write publishes a commit that changes a file or two, and a poll usually
// finds a few such commits; yet a full build costs what the repository holds
// (every file listed and looked up in the memo, every prompt's partials
// resolved, every entry compared with prev's): ~23 ms of CPU on 2,000
// prompts, the most of a PUT. So the builder keeps, per ref, what the ref's
// last build knew besides its snapshot (a buildState: each prompt file's
// parse outcome, who claims which name, the resolution of every plain
// prompt), and builds the ref's next snapshot from it and the diff between
// the two commits: it parses only the files that changed, resolves and
// encodes only the dirty names, takes every other entry from prev as it is,
// and copies prev's indexes rather than building them (Snapshot.Next).
//
// The outcome is the snapshot a full build makes from the same prev. A name
// is plain when its whole outcome is a function of its file, its partials'
// files and the configuration: one valid file claims it, its partials
// resolve without a stale one, and its entry is numbered (with a history),
// not stale. Everything else is special: broken files, names claimed twice,
// last known good versions, failed resolutions, unnumbered content (the
// index may number it since). The dirty names are those the changed files
// touch, every special name of the last build and of this one, and, by
// closure, every prompt that includes a dirty one. A plain name that is not
// dirty resolves as before (a successful resolution does not depend on the
// order of resolution) and keeps prev's entry, which a full build would
// reuse too; versions of numbered content never change. A failed resolution
// reports a message that does depend on what was resolved before, so an
// incremental build that meets one resolves every name again, in order.
//
// A full build remains the path for a ref's first build, after a change of
// promptreg.yaml, when prev is not what the builder built last for the ref,
// when the diff fails, and after a file could not be read.

// maxBuildStates bounds the refs whose last build is kept: the branch and
// the configured environments.
const maxBuildStates = 16

// fileOutcome is what parsing one prompt file gave.
type fileOutcome struct {
	blob    string
	parsed  parsed
	problem registry.Problem // why the file is broken (parsed.err set)
	unread  bool             // the file could not be read
}

// fileSet is what a build knows of the prompt files at its commit. The next
// incremental build of the ref takes it over and updates it in place.
type fileSet struct {
	files  map[string]fileOutcome      // prompt file path → outcome
	claims map[string][]string         // name → the valid files claiming it, sorted
	fresh  map[string]*registry.Prompt // names exactly one valid file claims
	names  []string                    // fresh's names, sorted
	broken map[string]bool             // files that do not parse
	dups   map[string]bool             // names claimed by several valid files
	// includedBy maps a name to the fresh names that include it, sorted.
	includedBy map[string][]string
	// unread is set when a file could not be read: the next build reads
	// it again, in full.
	unread bool
}

// buildState is what a build of a ref knew besides its snapshot.
type buildState struct {
	snap    *registry.Snapshot
	files   *fileSet
	res     map[string]*resolved // the resolutions of the plain names
	special map[string]bool      // names that are not plain
}

// step is an incremental build in progress: the files at the new commit,
// the names the changed files touch, and the state it starts from.
type step struct {
	prior   *buildState
	files   *fileSet
	touched map[string]bool
}

// since starts an incremental build of commit sha for ref, or returns nil
// when the build must be a full one. The build takes the ref's state over
// (updating it in place, no copy): until it keeps its own, the ref has none,
// so a build that fails leaves the next one to be a full build.
func (b *builder) since(ctx context.Context, ref, sha string, cfg registry.RepoConfig, prev *registry.Snapshot) (*step, error) {
	st := b.states[ref]
	if b.git == nil || st == nil || prev == nil || st.snap != prev || !reflect.DeepEqual(cfg, prev.Config) {
		return nil, nil
	}
	changes, err := b.git.Diff(ctx, prev.Commit.SHA, sha, "")
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, nil // the full build reports what is wrong
	}
	for _, c := range changes {
		if c.Path == registry.ConfigFile {
			return nil, nil // the full build seeds its memo from st
		}
	}
	delete(b.states, ref)
	fs, touched, err := b.update(ctx, cfg, st.files, changes, prev)
	if err != nil {
		return nil, err
	}
	return &step{prior: st, files: fs, touched: touched}, nil
}

// scan parses files, through the memo, into a fileSet.
func (b *builder) scan(ctx context.Context, cfg registry.RepoConfig, files []registry.FileRef) (*fileSet, error) {
	fs := &fileSet{files: make(map[string]fileOutcome, len(files)), claims: make(map[string][]string, len(files)),
		fresh: make(map[string]*registry.Prompt, len(files)), broken: map[string]bool{}, dups: map[string]bool{},
		includedBy: map[string][]string{}}
	for _, f := range files {
		name, ok := registry.NameFromPath(cfg.Root, cfg.Extensions, f.Path)
		if !ok {
			continue
		}
		o, err := b.outcome(ctx, f, name)
		if err != nil {
			return nil, err
		}
		fs.put(f.Path, o, nil)
	}
	for name, paths := range fs.claims {
		if len(paths) == 1 {
			fs.fresh[name] = fs.files[paths[0]].parsed.prompt
		} else {
			fs.dups[name] = true
		}
	}
	fs.names = slices.Sorted(maps.Keys(fs.fresh))
	for _, name := range fs.names {
		for _, ref := range fs.fresh[name].References {
			fs.includedBy[ref] = append(fs.includedBy[ref], name)
		}
	}
	return fs, nil
}

// update applies to fs the changes between its commit and the new one, and
// returns the names they touch: those the changed files claimed or claim,
// or had or have a problem about, or served in prev.
func (b *builder) update(ctx context.Context, cfg registry.RepoConfig, fs *fileSet, changes []registry.Change, prev *registry.Snapshot) (*fileSet, map[string]bool, error) {
	touched := map[string]bool{}
	var added []registry.FileRef
	for _, c := range changes {
		name, ok := registry.NameFromPath(cfg.Root, cfg.Extensions, c.Path)
		if !ok {
			continue
		}
		touched[name] = true
		if e, ok := prev.ByPath(c.Path); ok {
			touched[e.Prompt.Name] = true
		}
		fs.remove(c.Path, touched)
		if c.Blob != "" {
			added = append(added, registry.FileRef{Path: c.Path, Blob: c.Blob, Size: c.Size})
		}
	}
	if err := b.prefetch(ctx, cfg, added); err != nil {
		return nil, nil, err
	}
	for _, f := range added {
		name, _ := registry.NameFromPath(cfg.Root, cfg.Extensions, f.Path)
		o, err := b.outcome(ctx, f, name)
		if err != nil {
			return nil, nil, err
		}
		fs.put(f.Path, o, touched)
	}
	for name := range touched {
		fs.settle(name)
	}
	return fs, touched, nil
}

// outcome parses file f (default name name) through the memo. A file that
// cannot be read is a problem, as one that does not parse.
func (b *builder) outcome(ctx context.Context, f registry.FileRef, name string) (fileOutcome, error) {
	r, err := b.parse(ctx, f, name)
	o := fileOutcome{blob: f.Blob, parsed: r}
	if err != nil {
		if ctx.Err() != nil {
			return o, ctx.Err()
		}
		o.parsed, o.unread = parsed{err: err}, true
	}
	if o.parsed.err != nil {
		o.problem = asProblem(f.Path, name, o.parsed.err)
	}
	return o, nil
}

// put records the outcome of the file at path, and the names it touches
// (touched may be nil). fs.fresh, fs.dups and fs.names are settled apart.
func (fs *fileSet) put(path string, o fileOutcome, touched map[string]bool) {
	fs.files[path] = o
	fs.unread = fs.unread || o.unread
	if p := o.parsed.prompt; p != nil {
		paths := fs.claims[p.Name]
		i, _ := slices.BinarySearch(paths, path)
		fs.claims[p.Name] = slices.Insert(paths, i, path)
		if touched != nil {
			touched[p.Name] = true
		}
		return
	}
	fs.broken[path] = true
	if touched != nil {
		touched[o.problem.Name] = true
	}
}

// remove forgets the file at path, and records the names it touched.
func (fs *fileSet) remove(path string, touched map[string]bool) {
	o, ok := fs.files[path]
	if !ok {
		return
	}
	delete(fs.files, path)
	if p := o.parsed.prompt; p != nil {
		touched[p.Name] = true
		fs.claims[p.Name] = slices.DeleteFunc(fs.claims[p.Name], func(s string) bool { return s == path })
		return
	}
	delete(fs.broken, path)
	touched[o.problem.Name] = true
}

// settle updates fs.fresh, fs.dups, fs.names and fs.includedBy for name
// after its claims changed.
func (fs *fileSet) settle(name string) {
	if old, ok := fs.fresh[name]; ok {
		for _, ref := range old.References {
			fs.includedBy[ref] = deleteSorted(fs.includedBy[ref], name)
			if len(fs.includedBy[ref]) == 0 {
				delete(fs.includedBy, ref)
			}
		}
	}
	switch paths := fs.claims[name]; len(paths) {
	case 0:
		delete(fs.claims, name)
		delete(fs.fresh, name)
		delete(fs.dups, name)
	case 1:
		fs.fresh[name] = fs.files[paths[0]].parsed.prompt
		delete(fs.dups, name)
	default:
		delete(fs.fresh, name)
		fs.dups[name] = true
	}
	p, fresh := fs.fresh[name]
	if fresh {
		for _, ref := range p.References {
			fs.includedBy[ref] = insertSorted(fs.includedBy[ref], name)
		}
	}
	i, listed := slices.BinarySearch(fs.names, name)
	switch {
	case fresh && !listed:
		fs.names = slices.Insert(fs.names, i, name)
	case !fresh && listed:
		fs.names = slices.Delete(fs.names, i, i+1)
	}
}

func insertSorted(s []string, v string) []string {
	i, found := slices.BinarySearch(s, v)
	if found {
		return s
	}
	return slices.Insert(s, i, v)
}

func deleteSorted(s []string, v string) []string {
	i, found := slices.BinarySearch(s, v)
	if !found {
		return s
	}
	return slices.Delete(s, i, i+1)
}

// dirty returns the names an incremental build resolves and encodes again:
// those the changed files touch, the special names of the last build and of
// this one (names claimed twice, problems, what broken files stand for,
// last known good versions), and every fresh prompt that includes a dirty
// one, transitively. (A fresh name the last build did not resolve is
// either touched, newly fresh, or was special.)
func (inc *step) dirty(prev *registry.Snapshot, problems []registry.Problem, broken map[string]string,
	stale map[string]*registry.Entry, fallback map[string]*registry.Prompt) map[string]bool {
	d := maps.Clone(inc.touched)
	for name := range inc.prior.special {
		d[name] = true
	}
	for name := range inc.files.dups {
		d[name] = true
	}
	for _, p := range problems {
		if p.Name != "" {
			d[p.Name] = true
		}
	}
	for path := range broken {
		if e, ok := prev.ByPath(path); ok {
			d[e.Prompt.Name] = true
		}
	}
	for name := range stale {
		d[name] = true
	}
	for name := range fallback {
		d[name] = true
	}
	queue := slices.Collect(maps.Keys(d))
	for len(queue) > 0 {
		name := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, by := range inc.files.includedBy[name] {
			if !d[by] {
				d[by] = true
				queue = append(queue, by)
			}
		}
	}
	return d
}

// resolveAll resolves the partials of fs's fresh names: in a full build
// (dirty nil) of all of them, in name order; in an incremental build of the
// dirty ones (only is true), the others standing as prior has them. A
// failure's message depends on what was resolved before (the resolver
// memoises), so an incremental build that meets one resolves every name
// again, in order, as a full build does.
func resolveAll(fs *fileSet, stale map[string]*registry.Entry, fallback map[string]*registry.Prompt, why map[string]string,
	dirty map[string]bool, prior map[string]*resolved) (_ *resolver, _ map[string]*resolved, only bool) {
	newResolver := func() *resolver {
		return &resolver{fresh: fs.fresh, stale: stale, fallback: fallback, why: why, done: map[string]*resolved{}}
	}
	if dirty != nil {
		r := newResolver()
		r.prior, r.dirty = prior, dirty
		results := make(map[string]*resolved, len(dirty))
		ok := true
		for _, name := range slices.Sorted(maps.Keys(dirty)) {
			if _, fresh := fs.fresh[name]; !fresh {
				continue
			}
			res := r.top(name)
			if res.err != "" {
				ok = false
				break
			}
			results[name] = res
		}
		if ok {
			return r, results, true
		}
	}
	r := newResolver()
	results := make(map[string]*resolved, len(fs.names))
	for _, name := range fs.names {
		results[name] = r.top(name)
	}
	return r, results, false
}

// allEntries returns the entries of an incremental build in the order a
// full build gives them to NewSnapshot: the fresh names' in name order
// (dirty ones', else prev's), then the others (stale and last known good).
func allEntries(names []string, dirty, others []*registry.Entry, prev *registry.Snapshot) []*registry.Entry {
	byName := make(map[string]*registry.Entry, len(dirty))
	for _, e := range dirty {
		byName[e.Prompt.Name] = e
	}
	all := make([]*registry.Entry, 0, len(names)+len(others))
	for _, name := range names {
		if e, ok := byName[name]; ok {
			all = append(all, e)
		} else if e, ok := prev.Get(name); ok {
			all = append(all, e)
		}
	}
	return append(all, others...)
}

// unchanged returns prev's entry of p's name if it is the one a full build
// would make, given that nothing the name depends on changed: same file and
// content, partials resolved the same, nothing stale.
func unchanged(prev *registry.Snapshot, p *registry.Prompt, res *resolved) (*registry.Entry, bool) {
	e, ok := prev.Get(p.Name)
	if !ok || e.Stale != "" || res.stale != "" || e.Prompt.File != p.File || e.Prompt.Checksum != p.Checksum ||
		!slices.Equal(e.Prompt.Includes, res.includes) || !slices.Equal(e.Prompt.Variables, res.variables) {
		return nil, false
	}
	return e, true
}

// newBuildState starts the state of a build over fs: a full build's (dirty
// nil) empty, an incremental one's with prior's resolutions of the names
// that are not dirty (taking prior over: the resolver does not read the
// dirty names' there).
func newBuildState(fs *fileSet, prior map[string]*resolved, dirty map[string]bool) *buildState {
	st := &buildState{files: fs, special: map[string]bool{}}
	if dirty == nil {
		st.res = make(map[string]*resolved, len(fs.names))
		return st
	}
	st.res = prior
	for name := range dirty {
		delete(st.res, name)
	}
	return st
}

// note records the outcome of a fresh name: its resolution and entry, or
// nil for a failed resolution.
func (st *buildState) note(name string, res *resolved, e *registry.Entry, history bool) {
	if res == nil || res.stale != "" || e.Stale != "" || (history && e.Prompt.Version == 0) {
		st.special[name] = true
		delete(st.res, name)
		return
	}
	st.res[name] = res
}

// keep keeps the state of the build of s for ref, for the ref's next build.
func (b *builder) keep(ref string, s *registry.Snapshot, st *buildState, prev *registry.Snapshot, broken map[string]string,
	stale map[string]*registry.Entry, fallback map[string]*registry.Prompt) {
	if b.git == nil {
		return
	}
	if st.files.unread {
		delete(b.states, ref)
		return
	}
	for name := range st.files.dups {
		st.special[name] = true
	}
	for _, p := range s.Problems {
		if p.Name != "" {
			st.special[p.Name] = true
		}
	}
	for path := range broken {
		if e, ok := prev.ByPath(path); ok {
			st.special[e.Prompt.Name] = true
		}
	}
	for name := range stale {
		st.special[name] = true
	}
	for name := range fallback {
		st.special[name] = true
	}
	st.snap = s
	if b.states == nil {
		b.states = map[string]*buildState{}
	}
	if _, ok := b.states[ref]; !ok && len(b.states) >= maxBuildStates {
		for r := range b.states {
			delete(b.states, r)
			break
		}
	}
	b.states[ref] = st
}

// seed puts into the memo the parse outcomes the ref's last build kept, so
// that a full build after incremental ones (whose memo holds only the files
// they parsed) does not parse every file again. Only under the same root and
// extensions, which a file's default name depends on.
func (b *builder) seed(ref string, cfg registry.RepoConfig, files []registry.FileRef) {
	st := b.states[ref]
	if st == nil || st.snap.Config.Root != cfg.Root || !slices.Equal(st.snap.Config.Extensions, cfg.Extensions) {
		return
	}
	for _, f := range files {
		if o, ok := st.files.files[f.Path]; ok && o.blob == f.Blob {
			b.memo.put(f.Blob+"\x00"+f.Path, o.parsed)
		}
	}
}
