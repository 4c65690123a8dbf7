package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"
)

// Entry is one prompt as a snapshot serves it, with everything a read needs
// precomputed: a GET is a map lookup and a write.
type Entry struct {
	Prompt *Prompt
	// ETag is the strong entity tag, quoted: the sha256 of the file bytes,
	// or for a prompt with partials a sha256 over its checksum and theirs.
	ETag string
	// Body is the JSON encoding of Prompt.
	Body []byte
	// Summary is the JSON encoding of the prompt's list item.
	Summary []byte
	// Stale is non-empty when the prompt's file is broken at the snapshot's
	// commit and the entry is its last known good version; it says why.
	Stale string

	search string // lower-cased name, description and tags, for q=
}

// Snapshot is the immutable set of prompts at one commit. Readers share it
// freely; a sync builds a new one beside it and swaps a pointer.
type Snapshot struct {
	Commit Commit
	// Ref is the full ref name the snapshot was built for, or the commit
	// sha for a commit asked for by sha.
	Ref    string
	Config RepoConfig
	// Problems lists the invalid files at this commit, sorted by path.
	Problems []Problem
	// Built is when the snapshot was built.
	Built time.Time
	// Size estimates the bytes the snapshot holds (file contents and the
	// precomputed bodies), for caches bounded by bytes.
	Size int64
	// Unnumbered counts the entries whose content the history has not
	// numbered (Prompt.Version 0).
	Unnumbered int
	// Unpinned is, for a selection with pins applied (Default, an
	// environment), the snapshot of its commit without them; nil for a
	// snapshot that is its commit's content. A ?ref= never gets a pinned
	// snapshot.
	Unpinned *Snapshot
	// Pinned lists the pins applied, sorted by name.
	Pinned []PinStatus

	entries map[string]*Entry
	names   []string          // sorted
	byPath  map[string]*Entry // for last known good lookups by the next build
}

// NewSnapshot returns the snapshot of commit for ref that serves entries,
// one per prompt name (a later entry replaces an earlier one of the same
// name or file), with the problems found at the commit (sorted here).
func NewSnapshot(commit Commit, ref string, cfg RepoConfig, problems []Problem, built time.Time, entries []*Entry) *Snapshot {
	s := &Snapshot{Commit: commit, Ref: ref, Config: cfg, Problems: problems, Built: built,
		entries: make(map[string]*Entry, len(entries)), byPath: make(map[string]*Entry, len(entries))}
	for _, e := range entries {
		s.entries[e.Prompt.Name] = e
		s.byPath[e.Prompt.File] = e
	}
	s.names = make([]string, 0, len(s.entries))
	for name, e := range s.entries {
		s.names = append(s.names, name)
		s.Size += e.size()
		if e.Prompt.Version == 0 {
			s.Unnumbered++
		}
	}
	sort.Strings(s.names)
	sortProblems(s.Problems)
	return s
}

// Next returns the snapshot NewSnapshot makes of s's entries with, for each
// name in changed, the entry there instead (none for nil): an incremental
// build's, which copies s's indexes instead of building them again. ok is
// false (call NewSnapshot) when s or the outcome has two entries of the same
// file, since which one ByPath returns then depends on their order.
func (s *Snapshot) Next(commit Commit, ref string, cfg RepoConfig, problems []Problem, built time.Time, changed map[string]*Entry) (_ *Snapshot, ok bool) {
	if len(s.byPath) != len(s.entries) {
		return nil, false
	}
	n := &Snapshot{Commit: commit, Ref: ref, Config: cfg, Problems: problems, Built: built, Size: s.Size, Unnumbered: s.Unnumbered,
		entries: maps.Clone(s.entries), byPath: maps.Clone(s.byPath), names: slices.Clone(s.names)}
	for name := range changed {
		old, ok := n.entries[name]
		if !ok {
			continue
		}
		delete(n.entries, name)
		delete(n.byPath, old.Prompt.File)
		n.Size -= old.size()
		if old.Prompt.Version == 0 {
			n.Unnumbered--
		}
		i, _ := slices.BinarySearch(n.names, name)
		n.names = slices.Delete(n.names, i, i+1)
	}
	for name, e := range changed {
		if e == nil {
			continue
		}
		if e.Prompt.Name != name {
			return nil, false
		}
		n.entries[name] = e
		n.byPath[e.Prompt.File] = e
		n.Size += e.size()
		if e.Prompt.Version == 0 {
			n.Unnumbered++
		}
		i, _ := slices.BinarySearch(n.names, name)
		n.names = slices.Insert(n.names, i, name)
	}
	if len(n.byPath) != len(n.entries) {
		return nil, false
	}
	sortProblems(n.Problems)
	return n, true
}

// size estimates the bytes e holds.
func (e *Entry) size() int64 {
	return int64(len(e.Body) + len(e.Summary) + len(e.Prompt.Raw) + len(e.Prompt.Template) + len(e.search))
}

// ByPath returns the entry served from the file at path (its File), for the
// next build's last known good lookups.
func (s *Snapshot) ByPath(path string) (*Entry, bool) {
	if s == nil {
		return nil, false
	}
	e, ok := s.byPath[path]
	return e, ok
}

// Get returns the entry of the named prompt; a nil snapshot has none.
func (s *Snapshot) Get(name string) (*Entry, bool) {
	if s == nil {
		return nil, false
	}
	e, ok := s.entries[name]
	return e, ok
}

// Len returns the number of prompts served.
func (s *Snapshot) Len() int { return len(s.names) }

// Names returns the prompt names, sorted. The slice must not be modified.
func (s *Snapshot) Names() []string { return s.names }

// Stale returns the names of the prompts served from their last known good
// version, with the reason, sorted by name.
func (s *Snapshot) Stale() []StalePrompt {
	var out []StalePrompt
	for _, n := range s.names {
		if e := s.entries[n]; e.Stale != "" {
			out = append(out, StalePrompt{Name: n, Reason: e.Stale})
		}
	}
	return out
}

// StalePrompt is a prompt served from its last known good version.
type StalePrompt struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// ListQuery filters and pages a prompt list.
type ListQuery struct {
	Q      string // case-insensitive substring of name, description or a tag
	Tag    string // exact tag
	Mode   string // registry.ModeGit, ModeFull or ModeTracking; "" for all
	Offset int
	Limit  int
}

// List returns the entries matching q, in name order, and the number of
// entries matching before paging.
func (s *Snapshot) List(q ListQuery) (page []*Entry, total int) {
	needle := strings.ToLower(q.Q)
	for _, n := range s.names {
		e := s.entries[n]
		if q.Mode != "" && e.Prompt.Mode != q.Mode {
			continue
		}
		if q.Tag != "" && !e.Prompt.HasTag(q.Tag) {
			continue
		}
		if needle != "" && !strings.Contains(e.search, needle) {
			continue
		}
		if total >= q.Offset && (q.Limit <= 0 || len(page) < q.Limit) {
			page = append(page, e)
		}
		total++
	}
	return page, total
}

// summary is the list item of a prompt: the prompt without its template,
// messages and schemas, under the same field names.
type summary struct {
	Name        string         `json:"name"`
	Version     int            `json:"version,omitempty"`
	Checksum    string         `json:"checksum"`
	Path        string         `json:"path"`
	Commit      *Commit        `json:"commit,omitempty"`
	Mode        string         `json:"mode"`
	Format      string         `json:"format"`
	Variables   []string       `json:"variables"`
	Description string         `json:"description,omitempty"`
	Tags        []string       `json:"tags"`
	Metadata    map[string]any `json:"metadata,omitempty"`
	Model       map[string]any `json:"model,omitempty"`
}

// NewEntry precomputes the entity tag and the JSON encodings of p.
// unnumbered says that the server keeps a version history but p's content
// has no number in it yet (it is not on the tracked branch): its body lacks
// version and commit, so it gets an entity tag of its own (UnnumberedETag),
// never the one the numbered body will have.
func NewEntry(p *Prompt, unnumbered bool) (*Entry, error) {
	body, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	sum, err := json.Marshal(summary{
		Name: p.Name, Version: p.Version, Checksum: p.Checksum, Path: p.Path, Commit: p.Commit, Mode: p.Mode,
		Format: p.Format, Variables: p.Variables, Description: p.Description, Tags: p.Tags,
		Metadata: p.Metadata, Model: p.Model,
	})
	if err != nil {
		return nil, err
	}
	etag := ETag(p.Checksum, p.Includes)
	if unnumbered {
		etag = UnnumberedETag(etag, p.Path)
	}
	return &Entry{
		Prompt:  p,
		ETag:    etag,
		Body:    body,
		Summary: sum,
		search:  strings.ToLower(p.Name + "\x00" + p.Description + "\x00" + strings.Join(p.Tags, "\x00")),
	}, nil
}

// WithStale returns a copy of e marked as the last known good version of
// its prompt, served because of why (folded to one line, see OneLine).
func (e *Entry) WithStale(why string) *Entry {
	c := *e
	c.Stale = OneLine(why)
	return &c
}

// OneLine folds a message into one line without control characters, so it
// can travel in a header (X-Promptreg-Stale) as it is.
func OneLine(s string) string {
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

// Differs counts the prompts whose content differs between two snapshots:
// changed, or present on one side only.
func Differs(a, b *Snapshot) int {
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

// ETag returns the quoted strong entity tag of content with the given
// checksum that includes the given partials: the checksum itself without
// partials, else the sha256 of the checksum and each partial's name and
// checksum. Every replica computes the same tag for the same content.
func ETag(checksum string, includes []Include) string {
	if len(includes) == 0 {
		return `"` + checksum + `"`
	}
	h := sha256.New()
	h.Write([]byte(checksum))
	for _, in := range includes {
		h.Write([]byte("\n" + in.Name + " " + in.Checksum))
	}
	return `"` + hex.EncodeToString(h.Sum(nil)) + `"`
}

// UnnumberedETag returns the entity tag of the body of content at path
// whose numbered body has entity tag etag, served before the history
// numbered it (a feature branch's edit fetched by ?ref=): a sha256 over etag
// and path, since such a body carries the file's path rather than a
// version's, followed by "-unnumbered". One tag names exactly one body, so
// a cache that holds the unnumbered body revalidates to the numbered one
// once the content reaches the tracked branch, instead of being told 304.
func UnnumberedETag(etag, path string) string {
	h := sha256.Sum256([]byte(etag + "\n" + path))
	return `"` + hex.EncodeToString(h[:]) + `-unnumbered"`
}

// Checksum returns the hex sha256 of b.
func Checksum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// ListETag returns the quoted entity tag of a list page: a sha256 over the
// canonical query, the total and the entity tags of the entries on the page,
// so that it changes exactly when the page's content does.
func ListETag(query string, total int, page []*Entry) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%d", query, total)
	for _, e := range page {
		h.Write([]byte("\n" + e.Prompt.Name + " " + e.ETag))
	}
	return `"` + hex.EncodeToString(h.Sum(nil)) + `"`
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Path != ps[j].Path {
			return ps[i].Path < ps[j].Path
		}
		return ps[i].Line < ps[j].Line
	})
}
