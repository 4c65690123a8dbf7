package gitstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/promptreg/promptreg/registry"
)

var _ registry.HistorySource = (*Store)(nil)

// This file reads history the way the history index needs it, fast: a
// first-parent walk that decodes only commit headers, and a tree diff that
// compares the raw bytes of two trees entry by entry and descends only into
// subtrees whose hash changed. go-git's own tools for this (Log with a
// FileName or PathFilter, object.DiffTree) decode every sibling subtree and
// are ~50 times slower on a long history (measured on 3,000 commits: 22.9 s
// against 0.44 s; go-git issues 137 and 811).

// ctxEvery is how many commits FirstParents reads, and how many trees Diff
// reads, between two checks of the context.
const ctxEvery = 1000

// FirstParents returns the first-parent chain that starts at head, newest
// first, stopping before the first commit for which stop returns true; base
// is that commit, or "" when the walk reached the root commit (a nil stop
// walks to the root). It reads only the commits' headers, under the read
// lock. Errors: EINVALID for a malformed sha, ENOTFOUND when head is not a
// commit of the clone, EINTERNAL when a parent is missing (a broken clone),
// ETIMEOUT when ctx expires.
func (s *Store) FirstParents(ctx context.Context, head string, stop func(sha string) bool) (_ []string, _ string, err error) {
	defer s.noteErr(&err)
	h, err := parseSHA("walk history", head)
	if err != nil {
		return nil, "", err
	}
	if err := s.rlock(ctx, "walk history"); err != nil {
		return nil, "", err
	}
	defer s.mu.RUnlock()

	or := s.objects()
	defer or.release()
	var (
		chain []string
		buf   []byte
		sha   = h.String()
	)
	for n := 1; ; n++ {
		if stop != nil && stop(sha) {
			return chain, sha, nil
		}
		if n%ctxEvery == 0 {
			if err := ctxErr(ctx, "walk history from "+head); err != nil {
				return nil, "", err
			}
		}
		var hdr commitHeader
		hdr, buf, err = or.commitHeader(h, buf)
		if err != nil {
			if n > 1 && errors.Is(err, plumbing.ErrObjectNotFound) {
				return nil, "", internal(fmt.Sprintf("walk history from %s: the clone lacks commit %s", head, sha), err)
			}
			return nil, "", readError(fmt.Sprintf("walk history from %s: read commit %s", head, sha), err)
		}
		chain = append(chain, sha)
		if !hdr.hasParent {
			return chain, "", nil
		}
		h, sha = hdr.parent, hdr.parent.String()
	}
}

// Diff returns the regular files (executable ones included; symlinks and
// submodules are not files, so a file that becomes one is deleted) under dir
// ("" for the whole tree) that differ between the trees of commits from and
// to, sorted by path. from "" (or to "") is the empty tree. Paths are
// slash-separated from the repository's root; a deleted file has Blob "" and
// Size 0. A file whose mode alone changed (made executable) has the same
// content and is not a change. A dir that is not a directory in a tree is
// empty there.
//
// It compares tree entries by hash and reads only the subtrees whose hash
// differs, and the sizes of the added and changed blobs from their object
// headers, never their content. Errors: EINVALID for a malformed sha or dir,
// ENOTFOUND when from or to is not a commit of the clone, ETIMEOUT when ctx
// expires.
func (s *Store) Diff(ctx context.Context, from, to, dir string) (_ []registry.Change, err error) {
	defer s.noteErr(&err)
	var fromH, toH plumbing.Hash
	if from != "" {
		if fromH, err = parseSHA("diff", from); err != nil {
			return nil, err
		}
	}
	if to != "" {
		if toH, err = parseSHA("diff", to); err != nil {
			return nil, err
		}
	}
	segs, err := splitPath(dir, true)
	if err != nil {
		return nil, err
	}
	if err := s.rlock(ctx, "diff"); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()

	op := fmt.Sprintf("diff %s..%s", from, to)
	d := differPool.Get().(*differ)
	defer d.done()
	d.or, d.ctx, d.op = s.objects(), ctx, op

	var trees [2]plumbing.Hash // zero: the empty tree
	for i, c := range [2]plumbing.Hash{fromH, toH} {
		if c.IsZero() {
			continue
		}
		var hdr commitHeader
		hdr, d.cbuf, err = d.or.commitHeader(c, d.cbuf)
		if err != nil {
			return nil, readError(fmt.Sprintf("%s: read commit %s", op, c), err)
		}
		if trees[i], err = d.subtree(hdr.tree, segs); err != nil {
			return nil, err
		}
	}
	if err := d.diff(trees[0], trees[1], strings.Join(segs, "/")); err != nil {
		return nil, err
	}
	out := make([]registry.Change, len(d.out))
	copy(out, d.out)
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Tagger returns who made the annotated tag that ref (a full ref name such
// as refs/tags/production) points at, with the time in UTC; nil when ref is
// a lightweight tag, a branch, or does not exist (it may just have been
// deleted). Errors: EINVALID for a malformed ref name.
func (s *Store) Tagger(ctx context.Context, ref string) (_ *registry.Signature, err error) {
	defer s.noteErr(&err)
	name, err := parseRefName("read tagger", ref)
	if err != nil {
		return nil, err
	}
	if err := s.rlock(ctx, "read tagger"); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()

	r, err := s.st.Reference(name)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, internal("read tagger of "+ref, err)
	}
	if r.Type() != plumbing.HashReference {
		return nil, nil // symbolic: not a tag
	}
	obj, err := s.st.EncodedObject(plumbing.AnyObject, r.Hash())
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, internal("read tagger of "+ref, err)
	}
	if obj.Type() != plumbing.TagObject {
		return nil, nil
	}
	tag, err := object.DecodeTag(s.st, obj)
	if err != nil {
		return nil, internal("read tagger of "+ref, err)
	}
	return &registry.Signature{Name: tag.Tagger.Name, Email: tag.Tagger.Email, Time: tag.Tagger.When.UTC()}, nil
}

// FetchRef fetches one ref of the remote that Fetch does not bring or has
// not brought yet (refs/pull/123/head, a branch created since the last
// fetch), forced, to the same name in the clone, and returns the commit it
// points at (an annotated tag peeled). Errors: EINVALID for a malformed ref
// name (it must be a full name under refs/ and may not be a pattern),
// or one under refs/promptreg/ (the clone's own), ENOTFOUND when the remote
// has no such ref or it is not a commit, EUNAVAILABLE when the remote cannot
// be reached, ETIMEOUT when ctx expires.
//
// It lists the remote's refs first, so a missing ref costs readers
// nothing. The fetch runs beside other transfers, holding a slot of
// s.transfers until the ref is published (so no repack can delete the pack
// before a ref reaches it), and without the Store's lock (transfer.go):
// readers are kept waiting only while the result is published, never while
// the remote is slow.
func (s *Store) FetchRef(ctx context.Context, ref string) (string, error) {
	name, err := parseRefName("fetch ref", ref)
	if err != nil {
		return "", err
	}
	op := "fetch " + ref
	if strings.HasPrefix(ref, ownPrefix) {
		// A remote ref of that name must never move the clone's own refs
		// (keep refs protect versions a force-push dropped).
		return "", registry.Errorf(registry.EINVALID, "%s: refs under %s are the server's own", op, ownPrefix)
	}
	spec := config.RefSpec("+" + ref + ":" + ref)
	if err := spec.Validate(); err != nil {
		return "", &registry.Error{Code: registry.EINVALID, Message: fmt.Sprintf("%s: invalid ref name", op), Err: err}
	}

	remote, err := s.remoteRef(ctx, name)
	if err != nil {
		return "", err
	}
	if sha, ok, err := s.localRef(ctx, name, remote); err != nil || ok {
		return sha, err
	}

	if err := s.acquireTransfer(ctx, op); err != nil {
		return "", err
	}
	refs, err := s.transfer(ctx, []config.RefSpec{spec}, false)
	if err != nil {
		s.releaseTransfer()
		s.tryCleanTemp()
	} else {
		defer s.releaseTransfer() // after the ref is published
	}
	if errors.Is(err, git.NoMatchingRefSpecError{}) {
		// Deleted between the listing and the fetch.
		return "", notFound("%s: the remote has no such ref", op)
	}
	if err != nil {
		return "", s.fetchError(ctx, err)
	}
	fetched, err := refs.Reference(name)
	if err != nil {
		return "", internal(op+": read the fetched ref", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", errClosed
	}
	if err := s.publish(); err != nil {
		return "", internal(op+": reload pack indexes", err)
	}
	if err := s.st.HasEncodedObject(fetched.Hash()); err != nil {
		return "", internal(op+": the fetched object is not in the clone", err)
	}
	if err := s.st.SetReference(plumbing.NewHashReference(name, fetched.Hash())); err != nil {
		return "", internal(op+": move the ref", err)
	}
	if err := warm(s.st); err != nil {
		return "", internal(op+": reload pack indexes", err)
	}
	h, err := s.peel(fetched.Hash())
	if errors.Is(err, errNotCommit) {
		return "", notFound("%s: not a commit", op)
	}
	if err != nil {
		return "", internal(op+": read the fetched ref", err)
	}
	s.log.Debug("git ref fetched", "ref", ref, "commit", h)
	return h.String(), nil
}

// remoteRef returns what the remote's ref name points at (unpeeled).
func (s *Store) remoteRef(ctx context.Context, name plumbing.ReferenceName) (plumbing.Hash, error) {
	r := git.NewRemote(nil, remoteConfig(s.url))
	refs, err := r.ListContext(ctx, &git.ListOptions{Auth: s.auth, PeelingOption: git.IgnorePeeled})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return plumbing.ZeroHash, notFound("fetch %s: the remote has no such ref", name)
	}
	if err != nil {
		return plumbing.ZeroHash, s.fetchError(ctx, err)
	}
	for _, ref := range refs {
		if ref.Name() == name && ref.Type() == plumbing.HashReference {
			return ref.Hash(), nil
		}
	}
	return plumbing.ZeroHash, notFound("fetch %s: the remote has no such ref", name)
}

// localRef returns the commit of the clone's ref name when it already
// points at want and the clone has the object: nothing to fetch.
func (s *Store) localRef(ctx context.Context, name plumbing.ReferenceName, want plumbing.Hash) (string, bool, error) {
	if err := s.rlock(ctx, "fetch "+name.String()); err != nil {
		return "", false, err
	}
	defer s.mu.RUnlock()
	r, err := s.st.Reference(name)
	if err != nil || r.Type() != plumbing.HashReference || r.Hash() != want {
		return "", false, nil
	}
	h, err := s.peel(want)
	if errors.Is(err, errNotCommit) {
		return "", false, notFound("fetch %s: not a commit", name)
	}
	if err != nil {
		return "", false, nil // missing object: fetch it
	}
	return h.String(), true, nil
}

// parseRefName checks a full ref name given to Tagger or FetchRef: under
// refs/, valid by git's rules, and not a pattern.
func parseRefName(op, ref string) (plumbing.ReferenceName, error) {
	bad := !strings.HasPrefix(ref, "refs/") || len(ref) > 1024 ||
		strings.Contains(ref, "..") || strings.ContainsAny(ref, " \t\n*:")
	for i := 0; i < len(ref) && !bad; i++ {
		bad = ref[i] < 0x20 || ref[i] == 0x7f
	}
	name := plumbing.ReferenceName(ref)
	if bad || name.Validate() != nil {
		return "", registry.Errorf(registry.EINVALID, "%s: invalid ref name %q (want a full name such as refs/heads/main)", op, ref)
	}
	return name, nil
}

// commitHeader is what the history walk needs of a commit.
type commitHeader struct {
	tree      plumbing.Hash
	parent    plumbing.Hash // the first parent
	hasParent bool
}

// commitHeader reads commit h's tree and first parent, using buf (which it
// returns, possibly grown) to hold the object.
func (or *objectReader) commitHeader(h plumbing.Hash, buf []byte) (commitHeader, []byte, error) {
	var hdr commitHeader
	buf, err := or.read(plumbing.CommitObject, h, buf)
	if err != nil {
		return hdr, buf, err
	}
	rest := buf
	line := func() []byte {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			i = len(rest)
		}
		l := rest[:i]
		rest = rest[min(i+1, len(rest)):]
		return l
	}
	l := line()
	if !bytes.HasPrefix(l, []byte("tree ")) || !parseHash(l[5:], &hdr.tree) {
		return hdr, buf, fmt.Errorf("commit %s: malformed header", h)
	}
	l = line()
	if bytes.HasPrefix(l, []byte("parent ")) {
		if !parseHash(l[7:], &hdr.parent) {
			return hdr, buf, fmt.Errorf("commit %s: malformed parent", h)
		}
		hdr.hasParent = true
	}
	return hdr, buf, nil
}

// read reads the content of object h of type t into buf (grown as needed)
// and returns it.
func (or *objectReader) read(t plumbing.ObjectType, h plumbing.Hash, buf []byte) ([]byte, error) {
	obj, err := or.object(t, h)
	if err != nil {
		return buf, err
	}
	size := obj.Size()
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	r, err := obj.Reader()
	if err != nil {
		return buf, err
	}
	defer r.Close()
	if _, err := io.ReadFull(r, buf); err != nil {
		return buf, fmt.Errorf("read object %s: %w", h, err)
	}
	return buf, nil
}

func parseHash(hexa []byte, h *plumbing.Hash) bool {
	if len(hexa) != 2*len(h) {
		return false
	}
	_, err := hex.Decode(h[:], hexa)
	return err == nil
}

// differ diffs two trees. One serves one Diff call; they are pooled for
// their buffers and for the trees the last calls parsed: walking history,
// the trees of a commit are read twice, once as the new side of its own
// diff and once as the old side of its child's.
type differ struct {
	or   *objectReader
	ctx  context.Context
	op   string
	out  []registry.Change
	cbuf []byte // a commit's content
	read int    // trees read, for the context checks

	free []*rawTree // trees whose buffers can be reused
	// cur holds the trees this call parsed or reused (up to maxKeptTrees),
	// prev those of the previous call. Kept trees are never reused for
	// another tree's content while kept.
	cur, prev map[plumbing.Hash]*rawTree
	kept      int // bytes of the trees in cur
}

var differPool = sync.Pool{New: func() any {
	return &differ{cur: map[plumbing.Hash]*rawTree{}, prev: map[plumbing.Hash]*rawTree{}}
}}

// Bounds of what a pooled differ keeps.
const (
	maxPooledTree = 1 << 20 // the largest tree buffer reused
	maxKeptTrees  = 64      // parsed trees kept for the next call
	maxKeptBytes  = 1 << 20 // and their total size
	maxFreeTrees  = 64      // buffers kept for reuse
)

func (d *differ) done() {
	d.or.release()
	d.or, d.ctx, d.out, d.read = nil, nil, d.out[:0], 0
	if cap(d.out) > 4096 {
		d.out = nil
	}
	if cap(d.cbuf) > maxPooledTree {
		d.cbuf = nil
	}
	// Trees of the previous call that this one did not use are done with.
	for h, t := range d.prev {
		t.kept = false
		d.release(t)
		delete(d.prev, h)
	}
	d.prev, d.cur, d.kept = d.cur, d.prev, 0
	differPool.Put(d)
}

// rawTree is a tree object's content and its entries, which point into it.
type rawTree struct {
	raw     []byte
	entries []rawEntry
	kept    bool // in the differ's cur or prev
}

type rawEntry struct {
	name []byte
	mode filemode.FileMode
	hash plumbing.Hash
}

func (e *rawEntry) isDir() bool  { return e.mode == filemode.Dir }
func (e *rawEntry) isFile() bool { return isFile(e.mode) }

// emptyTree is the parsed empty tree.
var emptyTree = &rawTree{kept: true}

// load reads and parses tree h; the zero hash is the empty tree. The caller
// gives the tree back with release.
func (d *differ) load(h plumbing.Hash) (*rawTree, error) {
	if h.IsZero() {
		return emptyTree, nil
	}
	if t, ok := d.cur[h]; ok {
		return t, nil
	}
	if t, ok := d.prev[h]; ok {
		delete(d.prev, h)
		d.cur[h] = t
		d.kept += len(t.raw)
		return t, nil
	}
	if d.read++; d.read%ctxEvery == 0 {
		if err := d.ctx.Err(); err != nil {
			return nil, readError(d.op, err)
		}
	}
	t := &rawTree{}
	if n := len(d.free); n > 0 {
		t, d.free = d.free[n-1], d.free[:n-1]
	}
	var err error
	t.raw, err = d.or.read(plumbing.TreeObject, h, t.raw)
	if err == nil {
		err = t.parse()
	}
	if err != nil {
		d.release(t)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, internal(fmt.Sprintf("%s: the clone lacks tree %s", d.op, h), err)
		}
		return nil, internal(fmt.Sprintf("%s: read tree %s", d.op, h), err)
	}
	if len(d.cur) < maxKeptTrees && d.kept+len(t.raw) <= maxKeptBytes {
		t.kept = true
		d.cur[h] = t
		d.kept += len(t.raw)
	}
	return t, nil
}

// release gives back a tree load returned; its buffers are reused unless
// the differ keeps it.
func (d *differ) release(t *rawTree) {
	if t.kept || cap(t.raw) > maxPooledTree || len(d.free) >= maxFreeTrees {
		return
	}
	t.entries = t.entries[:0]
	d.free = append(d.free, t)
}

// parse splits the tree's content into entries ("<octal mode> <name>\0<20
// byte hash>" each) and makes sure they are in Git's order, which the merge
// in diff relies on (Git writes them so; a tree made otherwise is sorted
// here).
func (t *rawTree) parse() error {
	b := t.raw
	sorted := true
	for len(b) > 0 {
		var e rawEntry
		i := 0
		for ; i < len(b) && b[i] != ' '; i++ {
			c := b[i]
			if c < '0' || c > '7' || i >= 7 {
				return errors.New("malformed tree entry mode")
			}
			e.mode = e.mode<<3 | filemode.FileMode(c-'0')
		}
		if i == 0 || i == len(b) {
			return errors.New("malformed tree entry")
		}
		b = b[i+1:]
		j := bytes.IndexByte(b, 0)
		if j <= 0 || len(b) < j+1+len(e.hash) {
			return errors.New("malformed tree entry")
		}
		e.name = b[:j:j]
		copy(e.hash[:], b[j+1:])
		b = b[j+1+len(e.hash):]
		if n := len(t.entries); n > 0 && sorted && compareEntries(&t.entries[n-1], &e) >= 0 {
			sorted = false
		}
		t.entries = append(t.entries, e)
	}
	if !sorted {
		sort.SliceStable(t.entries, func(i, j int) bool { return compareEntries(&t.entries[i], &t.entries[j]) < 0 })
	}
	return nil
}

// compareEntries orders entries as Git sorts a tree: by name, a
// directory's name as if it ended in "/".
func compareEntries(a, b *rawEntry) int {
	n := min(len(a.name), len(b.name))
	if c := bytes.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	next := func(e *rawEntry) int {
		switch {
		case len(e.name) > n:
			return int(e.name[n])
		case e.isDir():
			return '/'
		}
		return 0
	}
	return next(a) - next(b)
}

// subtree returns the hash of the directory at segs under tree root, or the
// zero hash (the empty tree) when there is none.
func (d *differ) subtree(root plumbing.Hash, segs []string) (plumbing.Hash, error) {
	h := root
	for _, seg := range segs {
		t, err := d.load(h)
		if err != nil {
			return h, err
		}
		h = plumbing.ZeroHash
		for i := range t.entries {
			if e := &t.entries[i]; e.isDir() && string(e.name) == seg {
				h = e.hash
				break
			}
		}
		d.release(t)
		if h.IsZero() {
			break
		}
	}
	return h, nil
}

// diff appends to d.out the file changes between trees a and b (zero: the
// empty tree), whose path is dir.
func (d *differ) diff(a, b plumbing.Hash, dir string) error {
	if a == b {
		return nil
	}
	ta, err := d.load(a)
	if err != nil {
		return err
	}
	defer d.release(ta)
	tb, err := d.load(b)
	if err != nil {
		return err
	}
	defer d.release(tb)

	ea, eb := ta.entries, tb.entries
	for len(ea) > 0 || len(eb) > 0 {
		var x, y *rawEntry // the entries of the same name in a and b
		switch {
		case len(eb) == 0:
			x, ea = &ea[0], ea[1:]
		case len(ea) == 0:
			y, eb = &eb[0], eb[1:]
		default:
			switch c := compareEntries(&ea[0], &eb[0]); {
			case c < 0:
				x, ea = &ea[0], ea[1:]
			case c > 0:
				y, eb = &eb[0], eb[1:]
			default:
				x, y, ea, eb = &ea[0], &eb[0], ea[1:], eb[1:]
			}
		}
		if err := d.entry(x, y, dir); err != nil {
			return err
		}
	}
	return nil
}

// entry appends the changes between x and y, the entries of one name in two
// trees (nil where absent; when both are set, both are directories or
// neither is).
func (d *differ) entry(x, y *rawEntry, dir string) error {
	if x != nil && y != nil && x.hash == y.hash && (x.isDir() || x.isFile() == y.isFile()) {
		return nil // same content; a mode change between files is not a change
	}
	var e *rawEntry
	if y != nil {
		e = y
	} else {
		e = x
	}
	p := string(e.name)
	if dir != "" {
		p = dir + "/" + p
	}
	if e.isDir() {
		var ha, hb plumbing.Hash
		if x != nil {
			ha = x.hash
		}
		if y != nil {
			hb = y.hash
		}
		return d.diff(ha, hb, p)
	}
	switch {
	case y != nil && y.isFile():
		size, err := d.or.size(y.hash)
		if err != nil {
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				return internal(fmt.Sprintf("%s: the clone lacks blob %s of %s", d.op, y.hash, p), err)
			}
			return internal(fmt.Sprintf("%s: size of %s", d.op, p), err)
		}
		d.out = append(d.out, registry.Change{Path: p, Blob: y.hash.String(), Size: size})
	case x != nil && x.isFile():
		d.out = append(d.out, registry.Change{Path: p})
	}
	return nil
}

// Reading objects fast.
//
// The Store's go-git storage opens the packfile anew for every object it
// reads (sharing open packfiles between goroutines would race), which costs
// more than decoding a small object: 17 µs of ~25 per commit read, and most
// of a Diff. The history walk reads tens of thousands of small objects, so
// it reads them through an objectReader instead: packfiles it keeps open
// (go-git's packfile.Packfile over the clone's pack indexes), one set per
// goroutine, taken from a pool and given back after each call. Objects the
// packs lack (loose ones, or none) are read through the Store's storage.
//
// The pool belongs to one Store and is valid for one set of packs: every
// call, under the read lock (so the set cannot change during it), lists the
// pack directory and, when the set changed (a fetch added a pack, a repack
// replaced them), loads the new indexes and retires the open files.

// objects returns a reader of the clone's objects for one call; the caller
// calls release when done. Called under the read lock.
func (s *Store) objects() *objectReader {
	s.poolOnce.Do(func() {
		sizes, _ := lru.New[plumbing.Hash, int64](sizeCacheEntries)
		s.pool = &packPool{
			dir:   filepath.Join(s.path, "objects", "pack"),
			cache: cache.NewObjectLRU(cache.FileSize(s.cacheBytes)),
			sizes: sizes,
			log:   s.log,
		}
	})
	or := &objectReader{s: s, pool: s.pool}
	or.packs = or.pool.acquire()
	return or
}

// objectReader reads objects for one call, under the read lock.
type objectReader struct {
	s     *Store
	pool  *packPool
	packs *openPacks // nil: read everything through the Store's storage
}

func (or *objectReader) release() {
	if or != nil && or.packs != nil {
		or.pool.give(or.packs)
		or.packs = nil
	}
}

// object returns object h of type t (any type for plumbing.AnyObject).
func (or *objectReader) object(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	if or.packs != nil {
		// The cache first: the walk reads most trees twice (a commit's,
		// then its child's parent's), and Packfile.Get looks the hash up in
		// the index before it looks in the cache.
		if obj, ok := or.pool.cache.Get(h); ok {
			if t != plumbing.AnyObject && obj.Type() != t {
				return nil, plumbing.ErrObjectNotFound
			}
			return obj, nil
		}
		for _, p := range or.packs.packs {
			obj, err := p.Get(h)
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			if t != plumbing.AnyObject && obj.Type() != t {
				return nil, plumbing.ErrObjectNotFound
			}
			return obj, nil
		}
	}
	return or.s.st.EncodedObject(t, h)
}

// sizeCacheEntries bounds the cache of object sizes (about 100 bytes an
// entry): enough for every blob of the trees served.
const sizeCacheEntries = 1 << 16

// size returns the size of object h from its header, without inflating it.
// Sizes are remembered: an object's size never changes, and listing a tree
// of 2,000 files asked the packs for each (a delta's header is inflated to
// find it) on every sync — most of what publishing an API write cost.
func (or *objectReader) size(h plumbing.Hash) (int64, error) {
	if n, ok := or.pool.sizes.Get(h); ok {
		return n, nil
	}
	n, err := or.readSize(h)
	if err == nil {
		or.pool.sizes.Add(h, n)
	}
	return n, err
}

func (or *objectReader) readSize(h plumbing.Hash) (int64, error) {
	if or.packs != nil {
		for _, p := range or.packs.packs {
			off, err := p.FindOffset(h)
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				continue
			}
			if err != nil {
				return 0, err
			}
			return p.GetSizeByOffset(off)
		}
	}
	return or.s.st.EncodedObjectSize(h)
}

// packPool is the open packfiles of one Store's clone.
type packPool struct {
	dir   string       // the clone's objects/pack
	cache cache.Object // decoded objects and delta bases, shared by all
	sizes *lru.Cache[plumbing.Hash, int64]
	log   *slog.Logger

	mu      sync.Mutex
	mtime   time.Time                       // of dir when names were listed
	trusted bool                            // whether an unchanged mtime means unchanged names
	names   []string                        // the packs, "pack-<sha>", sorted
	indexes map[string]*idxfile.MemoryIndex // by name; immutable once loaded
	gen     int                             // bumped when names change
	free    []*openPacks
	failed  string // the pack set whose index failed to load, logged once
}

// openPacks is one goroutine's open files of the pool's packs.
type openPacks struct {
	gen   int
	files []billy.File
	packs []*packfile.Packfile
}

// acquire returns open packs for the clone's current set of packs, or nil
// when they cannot be read (the caller then reads through go-git's
// storage, which reports the error if there is one).
func (p *packPool) acquire() *openPacks {
	p.mu.Lock()
	names, err := p.list()
	if err != nil {
		p.mu.Unlock()
		p.log.Warn("git history: list packs", "err", err)
		return nil
	}
	if !slices.Equal(names, p.names) {
		if err := p.reload(names); err != nil {
			p.mu.Unlock()
			return nil
		}
	}
	if n := len(p.free); n > 0 {
		op := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return op
	}
	gen, idx := p.gen, make([]*idxfile.MemoryIndex, len(names))
	for i, name := range names {
		idx[i] = p.indexes[name]
	}
	p.mu.Unlock()

	op := &openPacks{gen: gen}
	dir := osfs.New(p.dir)
	for i, name := range names {
		f, err := dir.Open(name + ".pack")
		if err != nil {
			p.log.Warn("git history: open pack", "pack", name, "err", err)
			op.close()
			return nil
		}
		op.files = append(op.files, f)
		op.packs = append(op.packs, packfile.NewPackfileWithCache(idx[i], nil, f, p.cache, largeObjectBytes))
	}
	return op
}

// dirTrustAfter is how old the pack directory's mtime must be when it is
// listed for the next calls to trust that an unchanged mtime means an
// unchanged directory: older than the coarsest mtime granularity (2 s, FAT),
// so that a later change cannot share the mtime.
const dirTrustAfter = 3 * time.Second

// list returns the names of the clone's packs: p.names when the directory's
// mtime says nothing changed (one stat instead of a listing), a fresh listing
// otherwise. Called with p.mu held.
func (p *packPool) list() ([]string, error) {
	st, err := os.Stat(p.dir)
	if errors.Is(err, fs.ErrNotExist) {
		p.trusted = false
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if p.trusted && st.ModTime().Equal(p.mtime) {
		return p.names, nil
	}
	names, err := listPacks(p.dir)
	if err != nil {
		return nil, err
	}
	p.mtime, p.trusted = st.ModTime(), time.Since(st.ModTime()) > dirTrustAfter
	return names, nil
}

// reload makes names the pool's pack set: it loads the indexes of new
// packs, forgets those of packs gone and retires the open files. Called with
// p.mu held.
func (p *packPool) reload(names []string) error {
	indexes := make(map[string]*idxfile.MemoryIndex, len(names))
	for _, name := range names {
		idx := p.indexes[name]
		if idx == nil {
			var err error
			if idx, err = loadIndex(filepath.Join(p.dir, name+".idx")); err != nil {
				if key := strings.Join(names, ","); p.failed != key {
					p.failed = key
					p.log.Warn("git history: read pack index", "pack", name, "err", err)
				}
				return err
			}
		}
		indexes[name] = idx
	}
	for _, op := range p.free {
		op.close()
	}
	p.free = nil
	p.names, p.indexes = names, indexes
	p.gen++
	return nil
}

// give takes back open packs; those of a former pack set, or beyond what
// the pool keeps, are closed.
func (p *packPool) give(op *openPacks) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if op.gen != p.gen || len(p.free) >= max(2, runtime.GOMAXPROCS(0)) {
		op.close()
		return
	}
	p.free = append(p.free, op)
}

func (p *packPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, op := range p.free {
		op.close()
	}
	p.free, p.names, p.indexes = nil, nil, nil
	p.gen++
}

func (op *openPacks) close() {
	for _, f := range op.files {
		f.Close()
	}
	op.files, op.packs = nil, nil
}

// listPacks returns the names ("pack-<sha>") of the packs in dir that have
// an index, sorted.
func listPacks(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(entries))
	for _, e := range entries {
		have[e.Name()] = true
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".pack")
		if ok && strings.HasPrefix(name, "pack-") && have[name+".idx"] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

func loadIndex(path string) (*idxfile.MemoryIndex, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	idx := idxfile.NewMemoryIndex()
	if err := idxfile.NewDecoder(bufio.NewReader(f)).Decode(idx); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return idx, nil
}

// keepPrefix holds refs that keep commits alive after the branch stopped
// reaching them: commits that introduced prompt versions, which a force-push
// dropped from history. Fetch's prune and refspecs never touch it, and a
// repack keeps what any ref reaches. Only the clone has these commits: when
// a damaged clone is replaced, they are salvaged from it (salvage.go).
const keepPrefix = ownPrefix + "keep/"

// ownPrefix holds the clone's own refs, which no fetch may write.
const ownPrefix = "refs/promptreg/"

// Keep makes sure commit sha stays in the clone although no branch or tag
// reaches it any more. Errors: EINVALID for a malformed sha, ENOTFOUND for
// an unknown commit.
func (s *Store) Keep(ctx context.Context, sha string) error {
	h, err := parseSHA("keep commit", sha)
	if err != nil {
		return err
	}
	if err := ctxErr(ctx, "keep commit"); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if _, err := s.st.EncodedObject(plumbing.CommitObject, h); err != nil {
		return readError("keep commit "+sha, err)
	}
	ref := plumbing.NewHashReference(plumbing.ReferenceName(keepPrefix+sha), h)
	if err := s.st.SetReference(ref); err != nil {
		return internal("keep commit "+sha, err)
	}
	return warm(s.st)
}
