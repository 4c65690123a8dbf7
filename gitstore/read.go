package gitstore

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/promptreg/promptreg/registry"
)

// maxTagDepth bounds the chain of annotated tags Refs follows to a commit.
const maxTagDepth = 8

// rlock takes the read lock for op, failing if ctx is done or the Store is
// closed. On success the caller must call s.mu.RUnlock.
func (s *Store) rlock(ctx context.Context, op string) error {
	if err := ctxErr(ctx, op); err != nil {
		return err
	}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return errClosed
	}
	return nil
}

// Refs returns the clone's branches and tags as full ref names mapped to the
// sha of the commit they point at; annotated tags are peeled to their
// commit, and tags of anything but a commit (and refs to objects the clone
// lacks) are left out.
func (s *Store) Refs(ctx context.Context) (_ map[string]string, err error) {
	defer s.noteErr(&err)
	if err := s.rlock(ctx, "read refs"); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	refs, err := listRefs(s.st)
	if err != nil {
		return nil, internal("read refs", err)
	}
	out := make(map[string]string, len(refs))
	for _, ref := range refs {
		h, err := s.peel(ref.Hash())
		if errors.Is(err, errNotCommit) {
			continue
		}
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			s.log.Warn("git ref points to a missing object; skipped", "ref", ref.Name(), "object", ref.Hash())
			s.suspect.Store(true)
			continue
		}
		if err != nil {
			return nil, readError("read ref "+ref.Name().String(), err)
		}
		out[ref.Name().String()] = h.String()
	}
	return out, nil
}

var errNotCommit = errors.New("not a commit")

// peel follows annotated tags from h to a commit.
func (s *Store) peel(h plumbing.Hash) (plumbing.Hash, error) {
	for range maxTagDepth {
		obj, err := s.st.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return h, err
		}
		switch obj.Type() {
		case plumbing.CommitObject:
			return h, nil
		case plumbing.TagObject:
			tag, err := object.DecodeTag(s.st, obj)
			if err != nil {
				return h, err
			}
			h = tag.Target
		default:
			return h, errNotCommit
		}
	}
	return h, errNotCommit
}

// Commit returns the commit with the full sha: its author's name, email and
// date, and its message. Errors: EINVALID when sha is not a full sha,
// ENOTFOUND when the clone has no such commit.
func (s *Store) Commit(ctx context.Context, sha string) (_ registry.Commit, err error) {
	defer s.noteErr(&err)
	h, err := parseSHA("read commit", sha)
	if err != nil {
		return registry.Commit{}, err
	}
	if err := s.rlock(ctx, "read commit"); err != nil {
		return registry.Commit{}, err
	}
	defer s.mu.RUnlock()
	c, err := object.GetCommit(s.st, h)
	if err != nil {
		return registry.Commit{}, readError("read commit "+sha, err)
	}
	return registry.Commit{
		SHA:     c.Hash.String(),
		Author:  c.Author.Name,
		Email:   c.Author.Email,
		Time:    c.Author.When,
		Message: c.Message,
	}, nil
}

// ListFiles lists, recursively, the regular files (executable ones
// included; not symlinks nor submodules) under dir ("" for the root) in the
// tree of commit sha, sorted by path. A dir that does not exist, or is a
// file, lists nothing. It reads only tree objects and the object sizes, not
// the files' content. Errors: EINVALID for a malformed sha or dir, ENOTFOUND
// when the clone has no such commit.
func (s *Store) ListFiles(ctx context.Context, sha, dir string) (_ []registry.FileRef, err error) {
	defer s.noteErr(&err)
	h, err := parseSHA("list files", sha)
	if err != nil {
		return nil, err
	}
	segs, err := splitPath(dir, true)
	if err != nil {
		return nil, err
	}
	if err := s.rlock(ctx, "list files"); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()

	tree, err := s.commitTree(h)
	if err != nil {
		return nil, readError("list files at "+sha, err)
	}
	for _, seg := range segs {
		e := findEntry(tree, seg)
		if e == nil || e.Mode != filemode.Dir {
			return []registry.FileRef{}, nil
		}
		if tree, err = object.GetTree(s.st, e.Hash); err != nil {
			return nil, readError("list files at "+sha, lacks("tree", e.Hash, err))
		}
	}
	files := []registry.FileRef{}
	or := s.objects()
	defer or.release()
	if err := s.walk(ctx, or, tree, strings.Join(segs, "/"), &files); err != nil {
		return nil, readError("list files at "+sha, err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// walk appends the regular files of tree, whose path is dir, to files.
func (s *Store) walk(ctx context.Context, or *objectReader, tree *object.Tree, dir string, files *[]registry.FileRef) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, e := range tree.Entries {
		p := e.Name
		if dir != "" {
			p = dir + "/" + e.Name
		}
		switch {
		case e.Mode == filemode.Dir:
			// Through the reader's open packs and object cache: go-git's
			// storage opens the pack file again for every tree.
			obj, err := or.object(plumbing.TreeObject, e.Hash)
			if err != nil {
				return lacks("tree", e.Hash, err)
			}
			sub := &object.Tree{}
			if err := sub.Decode(obj); err != nil {
				return lacks("tree", e.Hash, err)
			}
			if err := s.walk(ctx, or, sub, p, files); err != nil {
				return err
			}
		case isFile(e.Mode):
			size, err := or.size(e.Hash) // from the pack header: no inflating
			if err != nil {
				return fmt.Errorf("size of %s: %w", p, lacks("blob", e.Hash, err))
			}
			*files = append(*files, registry.FileRef{Path: p, Blob: e.Hash.String(), Size: size})
		}
	}
	return nil
}

// ReadFile returns the content of the regular file at the slash-separated
// path in commit sha. Errors: EINVALID for a malformed sha or path,
// ENOTFOUND when the commit or the file does not exist (or the path is a
// directory, symlink or submodule), ETOOLARGE for a file over MaxFileBytes.
func (s *Store) ReadFile(ctx context.Context, sha, p string) (_ []byte, err error) {
	defer s.noteErr(&err)
	h, err := parseSHA("read file", sha)
	if err != nil {
		return nil, err
	}
	segs, err := splitPath(p, false)
	if err != nil {
		return nil, err
	}
	if err := s.rlock(ctx, "read file"); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()

	tree, err := s.commitTree(h)
	if err != nil {
		return nil, readError("read file at "+sha, err)
	}
	for i, seg := range segs {
		e := findEntry(tree, seg)
		if e == nil {
			break
		}
		if i == len(segs)-1 {
			if isFile(e.Mode) {
				data, err := s.readBlob(e.Hash, p)
				if registry.ErrorCode(err) == registry.ENOTFOUND {
					err = internal(fmt.Sprintf("read file %s at %s: the clone lacks blob %s", p, sha, e.Hash), err)
				}
				return data, err
			}
			break
		}
		if e.Mode != filemode.Dir {
			break
		}
		if tree, err = object.GetTree(s.st, e.Hash); err != nil {
			return nil, readError("read file "+p, lacks("tree", e.Hash, err))
		}
	}
	return nil, notFound("read file %s at %s: not found", p, sha)
}

// ReadBlob returns the content of the blob with the full sha blob. Errors:
// EINVALID for a malformed sha, ENOTFOUND when the clone has no such blob,
// ETOOLARGE for a blob over MaxFileBytes.
func (s *Store) ReadBlob(ctx context.Context, blob string) (_ []byte, err error) {
	defer s.noteErr(&err)
	h, err := parseSHA("read blob", blob)
	if err != nil {
		return nil, err
	}
	if err := s.rlock(ctx, "read blob"); err != nil {
		return nil, err
	}
	defer s.mu.RUnlock()
	return s.readBlob(h, blob)
}

// readBlob reads blob h, named name in errors. Called under the read lock.
func (s *Store) readBlob(h plumbing.Hash, name string) ([]byte, error) {
	// Through the pool of open packs: go-git's storage reopens the
	// packfile for every object it reads.
	or := s.objects()
	defer or.release()
	size, err := or.size(h)
	if err != nil {
		return nil, readError("read "+name, err)
	}
	if size > s.maxFileBytes {
		return nil, registry.Errorf(registry.ETOOLARGE, "read %s: %d bytes, over the limit of %d", name, size, s.maxFileBytes)
	}
	buf, err := or.read(plumbing.BlobObject, h, nil)
	if err != nil {
		return nil, readError("read "+name, err)
	}
	return buf, nil
}

// commitTree returns the root tree of commit h.
func (s *Store) commitTree(h plumbing.Hash) (*object.Tree, error) {
	c, err := object.GetCommit(s.st, h)
	if err != nil {
		return nil, err
	}
	t, err := object.GetTree(s.st, c.TreeHash)
	return t, lacks("tree", c.TreeHash, err)
}

// lacks turns the ErrObjectNotFound of an object that another object of the
// clone points to into an internal error: the clone is damaged, the caller
// did not ask for something that does not exist. Other errors pass as they
// are.
func lacks(what string, h plumbing.Hash, err error) error {
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return internal(fmt.Sprintf("the clone lacks %s %s", what, h), err)
	}
	return err
}

// findEntry returns the entry of tree named name, or nil. Tree entries are
// sorted, but in Git's order (a directory sorts as if its name ended in
// "/"), so a linear scan is the simple correct search; trees are small.
func findEntry(tree *object.Tree, name string) *object.TreeEntry {
	for i := range tree.Entries {
		if tree.Entries[i].Name == name {
			return &tree.Entries[i]
		}
	}
	return nil
}

func isFile(m filemode.FileMode) bool {
	return m == filemode.Regular || m == filemode.Executable || m == filemode.Deprecated
}

// parseSHA parses a full (40 hex digit) sha.
func parseSHA(op, sha string) (plumbing.Hash, error) {
	if len(sha) != 40 || !isHex(sha) {
		return plumbing.ZeroHash, registry.Errorf(registry.EINVALID, "%s: %q is not a full sha", op, sha)
	}
	return plumbing.NewHash(strings.ToLower(sha)), nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// splitPath splits a slash-separated repository path into its segments,
// refusing absolute paths and "." or ".." segments. An empty path is the
// root, allowed only when root is true.
func splitPath(p string, root bool) ([]string, error) {
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		if root {
			return nil, nil
		}
		return nil, registry.Errorf(registry.EINVALID, "read file: empty path")
	}
	if strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." || p == "." {
		return nil, registry.Errorf(registry.EINVALID, "invalid repository path %q", p)
	}
	return strings.Split(p, "/"), nil
}
