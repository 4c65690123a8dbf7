package snapshots

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/repoconfig"
)

// readPins returns the pins in force at head: its pins file, or, when that
// is broken, the pins prev had, with the problem. The file is read again
// only when the head moved.
func (k *Keeper) readPins(ctx context.Context, head string, prev *registry.Served) (registry.Pins, *registry.Problem, error) {
	if prev.Head != nil && prev.Head.Commit.SHA == head {
		return prev.Pins, prev.PinsProblem, nil
	}
	pins, problem, err := repoconfig.ReadPins(ctx, k.src, head)
	if err != nil {
		return prev.Pins, prev.PinsProblem, err
	}
	if problem != nil {
		k.log.Error("the pins file is broken; the pins read before stay in force", "commit", head, "problem", problem.Error())
		return prev.Pins, problem, nil
	}
	return pins, nil, nil
}

// applyPins replaces st's environment and default snapshots by their
// pinned overlays. Called with syncMu held.
func (k *Keeper) applyPins(ctx context.Context, st, prev *registry.Served) error {
	used := map[string]*registry.Entry{}
	for env, s := range st.Envs {
		o, err := k.pin(ctx, unpinned(s), st.Pins.Environments[env], prev.Envs[env], used)
		if err != nil {
			return err
		}
		st.Envs[env] = o
	}
	if st.Default != nil {
		sel := st.Pins.Default
		if st.DefaultEnv != "" {
			// The default environment's pins, then the default ones.
			sel = maps.Clone(st.Pins.Environments[st.DefaultEnv])
			if sel == nil {
				sel = map[string]string{}
			}
			maps.Copy(sel, st.Pins.Default)
		}
		o, err := k.pin(ctx, unpinned(st.Default), sel, prev.Default, used)
		if err != nil {
			return err
		}
		st.Default = o
	}
	k.pinned = used
	return nil
}

// unpinned returns the content of s's commit, without pins.
func unpinned(s *registry.Snapshot) *registry.Snapshot {
	if s.Unpinned != nil {
		return s.Unpinned
	}
	return s
}

// pin returns base with the pins sel applied: prev again if it is base with
// the same pins, base itself when nothing is pinned. used collects the
// entries of pinned versions, for the next sync. A pin that cannot be
// honoured (its checksum is no version of the prompt) leaves the prompt as
// base serves it, and says why in the snapshot's Pinned list.
func (k *Keeper) pin(ctx context.Context, base *registry.Snapshot, sel map[string]string, prev *registry.Snapshot, used map[string]*registry.Entry) (*registry.Snapshot, error) {
	if len(sel) == 0 {
		return base, nil
	}
	if prev != nil && prev.Unpinned == base && samePins(prev.Pinned, sel) {
		for _, ps := range prev.Pinned {
			if e, ok := k.pinned[ps.Name+"\x00"+ps.Checksum]; ok {
				used[ps.Name+"\x00"+ps.Checksum] = e
			}
		}
		return prev, nil
	}
	names := slices.Sorted(maps.Keys(sel))
	status := make([]registry.PinStatus, 0, len(names))
	repl := map[string]*registry.Entry{}
	for _, name := range names {
		e, ps, err := k.pinnedEntry(ctx, base, name, sel[name])
		if err != nil {
			return nil, err
		}
		if ps.Error != "" {
			k.log.Warn("a pin cannot be honoured", "prompt", name, "ref", base.Ref, "err", ps.Error)
			e, _ = base.Get(name)
		}
		if e != nil && ps.Version > 0 {
			used[name+"\x00"+ps.Checksum] = e
		}
		repl[name] = e
		status = append(status, ps)
	}
	entries := make([]*registry.Entry, 0, base.Len()+len(repl))
	for _, n := range base.Names() {
		if _, pinned := repl[n]; !pinned {
			e, _ := base.Get(n)
			entries = append(entries, e)
		}
	}
	for _, n := range names {
		if e := repl[n]; e != nil {
			entries = append(entries, e)
		}
	}
	out := registry.NewSnapshot(base.Commit, base.Ref, base.Config, slices.Clone(base.Problems), base.Built, entries)
	out.Unpinned, out.Pinned = base, status
	return out, nil
}

// samePins reports whether applied is the list of the pins sel.
func samePins(applied []registry.PinStatus, sel map[string]string) bool {
	if len(applied) != len(sel) {
		return false
	}
	for _, ps := range applied {
		if sum, ok := sel[ps.Name]; !ok || sum != ps.Checksum {
			return false
		}
	}
	return true
}

// pinnedEntry returns the entry of the version of name with checksum sum
// (nil for a prompt pinned as not served), and the pin's status. The
// version's entry is the one its first commit served.
func (k *Keeper) pinnedEntry(ctx context.Context, base *registry.Snapshot, name, sum string) (*registry.Entry, registry.PinStatus, error) {
	ps := registry.PinStatus{Name: name, Checksum: sum, Hidden: sum == ""}
	if sum == "" {
		return nil, ps, nil
	}
	if e, ok := base.Get(name); ok && e.Prompt.Checksum == sum && e.Stale == "" {
		ps.Version = e.Prompt.Version
		return e, ps, nil
	}
	if k.index == nil {
		ps.Error = "pins need the version history (a database)"
		return nil, ps, nil
	}
	n, commit, path := k.index.Lookup(name, sum)
	if n == 0 {
		ps.Error = fmt.Sprintf("%s is not the checksum of a version of %q", short(sum), name)
		return nil, ps, nil
	}
	ps.Version = n
	if e, ok := k.pinned[name+"\x00"+sum]; ok {
		return e, ps, nil
	}
	snap, err := k.demand.get(ctx, commit.SHA, commit.SHA)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ps, ctx.Err()
		}
		ps.Error = fmt.Sprintf("version %d cannot be read at its commit %s: %s", n, short(commit.SHA), registry.ErrorMessage(err))
		return nil, ps, nil
	}
	e, ok := snap.Get(name)
	if !ok || e.Prompt.Checksum != sum {
		// Renamed since: the version's file served another name then.
		if e, ok = snap.ByPath(path); !ok || e.Prompt.Checksum != sum {
			ps.Error = fmt.Sprintf("version %d is not served at its commit %s", n, short(commit.SHA))
			return nil, ps, nil
		}
	}
	if e.Prompt.Name != name {
		p := *e.Prompt
		p.Name = name
		if e, err = registry.NewEntry(&p, false); err != nil {
			return nil, ps, err
		}
	}
	return e, ps, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// pinsStatus describes the pins in force in st; nil when there are none
// and the pins file has no problem.
func pinsStatus(st *registry.Served) *registry.PinsStatus {
	if st.Pins.Empty() && st.PinsProblem == nil {
		return nil
	}
	out := &registry.PinsStatus{Commit: st.Head.Commit.SHA, Default: []registry.PinStatus{},
		Environments: map[string][]registry.PinStatus{}, Problem: st.PinsProblem}
	if st.Default != nil && st.Default.Pinned != nil {
		out.Default = st.Default.Pinned
	}
	for env, s := range st.Envs {
		if s.Pinned != nil {
			out.Environments[env] = s.Pinned
		}
	}
	for env, m := range st.Pins.Environments {
		if _, ok := st.Envs[env]; !ok && len(m) > 0 {
			// Pins of an environment that is not served (not configured,
			// or its ref is missing): listed, not applied.
			var l []registry.PinStatus
			for _, n := range slices.Sorted(maps.Keys(m)) {
				l = append(l, registry.PinStatus{Name: n, Checksum: m[n], Hidden: m[n] == "", Error: fmt.Sprintf("environment %q is not served", env)})
			}
			out.Environments[env] = l
		}
	}
	return out
}
