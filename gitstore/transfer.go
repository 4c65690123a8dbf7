package gitstore

import (
	"context"
	"errors"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Transfers without the lock.
//
// A fetch spends most of its time on the network, up to its context's
// timeout when the remote hangs. Holding the Store's write lock (or a read
// lock, which a waiting writer turns into a block for every new reader) for
// that long would stall every reader. So a transfer runs through a second
// go-git storage of the same clone, incoming: its objects are the clone's
// (go-git writes the fetched pack beside the Store's readers, which is safe:
// LIBRARIES.md, "Object writes beside readers"), its refs a copy in memory
// of the clone's (they tell the remote what the clone has), which the fetch
// updates. Nothing but the new pack reaches the disk until the caller
// publishes the result under the write lock: it reloads go-git's pack
// indexes and moves the refs. A ref file is never written beside readers
// (go-git rewrites ref files in place, so a reader could see one half
// written), and a transfer that fails or is cancelled leaves at most a pack
// no ref points to, or a temporary file that cleanTemp (or the next Open)
// removes.
//
// Transfers hold s.fetching, which Fetch holds too, so only one runs at a
// time and none runs during a repack or a cleanTemp, which delete pack
// files the second storage may be reading. Readers never take s.fetching.

// incoming is the clone seen through a second go-git storage whose refs
// live in memory.
type incoming struct {
	*filesystem.Storage
	refs memory.ReferenceStorage
}

var _ storer.ReferenceStorer = (*incoming)(nil)

func (in *incoming) SetReference(r *plumbing.Reference) error { return in.refs.SetReference(r) }
func (in *incoming) CheckAndSetReference(r, old *plumbing.Reference) error {
	return in.refs.CheckAndSetReference(r, old)
}
func (in *incoming) Reference(n plumbing.ReferenceName) (*plumbing.Reference, error) {
	return in.refs.Reference(n)
}
func (in *incoming) IterReferences() (storer.ReferenceIter, error) { return in.refs.IterReferences() }
func (in *incoming) RemoveReference(n plumbing.ReferenceName) error {
	return in.refs.RemoveReference(n)
}
func (in *incoming) CountLooseRefs() (int, error) { return in.refs.CountLooseRefs() }
func (in *incoming) PackRefs() error              { return nil }

// transfer fetches specs from the remote into the clone without the
// Store's lock and returns the clone's refs as the fetch left them (see
// above): the caller publishes them. Called holding s.fetching.
func (s *Store) transfer(ctx context.Context, specs []config.RefSpec, prune bool) (memory.ReferenceStorage, error) {
	refs := memory.ReferenceStorage{}
	if err := s.rlock(ctx, "fetch"); err != nil {
		return nil, err
	}
	iter, err := s.st.IterReferences()
	if err == nil {
		err = iter.ForEach(func(r *plumbing.Reference) error {
			if r.Type() == plumbing.HashReference {
				refs[r.Name()] = r
			}
			return nil
		})
		iter.Close()
	}
	s.mu.RUnlock()
	if err != nil {
		return nil, internal("fetch: read refs", err)
	}

	in := &incoming{Storage: newStorage(s.path, s.cacheBytes/4), refs: refs}
	defer in.Storage.Close()
	err = git.NewRemote(in, remoteConfig(s.url)).FetchContext(ctx, &git.FetchOptions{
		RemoteName: git.DefaultRemoteName,
		RemoteURL:  s.url,
		RefSpecs:   specs,
		Auth:       s.auth,
		Tags:       git.NoTags, // the refspecs name the tags wanted
		Prune:      prune,
	})
	if errors.Is(err, git.NoErrAlreadyUpToDate) {
		err = nil
	}
	if err != nil {
		s.cleanTemp()
		return nil, err
	}
	return refs, nil
}

// publish makes the packs a transfer wrote readable through the Store's
// storage. Called under the write lock, before moving any ref to them.
func (s *Store) publish() error {
	s.st.Reindex()
	return warm(s.st)
}
