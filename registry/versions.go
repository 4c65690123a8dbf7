package registry

import (
	"context"
	"fmt"
	"sort"
)

// recordMoves appends to the promotion ledger every configured environment
// whose commit differs from the one last recorded. Called with syncMu held.
func (r *Registry) recordMoves(ctx context.Context, st *state, cause Cause) error {
	if r.ledger == nil {
		return nil
	}
	if r.refsAt == nil {
		last, err := r.ledger.LastRefs(ctx)
		if err != nil {
			return err
		}
		r.refsAt = last
	}
	for _, env := range sortedKeysOf(st.head.Config.Environments) {
		to, ref := "", st.envRefs[env]
		if s, ok := st.envs[env]; ok {
			to = s.Commit.SHA
		}
		from, known := r.refsAt[env]
		if from == to && (known || to == "") {
			continue
		}
		if ref == "" {
			ref = st.head.Config.Environments[env]
		}
		m := RefMove{Environment: env, Ref: ref, From: from, To: to, ObservedAt: r.now().UTC(), Via: cause.Via, Delivery: cause.Delivery}
		if to != "" && r.hsrc != nil {
			tagger, err := r.hsrc.Tagger(ctx, ref)
			if err != nil {
				r.log.Warn("read tagger", "ref", ref, "err", err)
			}
			m.Tagger = tagger
		}
		if _, err := r.ledger.RecordRefMove(ctx, m); err != nil {
			return err
		}
		r.refsAt[env] = to
		r.log.Info("environment moved", "environment", env, "from", from, "to", to, "via", cause.Via)
	}
	return nil
}

// errNoHistory answers version queries on a registry without an index.
var errNoHistory = Errorf(EINVALID, "this server keeps no version history")

// VersionEntry is a version of a prompt as the versions endpoint lists it.
type VersionEntry struct {
	Version
	// Current is whether the default selection serves this version.
	Current bool `json:"current"`
	// Environments are the configured environments serving it now.
	Environments []string `json:"environments"`
	// CurrentAt lists the ranges of the tracked branch's commits at which
	// the version was current: from the commit that made it current up
	// to the one that replaced it ("" while it is current at the head).
	CurrentAt []CommitRange `json:"current_at"`
	// EnvironmentHistory says when the version entered and left each
	// environment, from the promotion ledger.
	EnvironmentHistory []EnvironmentStay `json:"environment_history"`
}

// CommitRange is a range of indexed commits.
type CommitRange struct {
	From  string `json:"from"`
	Until string `json:"until,omitempty"`
}

// EnvironmentStay is a period during which an environment served a version.
type EnvironmentStay struct {
	Environment string  `json:"environment"`
	Entered     string  `json:"entered"`        // RFC 3339 time of the move that brought it
	Left        *string `json:"left,omitempty"` // time of the move that replaced it
}

// Versions returns the versions of the named prompt, newest first.
// Errors: ENOTFOUND for a prompt that never had a version, EINVALID without
// a history index.
func (r *Registry) Versions(ctx context.Context, name string) ([]VersionEntry, error) {
	if r.index == nil {
		return nil, errNoHistory
	}
	st := r.state.Load()
	if st == nil {
		return nil, Errorf(EUNAVAILABLE, "no snapshot loaded yet")
	}
	vs := r.index.list(name)
	if len(vs) == 0 {
		return nil, Errorf(ENOTFOUND, "prompt %q has no versions on the %s branch", name, r.branch)
	}
	spans, err := r.ledger.Spans(ctx, r.branch, name)
	if err != nil {
		return nil, err
	}
	stays, err := r.stays(ctx, st, name, spans)
	if err != nil {
		return nil, err
	}
	byVersion := map[int][]Span{}
	for _, sp := range spans {
		byVersion[sp.Version] = append(byVersion[sp.Version], sp)
	}
	def, _ := st.def.Get(name)
	out := make([]VersionEntry, len(vs))
	for i, v := range vs {
		e := VersionEntry{Version: v, Environments: []string{}, CurrentAt: []CommitRange{}, EnvironmentHistory: stays[v.Version]}
		if e.EnvironmentHistory == nil {
			e.EnvironmentHistory = []EnvironmentStay{}
		}
		e.Current = def != nil && def.Prompt.Checksum == v.Checksum
		for _, env := range sortedKeysOf(st.envs) {
			if cur, ok := st.envs[env].Get(name); ok && cur.Prompt.Checksum == v.Checksum {
				e.Environments = append(e.Environments, env)
			}
		}
		for _, s := range byVersion[v.Version] {
			e.CurrentAt = append(e.CurrentAt, CommitRange{From: r.index.sha(s.From), Until: r.index.sha(s.To)})
		}
		out[len(vs)-1-i] = e
	}
	return out, nil
}

// stays derives, from the promotion ledger, when each version of a prompt
// entered and left each environment.
func (r *Registry) stays(ctx context.Context, st *state, name string, spans []Span) (map[int][]EnvironmentStay, error) {
	out := map[int][]EnvironmentStay{}
	for _, env := range sortedKeysOf(st.head.Config.Environments) {
		moves, err := r.ledger.RefMoves(ctx, RefMoveQuery{Environment: env, Limit: 1000})
		if err != nil {
			return nil, err
		}
		cur, curIdx := 0, -1
		for i := len(moves) - 1; i >= 0; i-- { // oldest first
			m := moves[i]
			v := versionAt(spans, r.index.seq(m.To))
			if v == cur {
				continue
			}
			at := m.ObservedAt.UTC().Format("2006-01-02T15:04:05.999999999Z07:00")
			if cur != 0 && curIdx >= 0 {
				out[cur][curIdx].Left = &at
			}
			cur, curIdx = v, -1
			if v != 0 {
				out[v] = append(out[v], EnvironmentStay{Environment: env, Entered: at})
				curIdx = len(out[v]) - 1
			}
		}
	}
	return out, nil
}

// versionAt returns the version the spans (one prompt's, in order of From,
// never overlapping) make current at indexed commit seq; 0 if none, or if
// seq is 0 (a commit off the indexed history).
func versionAt(spans []Span, seq int) int {
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
// since. Errors: ENOTFOUND, EINVALID without a history index.
func (r *Registry) ResolveVersion(ctx context.Context, name string, version int, checksum string) (*Entry, *Snapshot, error) {
	if r.index == nil {
		return nil, nil, errNoHistory
	}
	st := r.state.Load()
	if st == nil {
		return nil, nil, Errorf(EUNAVAILABLE, "no snapshot loaded yet")
	}
	var v Version
	found := false
	for _, c := range r.index.list(name) {
		if (version > 0 && c.Version == version) || (checksum != "" && c.Checksum == checksum) {
			v, found = c, true
			break
		}
	}
	if !found {
		if version > 0 {
			return nil, nil, Errorf(ENOTFOUND, "prompt %q has no version %d", name, version)
		}
		return nil, nil, Errorf(ENOTFOUND, "prompt %q has no version with checksum %s", name, checksum)
	}
	// Serve it from the commit that introduced it, or, when it could not
	// be served there (a partial it includes came a commit later), from
	// the last commit of each range over which it was current.
	candidates := []string{v.Commit.SHA}
	if spans, err := r.ledger.Spans(ctx, r.branch, name); err == nil {
		for _, sp := range spans {
			if sp.Version != v.Version {
				continue
			}
			last := r.index.head()
			if sp.To > 0 {
				last = r.index.sha(sp.To - 1)
			}
			if last != "" && last != v.Commit.SHA {
				candidates = append(candidates, last)
			}
		}
	}
	var problem *Problem
	for _, sha := range candidates {
		s, err := r.onDemand(ctx, st, sha, sha)
		if err != nil {
			return nil, nil, err
		}
		if e, ok := s.Get(name); ok && e.Prompt.Checksum == v.Checksum {
			return e, s, nil
		}
		for i, p := range s.Problems {
			if problem == nil && (p.Name == name || p.Path == v.Path) {
				problem = &s.Problems[i]
			}
		}
	}
	if problem != nil {
		return nil, nil, Errorf(EUNPROCESSABLE, "version %d of %q cannot be served: %s", v.Version, name, problem.Error())
	}
	return nil, nil, Errorf(ENOTFOUND, "version %d of %q is not served at its commit %s", v.Version, name, v.Commit.SHA)
}

// VersionBytes returns the file content of a version, by number.
func (r *Registry) VersionBytes(ctx context.Context, name string, version int) ([]byte, Version, error) {
	if r.index == nil {
		return nil, Version{}, errNoHistory
	}
	vs := r.index.list(name)
	if version < 1 || version > len(vs) {
		return nil, Version{}, Errorf(ENOTFOUND, "prompt %q has no version %d", name, version)
	}
	v := vs[version-1]
	data, err := r.src.ReadFile(ctx, v.Commit.SHA, v.Path)
	if err != nil {
		return nil, v, fmt.Errorf("read version %d of %s: %w", version, name, err)
	}
	return data, v, nil
}

// CurrentVersion returns the number of the version the default selection
// serves, 0 if the prompt is not served or not numbered.
func (r *Registry) CurrentVersion(name string) int {
	st := r.state.Load()
	if st == nil {
		return 0
	}
	if e, ok := st.def.Get(name); ok {
		return e.Prompt.Version
	}
	return 0
}

// Environment describes a configured environment.
type Environment struct {
	Name   string `json:"name"`
	Ref    string `json:"ref"`
	Commit string `json:"commit,omitempty"`
	// MovedAt is when the ledger last saw the ref move; nil if never.
	MovedAt *string `json:"moved_at"`
	// Differs counts the prompts whose content differs from the tracked
	// branch head (changed, or present on one side only).
	Differs int    `json:"differs_from_head"`
	Prompts int    `json:"prompts"`
	Error   string `json:"error,omitempty"`
}

// Environments lists the configured environments.
func (r *Registry) Environments(ctx context.Context) ([]Environment, error) {
	st := r.state.Load()
	if st == nil {
		return nil, Errorf(EUNAVAILABLE, "no snapshot loaded yet")
	}
	out := []Environment{}
	for _, name := range sortedKeysOf(st.head.Config.Environments) {
		e := Environment{Name: name, Ref: st.head.Config.Environments[name], Error: st.envErrs[name]}
		if full, ok := st.envRefs[name]; ok {
			e.Ref = full
		}
		if s, ok := st.envs[name]; ok {
			e.Commit, e.Prompts, e.Differs = s.Commit.SHA, s.Len(), differs(st.head, s)
		}
		if r.ledger != nil {
			moves, err := r.ledger.RefMoves(ctx, RefMoveQuery{Environment: name, Limit: 1})
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
func (r *Registry) EnvironmentHistory(ctx context.Context, env string, before int64, limit int) ([]RefMove, error) {
	st := r.state.Load()
	if st == nil {
		return nil, Errorf(EUNAVAILABLE, "no snapshot loaded yet")
	}
	if _, ok := st.head.Config.Environments[env]; !ok {
		return nil, Errorf(ENOTFOUND, "environment %q is not configured in %s", env, ConfigFile)
	}
	if r.ledger == nil {
		return nil, errNoHistory
	}
	return r.ledger.RefMoves(ctx, RefMoveQuery{Environment: env, Before: before, Limit: limit})
}

// IndexStats reports what the history index did; zero without one.
func (r *Registry) IndexStats() IndexStats {
	if r.index == nil {
		return IndexStats{}
	}
	return r.index.statsNow()
}

// differs counts the prompts whose content differs between two snapshots.
func differs(a, b *Snapshot) int {
	n := 0
	for _, name := range a.names {
		if e, ok := b.entries[name]; !ok || e.Prompt.Checksum != a.entries[name].Prompt.Checksum {
			n++
		}
	}
	for _, name := range b.names {
		if _, ok := a.entries[name]; !ok {
			n++
		}
	}
	return n
}
