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
// (go-git writes the fetched pack beside the Store's readers, which was
// measured safe: no race under -race, no failed read), its refs a copy in memory
// of the clone's (they tell the remote what the clone has), which the fetch
// updates. Nothing but the new pack reaches the disk until the caller
// publishes the result under the write lock: it reloads go-git's pack
// indexes and moves the refs. A ref file is never written beside readers
// (go-git rewrites ref files in place, so a reader could see one half
// written), and a transfer that fails or is cancelled leaves at most a pack
// no ref points to, or a temporary file that cleanTemp (or the next Open)
// removes.
//
// Each transfer holds a slot of s.transfers while it writes, so several run
// at once (Fetch's and FetchRefs'), and none runs during a repack, a
// cleanTemp or a check of the packs, which take every slot: they delete or
// judge pack files a transfer may be reading or writing. A transfer that
// fails removes its temporary file unless another transfer runs, in which
// case the next Fetch does. Readers never take s.transfers.

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
// above): the caller publishes them. Called holding a slot of s.transfers.
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
		return nil, err
	}
	return refs, nil
}

// maxTransfers bounds the transfers writing into the clone at once.
const maxTransfers = 8

// acquireTransfer takes a slot of s.transfers, waiting at most until ctx
// ends; releaseTransfer gives it back.
func (s *Store) acquireTransfer(ctx context.Context, op string) error {
	select {
	case s.transfers <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctxErr(ctx, op)
	}
}

func (s *Store) releaseTransfer() { <-s.transfers }

// exclusive takes every slot of s.transfers, waiting for the transfers
// running to end, at most until ctx ends; release gives them back. Only
// Fetch (holding s.fetching) calls it, so two callers never each hold part
// of the slots waiting for the rest.
func (s *Store) exclusive(ctx context.Context, op string) (release func(), err error) {
	release, ok := s.takeAll(ctx.Done())
	if !ok {
		return nil, ctxErr(ctx, op)
	}
	return release, nil
}

// tryExclusive takes every slot of s.transfers if no transfer runs now.
// It never waits, so anyone may call it.
func (s *Store) tryExclusive() (release func(), ok bool) { return s.takeAll(closedChan) }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// takeAll takes every slot of s.transfers, waiting for each until done is
// closed; on giving up it gives back what it took.
func (s *Store) takeAll(done <-chan struct{}) (release func(), ok bool) {
	n := 0
	release = func() {
		for range n {
			<-s.transfers
		}
	}
	for n < cap(s.transfers) {
		select { // a free slot first, even when done is closed
		case s.transfers <- struct{}{}:
			n++
			continue
		default:
		}
		select {
		case s.transfers <- struct{}{}:
			n++
		case <-done:
			release()
			return nil, false
		}
	}
	return release, true
}

// tryCleanTemp removes the temporary files of failed transfers if no
// transfer runs now; else a later Fetch does.
func (s *Store) tryCleanTemp() {
	if release, ok := s.tryExclusive(); ok {
		s.cleanTemp()
		release()
	}
}

// tidy removes the temporary files of failed transfers and repacks when
// the clone has too many packs, if no transfer runs now (else the next
// Fetch does). Called by Fetch under the write lock.
func (s *Store) tidy() {
	release, ok := s.tryExclusive()
	if !ok {
		// A steady stream of lookups could put repacks off for ever
		// (each fetched ref adds a pack): say so.
		if s.tidyPostponed++; s.tidyPostponed%10 == 0 {
			s.log.Warn("git repack and cleanup postponed: fetches for requests keep running", "fetches_in_a_row", s.tidyPostponed)
		}
		return
	}
	s.tidyPostponed = 0
	defer release()
	s.cleanTemp()
	s.maybeRepack()
}

// publish makes the packs a transfer wrote readable through the Store's
// storage. Called under the write lock, before moving any ref to them.
func (s *Store) publish() error {
	s.st.Reindex()
	return warm(s.st)
}
