package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/promptreg/promptreg/registry"
)

// Fetch brings the clone up to date with the remote: every branch and tag,
// moved tags and force-pushed branches followed, deleted ones removed. The
// first Fetch of a new clone is the initial (full, never shallow) clone.
//
// It first lists the remote's refs and returns at once when they match the
// clone's; only when something changed does it fetch. Neither the listing
// nor the transfer holds the Store's lock: readers wait only while the
// result is published (pack indexes reloaded, refs moved, and now and then
// a repack).
//
// When a read or a fetch failed since the last Fetch, it first checks the
// clone's packs, and replaces a damaged clone with a new one it fills at
// once (repair.go); after the first successful fetch into a replaced clone
// it salvages the kept commits of the old one (salvage.go).
//
// Errors: EUNAVAILABLE when the remote cannot be reached or refuses the
// credentials (the clone keeps what it had), ETIMEOUT when ctx expires,
// EINTERNAL when a damaged clone cannot be replaced.
func (s *Store) Fetch(ctx context.Context) error {
	select {
	case s.fetching <- struct{}{}:
		defer func() { <-s.fetching }()
	case <-ctx.Done():
		return ctxErr(ctx, "fetch origin")
	}
	start := time.Now()
	if err := s.checkClone(ctx); err != nil {
		return err
	}

	local, err := s.localRefs()
	if err != nil {
		return err
	}
	remote, err := s.lsRemote(ctx)
	if err != nil {
		return s.fetchError(ctx, err)
	}
	if sameRefs(local, remote) {
		s.log.Debug("git fetch: up to date", "elapsed", time.Since(start))
	} else if err := s.fetchAll(ctx, start, len(local) == 0, len(remote)); err != nil {
		return err
	}
	if s.salvageFrom != "" {
		s.salvageKept(ctx)
	}
	return nil
}

// fetchAll fetches every branch and tag from the remote without the lock
// (transfer.go), then, under the write lock, moves the clone's branches and
// tags to where the fetch left them, deleting those the remote deleted, and
// repacks if the clone has too many packs. Called holding s.fetching.
func (s *Store) fetchAll(ctx context.Context, start time.Time, initial bool, nrefs int) error {
	if err := s.acquireTransfer(ctx, "fetch origin"); err != nil {
		return err
	}
	refs, err := s.transfer(ctx, refSpecs, true)
	s.releaseTransfer()
	if err != nil {
		s.tryCleanTemp()
	}
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		s.log.Warn("git fetch: the remote has no branches or tags; keeping the clone as it is")
		return nil
	}
	if err != nil {
		if ctx.Err() == nil {
			// Most likely the remote, but a damaged pack fails a fetch
			// too (go-git reads the clone's commits and indexes).
			s.suspect.Store(true)
		}
		return s.fetchError(ctx, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if err := s.publish(); err != nil {
		return internal("fetch origin: reload pack indexes", err)
	}
	current, err := listRefs(s.st)
	if err != nil {
		return internal("fetch origin: read refs", err)
	}
	for _, ref := range current {
		if _, ok := refs[ref.Name()]; !ok {
			if err := s.st.RemoveReference(ref.Name()); err != nil {
				return internal("fetch origin: remove "+ref.Name().String(), err)
			}
		}
	}
	for name, ref := range refs {
		if !servedRef(name) {
			continue
		}
		if old, err := s.st.Reference(name); err == nil && old.Hash() == ref.Hash() {
			continue
		}
		if err := s.st.SetReference(ref); err != nil {
			return internal("fetch origin: move "+name.String(), err)
		}
	}
	s.tidy()
	if err := warm(s.st); err != nil {
		return internal("fetch origin: reload pack indexes", err)
	}
	if initial {
		s.log.Info("git clone fetched", "refs", nrefs, "elapsed", time.Since(start))
	} else {
		s.log.Debug("git fetch: updated", "refs", nrefs, "elapsed", time.Since(start))
	}
	return nil
}

// lsRemote lists the remote's branches and tags (unpeeled) without touching
// the clone, so it needs no lock.
func (s *Store) lsRemote(ctx context.Context) (map[string]string, error) {
	r := git.NewRemote(nil, remoteConfig(s.url))
	refs, err := r.ListContext(ctx, &git.ListOptions{Auth: s.auth, PeelingOption: git.IgnorePeeled})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(refs))
	for _, ref := range refs {
		if !servedRef(ref.Name()) {
			continue
		}
		if ref.Type() != plumbing.HashReference {
			out[ref.Name().String()] = "symbolic" // never equal to a local sha: fetch
			continue
		}
		out[ref.Name().String()] = ref.Hash().String()
	}
	return out, nil
}

// localRefs returns the clone's branches and tags, unpeeled.
func (s *Store) localRefs() (map[string]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, errClosed
	}
	refs, err := listRefs(s.st)
	if err != nil {
		return nil, internal("read refs", err)
	}
	out := make(map[string]string, len(refs))
	for _, ref := range refs {
		out[ref.Name().String()] = ref.Hash().String()
	}
	return out, nil
}

func sameRefs(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// fetchError turns an error of the transport or the fetch into EUNAVAILABLE
// (ETIMEOUT when ctx expired) with a message that says what went wrong and
// never holds a credential.
func (s *Store) fetchError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return &registry.Error{Code: registry.ETIMEOUT, Message: fmt.Sprintf("fetch origin: %v", cerr), Err: scrub(err, s.secrets)}
	}
	var why string
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired) && s.auth == nil:
		why = "authentication required (set a token or an ssh key)"
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod):
		why = "authentication failed (check the token or key)"
	case errors.Is(err, transport.ErrRepositoryNotFound):
		why = "repository not found"
	default:
		why = "remote unreachable"
	}
	err = scrub(err, s.secrets)
	s.log.Warn("git fetch failed", "reason", why, "err", err)
	return &registry.Error{
		Code:    registry.EUNAVAILABLE,
		Message: fmt.Sprintf("fetch origin %s: %s", s.display, why),
		Err:     err,
	}
}

// maybeRepack repacks the clone into one pack when it has more than
// maxPacks (every fetch that brings objects adds one, and go-git never
// consolidates them). A failure is logged, not returned: the clone is still
// complete. Called under the write lock, holding every slot of
// s.transfers (a repack deletes the packs a transfer may be reading).
func (s *Store) maybeRepack() {
	packs, err := s.st.ObjectPacks()
	if err != nil || len(packs) <= s.maxPacks {
		return
	}
	start := time.Now()
	err = s.repo.RepackObjects(&git.RepackConfig{})
	// RepackObjects deletes the old packs but leaves them in go-git's
	// in-memory index: forget it, warm reloads it from disk.
	s.st.Reindex()
	if err != nil {
		s.cleanTemp()
		s.log.Error("git repack failed", "packs", len(packs), "err", err)
		return
	}
	s.log.Info("git clone repacked", "packs", len(packs), "elapsed", time.Since(start))
}

// cleanTemp removes the temporary pack files an interrupted fetch or repack
// leaves (go-git does not remove them on error). Called holding every slot
// of s.transfers (so no transfer is writing one); readers never look at
// them.
func (s *Store) cleanTemp() {
	tmps, _ := filepath.Glob(filepath.Join(s.path, "objects", "pack", "tmp_*"))
	for _, p := range tmps {
		os.Remove(p)
	}
}

// listRefs returns the branches and tags (refs/heads/*, refs/tags/*) of the
// storage, unpeeled.
func listRefs(st *filesystem.Storage) ([]*plumbing.Reference, error) {
	iter, err := st.IterReferences()
	if err != nil {
		return nil, err
	}
	defer iter.Close()
	var refs []*plumbing.Reference
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference && servedRef(ref.Name()) {
			refs = append(refs, ref)
		}
		return nil
	})
	return refs, err
}

// servedRef reports whether name is a branch or a tag.
func servedRef(name plumbing.ReferenceName) bool {
	return strings.HasPrefix(name.String(), "refs/heads/") || strings.HasPrefix(name.String(), "refs/tags/")
}

var errClosed = registry.Errorf(registry.EUNAVAILABLE, "git clone closed")
