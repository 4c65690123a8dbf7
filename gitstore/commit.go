package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/promptreg/promptreg/registry"
)

var _ registry.Committer = (*Store)(nil)

// DefaultCommitter is who commits on behalf of the API when Options does
// not say.
var DefaultCommitter = registry.Signature{Name: "promptreg", Email: "promptreg@localhost"}

// CommitAndPush builds a commit of req.Changes on top of req.Parent and
// pushes it to the remote's tracked branch, which moves only if it is still
// at req.Parent; then it moves the clone's branch to it. See
// registry.Committer.
//
// The commit is built from the trees along the changed paths only (no work
// tree, no checkout): its cost does not grow with the repository. The
// objects are built in memory under the read lock, pushed without any lock
// as one pack holding exactly those objects (go-git's Push would first walk
// the remote's whole history), and written into the clone under the write
// lock only once the remote has them, so a failed push leaves nothing
// behind and a crash leaves the remote with the whole commit or none of it.
func (s *Store) CommitAndPush(ctx context.Context, req registry.CommitRequest) (registry.Commit, error) {
	const op = "commit"
	parent, err := parseSHA(op, req.Parent)
	if err != nil {
		return registry.Commit{}, err
	}
	changes, err := checkChanges(req.Changes)
	if err != nil {
		return registry.Commit{}, err
	}

	mem := memory.NewStorage()
	commit, hash, err := s.buildCommit(ctx, mem, parent, changes, req)
	if err != nil {
		return registry.Commit{}, err
	}
	if err := s.push(ctx, mem, s.branch, parent, hash); err != nil {
		return registry.Commit{}, err
	}
	if err := s.adopt(mem, parent, hash); err != nil {
		// The remote has the commit: the next Fetch brings it. Report
		// success, and why the clone lags.
		s.log.Error("git commit pushed but not recorded in the clone; the next fetch brings it", "commit", hash, "err", err)
	}
	return commit, nil
}

// checkChanges validates the paths of changes and returns them by path.
func checkChanges(changes []registry.FileChange) (map[string]*[]byte, error) {
	if len(changes) == 0 {
		return nil, registry.Errorf(registry.EINVALID, "commit: no change")
	}
	out := make(map[string]*[]byte, len(changes))
	for _, c := range changes {
		p := c.Path
		if p == "" || path.Clean(p) != p || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "../") || p == ".." || p == "." {
			return nil, registry.Errorf(registry.EINVALID, "commit: invalid path %q", p)
		}
		for _, seg := range strings.Split(p, "/") {
			if strings.EqualFold(seg, ".git") || strings.ContainsAny(seg, "\x00\n\r") {
				return nil, registry.Errorf(registry.EINVALID, "commit: invalid path %q", p)
			}
		}
		if _, dup := out[p]; dup {
			return nil, registry.Errorf(registry.EINVALID, "commit: %s changed twice", p)
		}
		if c.Content == nil {
			out[p] = nil
		} else {
			content := c.Content
			out[p] = &content
		}
	}
	return out, nil
}

// buildCommit writes into mem the blobs, the trees along the changed paths
// and the commit, reading the parent's trees from the clone.
func (s *Store) buildCommit(ctx context.Context, mem *memory.Storage, parent plumbing.Hash, changes map[string]*[]byte, req registry.CommitRequest) (registry.Commit, plumbing.Hash, error) {
	const op = "commit"
	if err := s.rlock(ctx, op); err != nil {
		return registry.Commit{}, plumbing.ZeroHash, err
	}
	defer s.mu.RUnlock()
	pc, err := object.GetCommit(s.st, parent)
	if err != nil {
		return registry.Commit{}, plumbing.ZeroHash, readError(op+" on "+parent.String(), err)
	}
	w := &treeWriter{src: s.st, dst: mem}
	root, _, err := w.write(pc.TreeHash, changes, true)
	if err != nil {
		return registry.Commit{}, plumbing.ZeroHash, internal(op+": build trees", err)
	}
	if root == pc.TreeHash {
		return registry.Commit{}, plumbing.ZeroHash, registry.Errorf(registry.EINVALID, "commit: the changes change nothing")
	}
	now := time.Now()
	author := req.Author
	if author.Name == "" {
		author = s.committer
	}
	if author.Time.IsZero() {
		author.Time = now
	}
	// A commit dated before its parent slows the remote's and the
	// clone's history walks: never go back in time.
	if now.Before(pc.Committer.When) {
		now = pc.Committer.When
	}
	c := &object.Commit{
		Author:       object.Signature{Name: author.Name, Email: author.Email, When: author.Time},
		Committer:    object.Signature{Name: s.committer.Name, Email: s.committer.Email, When: now},
		Message:      req.Message,
		TreeHash:     root,
		ParentHashes: []plumbing.Hash{parent},
	}
	obj := mem.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return registry.Commit{}, plumbing.ZeroHash, internal(op+": encode", err)
	}
	hash, err := mem.SetEncodedObject(obj)
	if err != nil {
		return registry.Commit{}, plumbing.ZeroHash, internal(op+": encode", err)
	}
	return registry.Commit{SHA: hash.String(), Author: author.Name, Email: author.Email, Time: author.Time.UTC(), Message: req.Message}, hash, nil
}

// treeWriter writes the trees of a commit whose changes it is given, reading
// the trees they replace from src and writing new objects to dst.
type treeWriter struct {
	src interface {
		EncodedObject(plumbing.ObjectType, plumbing.Hash) (plumbing.EncodedObject, error)
	}
	dst *memory.Storage
}

// write returns the tree that is base (zero: none) with changes (paths
// relative to it) applied, and whether it is empty (a directory git drops).
func (w *treeWriter) write(base plumbing.Hash, changes map[string]*[]byte, root bool) (plumbing.Hash, bool, error) {
	entries := map[string]object.TreeEntry{}
	if !base.IsZero() {
		obj, err := w.src.EncodedObject(plumbing.TreeObject, base)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		var t object.Tree
		if err := t.Decode(obj); err != nil {
			return plumbing.ZeroHash, false, err
		}
		for _, e := range t.Entries {
			entries[e.Name] = e
		}
	}
	files := map[string]*[]byte{}
	dirs := map[string]map[string]*[]byte{}
	for p, c := range changes {
		if dir, rest, ok := strings.Cut(p, "/"); ok {
			if dirs[dir] == nil {
				dirs[dir] = map[string]*[]byte{}
			}
			dirs[dir][rest] = c
		} else {
			files[p] = c
		}
	}
	for name, c := range files {
		if c == nil {
			delete(entries, name)
			continue
		}
		obj := w.dst.NewEncodedObject()
		obj.SetType(plumbing.BlobObject)
		obj.SetSize(int64(len(*c)))
		wr, err := obj.Writer()
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		if _, err := wr.Write(*c); err != nil {
			return plumbing.ZeroHash, false, err
		}
		if err := wr.Close(); err != nil {
			return plumbing.ZeroHash, false, err
		}
		h, err := w.dst.SetEncodedObject(obj)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		mode := filemode.Regular
		if old, ok := entries[name]; ok && old.Mode == filemode.Executable {
			mode = old.Mode // keep the executable bit
		}
		entries[name] = object.TreeEntry{Name: name, Mode: mode, Hash: h}
	}
	for name, sub := range dirs {
		var subBase plumbing.Hash
		if old, ok := entries[name]; ok && old.Mode == filemode.Dir {
			subBase = old.Hash
		}
		h, empty, err := w.write(subBase, sub, false)
		if err != nil {
			return plumbing.ZeroHash, false, err
		}
		if empty {
			delete(entries, name)
		} else {
			entries[name] = object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h}
		}
	}
	if len(entries) == 0 && !root {
		return plumbing.ZeroHash, true, nil
	}
	t := &object.Tree{Entries: make([]object.TreeEntry, 0, len(entries))}
	for _, e := range entries {
		t.Entries = append(t.Entries, e)
	}
	// Git orders a tree's entries by name, a directory's name compared
	// as if it ended in "/".
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	sort.Slice(t.Entries, func(i, j int) bool { return key(t.Entries[i]) < key(t.Entries[j]) })
	obj := w.dst.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, false, err
	}
	h, err := w.dst.SetEncodedObject(obj)
	return h, false, err
}

// push sends the objects in mem as one pack and asks the remote to move ref
// from old (zero: the ref must not exist) to target. Errors: ECONFLICT when
// the remote's ref is elsewhere, EUNAVAILABLE when the remote cannot be
// reached or refuses, ETIMEOUT.
func (s *Store) push(ctx context.Context, mem *memory.Storage, ref plumbing.ReferenceName, old, target plumbing.Hash) (err error) {
	const op = "push"
	ep, err := transport.NewEndpoint(s.url)
	if err != nil {
		return internal(op, err)
	}
	cl, err := client.NewClient(ep)
	if err != nil {
		return internal(op, err)
	}
	sess, err := cl.NewReceivePackSession(ep, s.auth)
	if err != nil {
		return s.pushError(ctx, ref, err)
	}
	defer func() {
		if cerr := sess.Close(); err == nil && cerr != nil {
			err = s.pushError(ctx, ref, cerr)
		}
	}()
	ar, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return s.pushError(ctx, ref, err)
	}
	refs, err := ar.AllReferences()
	if err != nil {
		return internal(op, err)
	}
	at, err := refs.Reference(ref)
	if (err != nil) != old.IsZero() || (err == nil && at.Hash() != old) {
		now, was := "absent", "absent"
		if err == nil {
			now = at.Hash().String()
		}
		if !old.IsZero() {
			was = old.String()
		}
		return &registry.Error{Code: registry.ECONFLICT,
			Message: fmt.Sprintf("push: the remote's %s is at %s, not at %s: fetch and apply the change again", ref.Short(), now, was)}
	}

	req := packp.NewReferenceUpdateRequestFromCapabilities(ar.Capabilities)
	req.Commands = []*packp.Command{{Name: ref, Old: old, New: target}}
	var hashes []plumbing.Hash
	for h := range mem.ObjectStorage.Objects {
		hashes = append(hashes, h)
	}
	rd, wr := io.Pipe()
	req.Packfile = rd
	encoded := make(chan error, 1)
	go func() {
		_, err := packfile.NewEncoder(wr, mem, false).Encode(hashes, 10)
		wr.CloseWithError(err)
		encoded <- err
	}()
	rs, err := sess.ReceivePack(ctx, req)
	rd.Close() // unblocks the encoder if the remote stopped reading
	if eerr := <-encoded; err == nil && eerr != nil && !errors.Is(eerr, io.ErrClosedPipe) {
		return internal(op+": encode pack", eerr)
	}
	if err == nil && rs != nil {
		err = rs.Error()
	}
	if err != nil {
		return s.pushError(ctx, ref, err)
	}
	return nil
}

// pushError turns an error of a push into ECONFLICT when the remote
// refused to move ref because it moved meanwhile (it checks the old
// value under its lock, so a push that lost the race since the
// advertisement fails here; go-git reports it only as a string), EUNAVAILABLE
// for a refusal of another kind, and otherwise as fetchError does.
func (s *Store) pushError(ctx context.Context, ref plumbing.ReferenceName, err error) error {
	if ctx.Err() == nil {
		msg := err.Error()
		switch {
		case strings.Contains(msg, "failed to update ref"), strings.Contains(msg, "fetch first"),
			strings.Contains(msg, "non-fast-forward"), strings.Contains(msg, "stale info"):
			return &registry.Error{Code: registry.ECONFLICT, Message: fmt.Sprintf("push: the remote's %s moved meanwhile: fetch and apply the change again", ref.Short()), Err: scrub(err, s.secrets)}
		case strings.Contains(msg, "checked out"):
			return &registry.Error{Code: registry.EUNAVAILABLE, Err: scrub(err, s.secrets), Message: fmt.Sprintf(
				"push refused: %s is a working repository with %s checked out, and git refuses pushes to it; serve a bare repository (git clone --bare) that the working copy pushes to, or run git config receive.denyCurrentBranch updateInstead in it",
				s.display, s.branch.Short())}
		case strings.HasPrefix(msg, "command error on"), strings.HasPrefix(msg, "unpack error"):
			return &registry.Error{Code: registry.EUNAVAILABLE, Message: "push refused by the remote: " + scrub(err, s.secrets).Error(), Err: scrub(err, s.secrets)}
		}
	}
	e := s.fetchError(ctx, err)
	var re *registry.Error
	if errors.As(e, &re) {
		re.Message = strings.Replace(re.Message, "fetch origin", "push to", 1)
	}
	return e
}

// adopt writes the pushed objects into the clone and moves its branch from
// parent to commit (unless a fetch moved it meanwhile: the fetch knows).
func (s *Store) adopt(mem *memory.Storage, parent, commit plumbing.Hash) error {
	return s.adoptRef(mem, s.branch, parent, commit)
}

// adoptRef writes the pushed objects into the clone and moves ref from old
// (zero: absent) to target, unless a fetch moved it meanwhile.
func (s *Store) adoptRef(mem *memory.Storage, ref plumbing.ReferenceName, old, target plumbing.Hash) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	for _, obj := range mem.ObjectStorage.Objects {
		if _, err := s.st.SetEncodedObject(obj); err != nil {
			return err
		}
	}
	var was *plumbing.Reference
	if !old.IsZero() {
		was = plumbing.NewHashReference(ref, old)
	} else if _, err := s.st.Reference(ref); err == nil {
		s.log.Debug("git push: the clone has the ref already; leaving it to the fetch", "ref", ref)
		return warm(s.st)
	}
	err := s.st.CheckAndSetReference(plumbing.NewHashReference(ref, target), was)
	if errors.Is(err, storage.ErrReferenceHasChanged) {
		s.log.Debug("git push: the clone's ref moved meanwhile; leaving it to the fetch", "ref", ref, "to", target)
		err = nil
	}
	if werr := warm(s.st); err == nil {
		err = werr
	}
	return err
}
