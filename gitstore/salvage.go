package gitstore

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/objfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Repairing an unusable clone.
//
// A clone go-git cannot read (a damaged pack, a garbled index) is set aside
// as Dir/repo.git.broken and an empty clone takes its place, which the next
// Fetch fills from the remote. The remote has everything but what only the
// clone held: the commits kept with Keep, which a force-push dropped from
// the remote although the history index still numbers the versions they
// introduced. So after the first successful Fetch into the new clone, the
// kept commits are salvaged from the set-aside one: each with every object
// it reaches that the new clone lacks (a commit's parents, trees and blobs:
// the whole closure, because a repack walks everything a ref reaches and
// fails on a missing object, and because go-git tells the remote it has
// whatever a local ref reaches). A kept commit whose closure cannot be read
// whole (part of it was in the damaged pack) is lost: it is logged, and gets
// no keep ref. The set-aside clone is then marked salvaged; it stays on disk
// for an operator until the next repair replaces it.

// brokenSuffix names where an unusable clone is set aside: Dir/repo.git.broken.
const brokenSuffix = ".broken"

// salvagedMarker is the file, in a set-aside clone, that says its kept
// commits have been salvaged.
const salvagedMarker = "promptreg-salvaged"

// Bounds of one pack the salvage writes: the objects are in memory while
// it is encoded.
const (
	salvageBatchObjects = 10000
	salvageBatchBytes   = 64 << 20
)

// setAside moves the unusable clone out of the way, to Dir/repo.git.broken,
// replacing the clone set aside before, unless that one still holds kept
// commits to salvage: then the clone now unusable has never fetched
// successfully (that salvages them), holds nothing the remote and the older
// clone do not, and is removed instead. Nothing to move is not an error.
func (s *Store) setAside(why error) error {
	broken := s.path + brokenSuffix
	if _, err := os.Stat(s.path); os.IsNotExist(err) {
		return nil
	}
	if pendingSalvage(broken) {
		s.log.Error("git clone unusable; removing it, keeping the clone set aside before, whose kept commits are still to be salvaged, and cloning again",
			"path", s.path, "set_aside", broken, "err", why)
		return os.RemoveAll(s.path)
	}
	s.log.Error("git clone unusable; moving it aside and cloning again", "path", s.path, "moved_to", broken, "err", why)
	if err := os.RemoveAll(broken); err != nil {
		return err
	}
	return os.Rename(s.path, broken)
}

// findSalvage notes the set-aside clone, if there is one whose kept commits
// are still to be salvaged. Called by Open, and by Fetch holding s.fetching.
func (s *Store) findSalvage() {
	if broken := s.path + brokenSuffix; pendingSalvage(broken) {
		s.salvageFrom = broken
		s.log.Warn("git clone repair: the kept commits of the clone set aside will be salvaged after the next successful fetch", "from", broken)
	}
}

// pendingSalvage reports whether the set-aside clone at path holds kept
// commits and has not been salvaged.
func pendingSalvage(path string) bool {
	if _, err := os.Stat(filepath.Join(path, salvagedMarker)); err == nil {
		return false
	}
	keeps, _ := keptCommits(path)
	return len(keeps) > 0
}

// keptCommits returns the commits the clone at path keeps, read from the
// names of its keep refs (loose and packed), which are the commits' shas:
// the ref files themselves may be damaged.
func keptCommits(path string) ([]plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{}
	add := func(name string) {
		sha, ok := strings.CutPrefix(name, keepPrefix)
		if ok && len(sha) == 40 && isHex(sha) {
			seen[plumbing.NewHash(strings.ToLower(sha))] = true
		}
	}
	entries, err := os.ReadDir(filepath.Join(path, filepath.FromSlash(keepPrefix)))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range entries {
		add(keepPrefix + e.Name())
	}
	if f, err := os.Open(filepath.Join(path, "packed-refs")); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if _, name, ok := strings.Cut(sc.Text(), " "); ok {
				add(name)
			}
		}
	}
	out := make([]plumbing.Hash, 0, len(seen))
	for h := range seen {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b plumbing.Hash) int { return bytes.Compare(a[:], b[:]) })
	return out, nil
}

// salvageKept salvages the kept commits of s.salvageFrom into the clone
// (see above) and, unless it failed in a way that may pass (the context,
// a write), marks the set-aside clone salvaged. Failures are logged: the
// fetch that precedes it succeeded. Called by Fetch holding s.fetching.
func (s *Store) salvageKept(ctx context.Context) {
	from := s.salvageFrom
	if err := s.salvage(ctx, from); err != nil {
		s.log.Error("git clone repair: salvaging kept commits failed; retrying after the next fetch", "from", from, "err", err)
		return
	}
	if err := os.WriteFile(filepath.Join(from, salvagedMarker), []byte("the kept commits of this clone were copied into the new one\n"), 0o644); err != nil {
		s.log.Warn("git clone repair: mark the set-aside clone salvaged", "path", from, "err", err)
	}
	s.salvageFrom = ""
}

func (s *Store) salvage(ctx context.Context, from string) error {
	keeps, err := keptCommits(from)
	if err != nil {
		return err
	}
	if origin, ok := originOf(from); ok && !sameRemote(origin, s.url) {
		s.log.Warn("git clone repair: the set-aside clone is of another repository; not salvaging its kept commits", "from", from, "origin", redactURL(origin))
		return nil
	}

	// Commits the clone keeps already need nothing.
	if err := s.rlock(ctx, "salvage kept commits"); err != nil {
		return err
	}
	todo := keeps[:0]
	for _, c := range keeps {
		if _, err := s.st.Reference(plumbing.ReferenceName(keepPrefix + c.String())); err != nil {
			todo = append(todo, c)
		}
	}
	s.mu.RUnlock()
	if len(todo) == 0 {
		return nil
	}

	// Objects are read from the set-aside clone, and checked and written
	// into the clone through a second go-git storage without the lock
	// (object writes beside readers are safe, see transfer.go): only the refs,
	// and go-git's index of the Store's storage, are changed under it.
	src := openSalvageSource(from, s.log)
	defer src.close()
	dst := newStorage(s.path, 0)
	defer dst.Close()
	sv := &salvager{src: src, dst: dst, ok: map[plumbing.Hash]bool{}}
	var (
		write []salvaged
		kept  []plumbing.Hash
	)
	for _, c := range todo {
		objs, missing, err := sv.closure(ctx, c)
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			s.log.Error("git clone repair: a kept commit is lost: objects it reaches were in the damaged part of the set-aside clone; the versions it introduced cannot be read",
				"commit", c, "missing_objects", len(missing), "first_missing", missing[0])
			continue
		}
		for _, o := range objs {
			sv.ok[o.hash] = true
		}
		write = append(write, objs...)
		kept = append(kept, c)
	}
	// Writing packs is a transfer into the clone: it holds a slot.
	if err := s.acquireTransfer(ctx, "salvage kept commits"); err != nil {
		return err
	}
	err = sv.write(write)
	s.releaseTransfer()
	if err != nil {
		s.tryCleanTemp()
		return err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	s.st.Reindex() // the packs dst wrote
	if err := warm(s.st); err != nil {
		return err
	}
	for _, c := range kept {
		if err := s.st.SetReference(plumbing.NewHashReference(plumbing.ReferenceName(keepPrefix+c.String()), c)); err != nil {
			return err
		}
	}
	s.log.Info("git clone repair: kept commits salvaged", "from", from, "kept", len(kept), "lost", len(todo)-len(kept), "objects_copied", len(write))
	return nil
}

// originOf returns the origin URL of the clone at path, if its
// configuration can be read.
func originOf(path string) (string, bool) {
	st := filesystem.NewStorage(osfs.New(path), cache.NewObjectLRUDefault())
	defer st.Close()
	cfg, err := st.Config()
	if err != nil {
		return "", false
	}
	origin, ok := cfg.Remotes["origin"]
	if !ok || len(origin.URLs) == 0 {
		return "", false
	}
	return origin.URLs[0], true
}

// salvager copies the closures of kept commits from a set-aside clone.
type salvager struct {
	src *salvageSource
	dst *filesystem.Storage
	// ok holds the objects whose whole closure is known to be written or
	// to be written.
	ok map[plumbing.Hash]bool
}

type salvaged struct {
	hash plumbing.Hash
	size int64
}

// closure returns the objects reachable from commit c that the clone lacks
// (c included), and those of them the set-aside clone cannot give whole.
// It does not descend into an object the clone has: the clone got it from a
// fetch (or a salvage), which brings whole closures.
func (sv *salvager) closure(ctx context.Context, c plumbing.Hash) (objs []salvaged, missing []plumbing.Hash, err error) {
	stack := []plumbing.Hash{c}
	seen := map[plumbing.Hash]bool{}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[h] || sv.ok[h] {
			continue
		}
		seen[h] = true
		if len(seen)%ctxEvery == 0 {
			if err := ctxErr(ctx, "salvage kept commits"); err != nil {
				return nil, nil, err
			}
		}
		err := sv.dst.HasEncodedObject(h)
		if err == nil {
			continue
		}
		if !errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, nil, err
		}
		obj, err := sv.src.get(h)
		if err == nil {
			var next []plumbing.Hash
			if next, err = references(obj); err == nil {
				objs = append(objs, salvaged{h, obj.Size()})
				stack = append(stack, next...)
				continue
			}
		}
		missing = append(missing, h)
	}
	return objs, missing, nil
}

// references returns the objects obj points to: a commit's tree and
// parents, a tree's entries (submodules aside: they live elsewhere), a
// tag's target.
func references(obj plumbing.EncodedObject) ([]plumbing.Hash, error) {
	switch obj.Type() {
	case plumbing.CommitObject:
		var c object.Commit
		if err := c.Decode(obj); err != nil {
			return nil, err
		}
		return append([]plumbing.Hash{c.TreeHash}, c.ParentHashes...), nil
	case plumbing.TreeObject:
		var t object.Tree
		if err := t.Decode(obj); err != nil {
			return nil, err
		}
		var out []plumbing.Hash
		for _, e := range t.Entries {
			if e.Mode != filemode.Submodule {
				out = append(out, e.Hash)
			}
		}
		return out, nil
	case plumbing.TagObject:
		var t object.Tag
		if err := t.Decode(obj); err != nil {
			return nil, err
		}
		return []plumbing.Hash{t.Target}, nil
	}
	return nil, nil
}

// write writes objs into the clone, as packs of bounded size.
func (sv *salvager) write(objs []salvaged) error {
	for len(objs) > 0 {
		n, size := 0, int64(0)
		for n < len(objs) && n < salvageBatchObjects && (n == 0 || size+objs[n].size <= salvageBatchBytes) {
			size += objs[n].size
			n++
		}
		hashes := make([]plumbing.Hash, n)
		for i, o := range objs[:n] {
			hashes[i] = o.hash
		}
		if err := sv.writePack(hashes); err != nil {
			return err
		}
		objs = objs[n:]
	}
	return nil
}

// writePack writes the objects hashes, read from the set-aside clone, into
// one new pack of the clone, without deltas.
func (sv *salvager) writePack(hashes []plumbing.Hash) error {
	w, err := sv.dst.PackfileWriter()
	if err != nil {
		return err
	}
	_, err = packfile.NewEncoder(w, objectGetter{get: sv.src.get}, false).Encode(hashes, 0)
	return cmp.Or(err, w.Close())
}

// objectGetter gives go-git's pack encoder the objects to write. Without
// deltas (a window of 0) it only calls EncodedObject; the embedded
// interface is nil.
type objectGetter struct {
	storer.EncodedObjectStorer
	get func(plumbing.Hash) (plumbing.EncodedObject, error)
}

func (g objectGetter) EncodedObject(_ plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	return g.get(h)
}

// salvageSource reads what it can of the objects of a damaged clone: from
// every pack whose index loads, and loose, each object checked against its
// hash, so that a damaged pack yields errors, never wrong objects.
type salvageSource struct {
	objects string // the clone's objects directory
	packs   []*packfile.Packfile
}

func openSalvageSource(path string, log *slog.Logger) *salvageSource {
	src := &salvageSource{objects: filepath.Join(path, "objects")}
	dir := filepath.Join(src.objects, "pack")
	names, err := listPacks(dir)
	if err != nil {
		log.Warn("git clone repair: list the packs of the set-aside clone", "err", err)
	}
	fs := osfs.New(dir)
	for _, name := range names {
		idx, err := loadIndex(filepath.Join(dir, name+".idx"))
		if err != nil {
			log.Warn("git clone repair: skipping a pack of the set-aside clone whose index is unreadable", "pack", name, "err", err)
			continue
		}
		f, err := fs.Open(name + ".pack")
		if err != nil {
			log.Warn("git clone repair: skipping an unreadable pack of the set-aside clone", "pack", name, "err", err)
			continue
		}
		src.packs = append(src.packs, packfile.NewPackfile(idx, nil, f, 0))
	}
	return src
}

func (src *salvageSource) close() {
	for _, p := range src.packs {
		p.Close()
	}
}

// get returns object h, checked; ErrObjectNotFound when no pack nor loose
// file has it, the first error met when those that have it fail.
func (src *salvageSource) get(h plumbing.Hash) (obj plumbing.EncodedObject, err error) {
	defer func() {
		// go-git's pack reader has panicked on malformed input before;
		// a damaged pack must not take the server down.
		if r := recover(); r != nil {
			obj, err = nil, fmt.Errorf("read object %s: panic: %v", h, r)
		}
	}()
	var first error
	for _, p := range src.packs {
		o, err := p.Get(h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			continue
		}
		if err == nil {
			if err = checkObject(h, o); err == nil {
				return o, nil
			}
		}
		first = cmp.Or(first, err)
	}
	o, err := src.loose(h)
	if err == nil {
		if err = checkObject(h, o); err == nil {
			return o, nil
		}
	}
	if !errors.Is(err, plumbing.ErrObjectNotFound) {
		first = cmp.Or(first, err)
	}
	return nil, cmp.Or(first, plumbing.ErrObjectNotFound)
}

// loose reads object h from its loose file.
func (src *salvageSource) loose(h plumbing.Hash) (plumbing.EncodedObject, error) {
	hex := h.String()
	f, err := os.Open(filepath.Join(src.objects, hex[:2], hex[2:]))
	if os.IsNotExist(err) {
		return nil, plumbing.ErrObjectNotFound
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := objfile.NewReader(f)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	t, size, err := r.Header()
	if err != nil {
		return nil, err
	}
	obj := &plumbing.MemoryObject{}
	obj.SetType(t)
	obj.SetSize(size)
	if _, err := io.Copy(obj, r); err != nil {
		return nil, err
	}
	return obj, nil
}

// checkObject checks that obj's content hashes to h.
func checkObject(h plumbing.Hash, obj plumbing.EncodedObject) error {
	r, err := obj.Reader()
	if err != nil {
		return err
	}
	defer r.Close()
	hasher := plumbing.NewHasher(obj.Type(), obj.Size())
	n, err := io.Copy(hasher, r)
	if err != nil {
		return fmt.Errorf("read object %s: %w", h, err)
	}
	if n != obj.Size() || hasher.Sum() != h {
		return fmt.Errorf("object %s is damaged: its content does not hash to its name", h)
	}
	return nil
}
