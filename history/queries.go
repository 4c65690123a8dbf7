package history

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/promptreg/promptreg/registry"
)

// Serving is what the queries read of the snapshots being served
// (snapshots.Keeper).
type Serving interface {
	// Served returns what is served now. Errors: EUNAVAILABLE before the
	// first sync.
	Served() (*registry.Served, error)
	// Snapshot returns the snapshot of commit sha, built on demand if no
	// served ref is at it. Errors: ENOTFOUND, ETIMEOUT.
	Snapshot(ctx context.Context, sha string) (*registry.Snapshot, error)
}

// Queries answers the read-side history questions: a prompt's versions, a
// version's content, the environments and their recorded moves. It reads
// the index, the store and the served snapshots and writes nothing.
type Queries struct {
	index   *Index                // nil without a history index
	store   registry.HistoryStore // nil without a history index
	src     registry.Source
	serving Serving
	branch  string
}

// NewQueries returns the queries over index and store (both nil for a
// server that keeps no history) and the snapshots serving serves.
func NewQueries(index *Index, store registry.HistoryStore, src registry.Source, serving Serving, branch string) *Queries {
	return &Queries{index: index, store: store, src: src, serving: serving, branch: branch}
}

// errNoHistory answers version queries on a registry without an index.
var errNoHistory = registry.Errorf(registry.EINVALID, "this server keeps no version history")

// Versions returns the versions of the named prompt, newest first. Their
// ranges of commits and environment stays are the name's own: a version
// inherited through a rename lists those from the rename on, the old name
// keeps the earlier ones. Errors: ENOTFOUND for a prompt that never had a
// version, EINVALID without a history index.
func (q *Queries) Versions(ctx context.Context, name string) ([]registry.VersionEntry, error) {
	if q.index == nil {
		return nil, errNoHistory
	}
	st, err := q.serving.Served()
	if err != nil {
		return nil, err
	}
	vs := q.index.List(name)
	if len(vs) == 0 {
		return nil, registry.Errorf(registry.ENOTFOUND, "prompt %q has no versions on the %s branch", name, q.branch)
	}
	spans, err := q.store.Spans(ctx, q.branch, name)
	if err != nil {
		return nil, err
	}
	stays, err := q.stays(ctx, st, name, spans)
	if err != nil {
		return nil, err
	}
	byVersion := map[int][]registry.Span{}
	for _, sp := range spans {
		byVersion[sp.Version] = append(byVersion[sp.Version], sp)
	}
	def, _ := st.Default.Get(name)
	out := make([]registry.VersionEntry, len(vs))
	for i, v := range vs {
		e := registry.VersionEntry{Version: v, Environments: []string{}, Pinned: pinnedIn(st.Pins, name, v.Checksum),
			CurrentAt: []registry.CommitRange{}, EnvironmentHistory: stays[v.Version]}
		if e.EnvironmentHistory == nil {
			e.EnvironmentHistory = []registry.EnvironmentStay{}
		}
		e.Current = def != nil && def.Prompt.Checksum == v.Checksum
		for _, env := range slices.Sorted(maps.Keys(st.Envs)) {
			if cur, ok := st.Envs[env].Get(name); ok && cur.Prompt.Checksum == v.Checksum {
				e.Environments = append(e.Environments, env)
			}
		}
		for _, s := range byVersion[v.Version] {
			e.CurrentAt = append(e.CurrentAt, registry.CommitRange{From: q.index.SHA(s.From), Until: q.index.SHA(s.To)})
		}
		out[len(vs)-1-i] = e
	}
	return out, nil
}

// pinnedIn names the selections whose pin of name is checksum: "default"
// first, then environments in order.
func pinnedIn(p registry.Pins, name, checksum string) []string {
	out := []string{}
	if c, ok := p.Get("", name); ok && c == checksum {
		out = append(out, "default")
	}
	for _, env := range slices.Sorted(maps.Keys(p.Environments)) {
		if c, ok := p.Get(env, name); ok && c == checksum {
			out = append(out, env)
		}
	}
	return out
}

// stays derives, from the promotion ledger, when each version of a prompt
// entered and left each environment.
func (q *Queries) stays(ctx context.Context, st *registry.Served, name string, spans []registry.Span) (map[int][]registry.EnvironmentStay, error) {
	out := map[int][]registry.EnvironmentStay{}
	for _, env := range slices.Sorted(maps.Keys(st.Environments())) {
		moves, err := q.store.RefMoves(ctx, registry.RefMoveQuery{Environment: env, Limit: 1000})
		if err != nil {
			return nil, err
		}
		cur, curIdx := 0, -1
		for i := len(moves) - 1; i >= 0; i-- { // oldest first
			m := moves[i]
			v := versionAt(spans, q.index.Seq(m.To))
			if v == cur {
				continue
			}
			at := m.ObservedAt.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
			if cur != 0 && curIdx >= 0 {
				out[cur][curIdx].Left = &at
			}
			cur, curIdx = v, -1
			if v != 0 {
				out[v] = append(out[v], registry.EnvironmentStay{Environment: env, Entered: at})
				curIdx = len(out[v]) - 1
			}
		}
	}
	return out, nil
}

// versionAt returns the version the spans (one prompt's, in order of From,
// never overlapping) make current at indexed commit seq; 0 if none, or if
// seq is 0 (a commit off the indexed history).
func versionAt(spans []registry.Span, seq int) int {
	if seq == 0 {
		return 0
	}
	i := sort.Search(len(spans), func(i int) bool { return spans[i].From > seq }) - 1
	if i >= 0 && (spans[i].To == 0 || seq < spans[i].To) {
		return spans[i].Version
	}
	return 0
}

// ResolveVersion returns the entry of the named prompt at a version picked
// by number (version > 0) or by checksum, even if the prompt was deleted
// since. A version the prompt inherited from its old name (a rename) is the
// entry served at the version's commit from its file, under the old name.
// Errors: ENOTFOUND, EINVALID without a history index.
func (q *Queries) ResolveVersion(ctx context.Context, name string, version int, checksum string) (*registry.Entry, *registry.Snapshot, error) {
	if q.index == nil {
		return nil, nil, errNoHistory
	}
	if _, err := q.serving.Served(); err != nil {
		return nil, nil, err
	}
	var v registry.Version
	found := false
	for _, c := range q.index.List(name) {
		if (version > 0 && c.Version == version) || (checksum != "" && c.Checksum == checksum) {
			v, found = c, true
			break
		}
	}
	if !found {
		if version > 0 {
			return nil, nil, registry.Errorf(registry.ENOTFOUND, "prompt %q has no version %d", name, version)
		}
		return nil, nil, registry.Errorf(registry.ENOTFOUND, "prompt %q has no version with checksum %s", name, checksum)
	}
	// Serve it from the commit that introduced it, or, when it could not
	// be served there (a partial it includes came a commit later), from
	// the last commit of each range over which it was current.
	candidates := []string{v.Commit.SHA}
	if spans, err := q.store.Spans(ctx, q.branch, name); err == nil {
		for _, sp := range spans {
			if sp.Version != v.Version {
				continue
			}
			last := q.index.Head()
			if sp.To > 0 {
				last = q.index.SHA(sp.To - 1)
			}
			if last != "" && last != v.Commit.SHA {
				candidates = append(candidates, last)
			}
		}
	}
	var problem *registry.Problem
	for _, sha := range candidates {
		s, err := q.serving.Snapshot(ctx, sha)
		if err != nil {
			return nil, nil, err
		}
		if e, ok := s.Get(name); ok && e.Prompt.Checksum == v.Checksum {
			return e, s, nil
		}
		// A version inherited through a rename is served at its commit
		// under the name it had then: find it by its file.
		if e, ok := s.ByPath(v.Path); ok && e.Prompt.Checksum == v.Checksum {
			return e, s, nil
		}
		for i, p := range s.Problems {
			if problem == nil && (p.Name == name || p.Path == v.Path) {
				problem = &s.Problems[i]
			}
		}
	}
	if problem != nil {
		return nil, nil, registry.Errorf(registry.EUNPROCESSABLE, "version %d of %q cannot be served: %s", v.Version, name, problem.Error())
	}
	return nil, nil, registry.Errorf(registry.ENOTFOUND, "version %d of %q is not served at its commit %s", v.Version, name, v.Commit.SHA)
}

// LookupVersion returns a version of the named prompt, by number (version
// > 0) or by checksum, from the index alone (nothing is read or built).
// Errors: ENOTFOUND, EINVALID without a history index.
func (q *Queries) LookupVersion(name string, version int, checksum string) (registry.Version, error) {
	if q.index == nil {
		return registry.Version{}, errNoHistory
	}
	if version > 0 {
		vs := q.index.List(name)
		if version > len(vs) {
			return registry.Version{}, registry.Errorf(registry.ENOTFOUND, "prompt %q has no version %d", name, version)
		}
		v := vs[version-1]
		if checksum != "" && v.Checksum != checksum {
			return registry.Version{}, registry.Errorf(registry.ENOTFOUND, "version %d of prompt %q has checksum %s, not %s", version, name, v.Checksum, checksum)
		}
		return v, nil
	}
	n, _, _ := q.index.Lookup(name, checksum)
	if n == 0 {
		return registry.Version{}, registry.Errorf(registry.ENOTFOUND, "prompt %q has no version with checksum %s", name, checksum)
	}
	return q.index.List(name)[n-1], nil
}

// VersionBytes returns the file content of a version, by number.
func (q *Queries) VersionBytes(ctx context.Context, name string, version int) ([]byte, registry.Version, error) {
	if q.index == nil {
		return nil, registry.Version{}, errNoHistory
	}
	vs := q.index.List(name)
	if version < 1 || version > len(vs) {
		return nil, registry.Version{}, registry.Errorf(registry.ENOTFOUND, "prompt %q has no version %d", name, version)
	}
	v := vs[version-1]
	data, err := q.src.ReadFile(ctx, v.Commit.SHA, v.Path)
	if err != nil {
		return nil, v, fmt.Errorf("read version %d of %s: %w", version, name, err)
	}
	return data, v, nil
}

// CurrentVersion returns the number of the version the default selection
// serves, 0 if the prompt is not served or not numbered.
func (q *Queries) CurrentVersion(name string) int {
	st, err := q.serving.Served()
	if err != nil {
		return 0
	}
	if e, ok := st.Default.Get(name); ok {
		return e.Prompt.Version
	}
	return 0
}

// Environments lists the configured environments.
func (q *Queries) Environments(ctx context.Context) ([]registry.Environment, error) {
	st, err := q.serving.Served()
	if err != nil {
		return nil, err
	}
	out := []registry.Environment{}
	for _, name := range slices.Sorted(maps.Keys(st.Environments())) {
		e := registry.Environment{Name: name, Ref: st.Environments()[name], Error: st.EnvErrs[name]}
		if full, ok := st.EnvRefs[name]; ok {
			e.Ref = full
		}
		if s, ok := st.Envs[name]; ok {
			e.Commit, e.Prompts, e.Differs = s.Commit.SHA, s.Len(), registry.Differs(st.Head, s)
		}
		if q.store != nil {
			moves, err := q.store.RefMoves(ctx, registry.RefMoveQuery{Environment: name, Limit: 1})
			if err != nil {
				return nil, err
			}
			if len(moves) > 0 {
				at := moves[0].ObservedAt.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
				e.MovedAt = &at
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// EnvironmentHistory returns the recorded moves of an environment, newest
// first. Errors: ENOTFOUND for an environment that is not configured.
func (q *Queries) EnvironmentHistory(ctx context.Context, env string, before int64, limit int) ([]registry.RefMove, error) {
	st, err := q.serving.Served()
	if err != nil {
		return nil, err
	}
	if _, ok := st.Environments()[env]; !ok {
		return nil, registry.Errorf(registry.ENOTFOUND, "environment %q is not configured in %s", env, registry.ConfigFile)
	}
	if q.store == nil {
		return nil, errNoHistory
	}
	return q.store.RefMoves(ctx, registry.RefMoveQuery{Environment: env, Before: before, Limit: limit})
}
