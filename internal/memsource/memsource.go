// Package memsource is an in-memory registry.Source and HistorySource, each
// commit a map of paths to contents, for tests of snapshot and history rules.
//
// End-to-end tests use real repositories (internal/gittest).
package memsource

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// Source is the in-memory repository. It is safe for concurrent use.
type Source struct {
	mu      sync.Mutex
	commits map[string]map[string]string
	parents map[string]string
	refs    map[string]string
	n       int
	fetches int
	fail    error
	hook    func(n int) // called by Fetch with its number, outside the lock
}

// New returns an empty repository.
func New() *Source {
	return &Source{commits: map[string]map[string]string{}, parents: map[string]string{}, refs: map[string]string{}}
}

// Add records files as a new commit on ref, whose parent is what ref
// pointed at, and returns its sha.
func (m *Source) Add(ref string, files map[string]string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	sha := registry.Checksum([]byte(fmt.Sprint(m.n)))[:40]
	m.commits[sha] = files
	m.parents[sha] = m.refs[ref]
	m.refs[ref] = sha
	return sha
}

func (m *Source) FirstParents(_ context.Context, head string, stop func(string) bool) ([]string, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var chain []string
	for sha := head; sha != ""; sha = m.parents[sha] {
		if stop != nil && stop(sha) {
			return chain, sha, nil
		}
		chain = append(chain, sha)
	}
	return chain, "", nil
}

func (m *Source) Diff(_ context.Context, from, to, dir string) ([]registry.Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, b := m.commits[from], m.commits[to]
	var out []registry.Change
	for p, c := range b {
		if a[p] != c {
			out = append(out, registry.Change{Path: p, Blob: registry.Checksum([]byte(c)), Size: int64(len(c))})
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			out = append(out, registry.Change{Path: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (m *Source) Tagger(context.Context, string) (*registry.Signature, error) { return nil, nil }

func (m *Source) FetchRef(_ context.Context, ref string) (string, error) {
	return "", registry.Errorf(registry.ENOTFOUND, "no ref %s", ref)
}

func (m *Source) Fetch(context.Context) error {
	m.mu.Lock()
	m.fetches++
	n, fail, hook := m.fetches, m.fail, m.hook
	m.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return fail
}

// SetFetchHook makes every Fetch call hook with its number (1 for the
// first) before it returns, e.g. to hold a sync while a test acts.
func (m *Source) SetFetchHook(hook func(n int)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hook = hook
}

func (m *Source) Refs(context.Context) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for k, v := range m.refs {
		out[k] = v
	}
	return out, nil
}

func (m *Source) ResolveCommit(_ context.Context, prefix string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var found []string
	for sha := range m.commits {
		if strings.HasPrefix(sha, prefix) {
			found = append(found, sha)
		}
	}
	switch len(found) {
	case 0:
		return "", registry.Errorf(registry.ENOTFOUND, "no commit %s", prefix)
	case 1:
		return found[0], nil
	}
	return "", registry.Errorf(registry.EINVALID, "ambiguous %s", prefix)
}

func (m *Source) Commit(_ context.Context, sha string) (registry.Commit, error) {
	if _, ok := m.commits[sha]; !ok {
		return registry.Commit{}, registry.Errorf(registry.ENOTFOUND, "no commit %s", sha)
	}
	return registry.Commit{SHA: sha, Author: "a", Email: "a@x", Time: time.Unix(1700000000, 0).UTC(), Message: "m"}, nil
}

func (m *Source) ListFiles(_ context.Context, sha, dir string) ([]registry.FileRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []registry.FileRef
	for p, c := range m.commits[sha] {
		if dir == "" || strings.HasPrefix(p, dir+"/") {
			out = append(out, registry.FileRef{Path: p, Blob: registry.Checksum([]byte(c)), Size: int64(len(c))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func (m *Source) ReadFile(_ context.Context, sha, path string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.commits[sha][path]
	if !ok {
		return nil, registry.Errorf(registry.ENOTFOUND, "no file %s", path)
	}
	return []byte(c), nil
}

func (m *Source) ReadBlob(_ context.Context, blob string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, files := range m.commits {
		for _, c := range files {
			if registry.Checksum([]byte(c)) == blob {
				return []byte(c), nil
			}
		}
	}
	return nil, registry.Errorf(registry.ENOTFOUND, "no blob %s", blob)
}

// SetRef points ref (a full ref name) at sha.
func (m *Source) SetRef(ref, sha string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.refs[ref] = sha
}

// Ref returns the commit ref points at.
func (m *Source) Ref(ref string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refs[ref]
}

// SetFetchError makes Fetch return err (nil: succeed).
func (m *Source) SetFetchError(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

// Fetches returns how many times Fetch was called.
func (m *Source) Fetches() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fetches
}

// DeleteRef removes ref.
func (m *Source) DeleteRef(ref string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.refs, ref)
}

// Keep does nothing: the in-memory repository never loses commits.
func (m *Source) Keep(context.Context, string) error { return nil }
