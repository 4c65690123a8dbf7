package gitstore

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/promptreg/promptreg/registry"
)

// initSuffix marks the temporary directory a new clone is initialized in.
const initSuffix = ".init-"

// removeStaleInits removes the temporary directories of clone
// initializations a crash interrupted.
func removeStaleInits(dir string, log *slog.Logger) {
	stale, _ := filepath.Glob(filepath.Join(dir, cloneName+initSuffix+"*"))
	for _, p := range stale {
		log.Warn("removing interrupted clone initialization", "path", p)
		os.RemoveAll(p)
	}
}

// repair removes from the clone at path what a process killed mid-fetch,
// mid-repack or mid-ref-update can leave behind and go-git cannot read past:
// temporary packs and objects, a pack index without its pack (or the
// reverse), and ref files that are empty or garbled (go-git rewrites a ref
// file in place, so a kill can leave it empty, and one unreadable ref file
// makes listing refs fail). A ref it removes comes back with the next Fetch.
// It runs before go-git opens the clone.
func repair(path string, log *slog.Logger) {
	packDir := filepath.Join(path, "objects", "pack")
	entries, _ := os.ReadDir(packDir)
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	for _, e := range entries {
		name := e.Name()
		var why string
		switch {
		case strings.HasPrefix(name, "tmp_"):
			why = "temporary file of an interrupted fetch"
		case strings.HasSuffix(name, ".idx") && !have[strings.TrimSuffix(name, ".idx")+".pack"]:
			why = "pack index without its pack"
		case strings.HasSuffix(name, ".pack") && !have[strings.TrimSuffix(name, ".pack")+".idx"]:
			why = "pack without its index"
		default:
			continue
		}
		log.Warn("git clone repair: removing "+why, "file", filepath.Join(packDir, name))
		os.Remove(filepath.Join(packDir, name))
	}
	tmps, _ := filepath.Glob(filepath.Join(path, "._packed-refs*"))
	for _, p := range tmps {
		log.Warn("git clone repair: removing temporary file of an interrupted ref update", "file", p)
		os.Remove(p)
	}

	refsDir := filepath.Join(path, "refs")
	filepath.WalkDir(refsDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil || validRefFile(data) {
			return nil
		}
		log.Warn("git clone repair: removing unreadable ref file", "file", p, "content", string(bytes.TrimSpace(data)))
		os.Remove(p)
		return nil
	})
	if data, err := os.ReadFile(filepath.Join(path, "HEAD")); err == nil && !validRefFile(data) {
		log.Warn("git clone repair: rewriting unreadable HEAD", "content", string(bytes.TrimSpace(data)))
		os.WriteFile(filepath.Join(path, "HEAD"), []byte("ref: refs/heads/"+DefaultBranch+"\n"), 0o644)
	}
}

// validRefFile reports whether data is a ref file go-git can read: a sha or
// a "ref: " line.
func validRefFile(data []byte) bool {
	line := strings.TrimSpace(string(data))
	if strings.HasPrefix(line, "ref: ") {
		return len(line) > len("ref: ")
	}
	if len(line) != 40 {
		return false
	}
	_, err := hex.DecodeString(line)
	return err == nil
}

// removeDanglingRefs removes the refs whose object the clone does not have
// (possible after a crash of the machine, not just of the process, or a
// publish that lost its pack); the next Fetch brings the branches and tags
// back, a request the refs it fetched on demand. A
// keep ref to a missing commit keeps nothing, and would make every repack
// fail (a repack walks what refs reach).
func removeDanglingRefs(st *filesystem.Storage, log *slog.Logger) error {
	iter, err := st.IterReferences()
	if err != nil {
		return err
	}
	var refs []*plumbing.Reference
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference {
			refs = append(refs, ref)
		}
		return nil
	})
	iter.Close()
	if err != nil {
		return err
	}
	for _, ref := range refs {
		err := st.HasEncodedObject(ref.Hash())
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			if strings.HasPrefix(ref.Name().String(), keepPrefix) {
				log.Error("git clone repair: removing the keep ref of a missing commit; the versions it introduced cannot be read", "ref", ref.Name())
			} else {
				log.Warn("git clone repair: removing ref to a missing object", "ref", ref.Name(), "object", ref.Hash())
			}
			err = st.RemoveReference(ref.Name())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// checkPacks checks every pack of the clone at path against its index (see
// checkPack) and returns the first damage it finds. With full set it also
// hashes each pack whole, except those verified already holds; it adds
// those it hashed and found sound (a pack's name is its checksum, so its
// content never changes while it is sound).
func checkPacks(path string, full bool, verified map[string]bool) error {
	dir := filepath.Join(path, "objects", "pack")
	names, err := listPacks(dir)
	if err != nil {
		return err
	}
	for name := range verified {
		if !slices.Contains(names, name) {
			delete(verified, name) // repacked away
		}
	}
	for _, name := range names {
		hash := full && !verified[name]
		if err := checkPack(filepath.Join(dir, name), hash); err != nil {
			return err
		}
		if hash && verified != nil {
			verified[name] = true
		}
	}
	return nil
}

// Sizes in a packfile: a header ("PACK", the version, the number of
// objects), the objects, and a trailer, the SHA-1 of all that precedes it,
// which the pack's index records and names the pack by.
const (
	packHeaderLen  = 12
	packTrailerLen = sha1.Size
)

// checkPack checks the pack base.pack against its index base.idx without
// inflating any object: the index must decode (go-git checks its own
// checksum) and name this pack; the pack must start with a pack header that
// counts as many objects as the index, end with the checksum the index
// records, and be long enough to hold the object at the index's largest
// offset. That catches a truncated, emptied, overwritten or swapped pack,
// which go-git only notices when it reads an object it cannot find whole
// ("unexpected EOF"). With hash set it also hashes the whole pack, which
// catches damage in the middle too, at the cost of reading it all.
func checkPack(base string, hash bool) error {
	name := filepath.Base(base)
	idx, err := loadIndex(base + ".idx")
	if err != nil {
		return fmt.Errorf("pack index %s: %w", name, err)
	}
	if want := "pack-" + hex.EncodeToString(idx.PackfileChecksum[:]); want != name {
		return fmt.Errorf("pack index %s is the index of %s", name, want)
	}
	f, err := os.Open(base + ".pack")
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	count, err := idx.Count()
	if err != nil {
		return fmt.Errorf("pack index %s: %w", name, err)
	}
	if size < packHeaderLen+packTrailerLen {
		return fmt.Errorf("pack %s is truncated: %d bytes", name, size)
	}
	var hdr [packHeaderLen]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return fmt.Errorf("pack %s: %w", name, err)
	}
	if v := binary.BigEndian.Uint32(hdr[4:8]); string(hdr[:4]) != "PACK" || (v != 2 && v != 3) {
		return fmt.Errorf("pack %s has no pack header", name)
	}
	if n := binary.BigEndian.Uint32(hdr[8:]); int64(n) != count {
		return fmt.Errorf("pack %s holds %d objects, its index %d", name, n, count)
	}
	var trailer [packTrailerLen]byte
	if _, err := f.ReadAt(trailer[:], size-packTrailerLen); err != nil {
		return fmt.Errorf("pack %s: %w", name, err)
	}
	if !bytes.Equal(trailer[:], idx.PackfileChecksum[:]) {
		return fmt.Errorf("pack %s is truncated or overwritten: it ends with checksum %x, its index records %x", name, trailer, idx.PackfileChecksum)
	}
	entries, err := idx.Entries()
	if err != nil {
		return fmt.Errorf("pack index %s: %w", name, err)
	}
	defer entries.Close()
	for {
		e, err := entries.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("pack index %s: %w", name, err)
		}
		if e.Offset < packHeaderLen || e.Offset >= uint64(size-packTrailerLen) {
			return fmt.Errorf("pack %s is too short (%d bytes) for object %s at offset %d", name, size, e.Hash, e.Offset)
		}
	}
	if !hash {
		return nil
	}
	h := sha1.New()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("pack %s: %w", name, err)
	}
	if _, err := io.CopyN(h, f, size-packTrailerLen); err != nil {
		return fmt.Errorf("pack %s: %w", name, err)
	}
	if sum := h.Sum(nil); !bytes.Equal(sum, trailer[:]) {
		return fmt.Errorf("pack %s is damaged: its content hashes to %x, not to its checksum %x", name, sum, trailer)
	}
	return nil
}

// noteErr notes, when *err is an internal error, that the clone may be
// damaged: a pack cut short or overwritten shows as "unexpected EOF" and the
// like on the objects it lost. The next Fetch then checks the clone. Read
// methods defer it.
func (s *Store) noteErr(err *error) {
	if *err != nil && registry.ErrorCode(*err) == registry.EINTERNAL {
		s.suspect.Store(true)
	}
}

// checkClone, when a read or a fetch failed since it last looked, checks
// the clone's packs, hashing in full those it has not hashed before, and
// when one is damaged replaces the clone as Open does: it sets the clone
// aside and starts over from an empty one, which the calling Fetch fills,
// kept commits salvaged after. So damage that appears while the server runs
// does not leave it unready until a restart. It checks and replaces
// holding every slot of s.transfers: a pack a transfer is writing is not
// damage. Called by Fetch holding s.fetching.
func (s *Store) checkClone(ctx context.Context) error {
	why := s.reclone
	if why == nil && !s.suspect.Swap(false) {
		return nil
	}
	release, err := s.exclusive(ctx, "check clone")
	if err != nil {
		s.suspect.Store(true) // check at the next Fetch
		return err
	}
	defer release()
	if why == nil {
		if why = checkPacks(s.path, true, s.verified); why == nil {
			return nil
		}
	}
	if err := s.recreate(why); err != nil {
		s.reclone = why
		return err
	}
	s.reclone = nil
	return nil
}

// recreate sets the clone aside and opens a new, empty one in its place,
// under the write lock: readers see the old clone or the new one.
func (s *Store) recreate(why error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	if s.pool != nil {
		s.pool.close()
	}
	s.st.Close()
	if err := s.setAside(why); err != nil {
		return internal("repair clone: move it aside", err)
	}
	if err := s.initClone(filepath.Dir(s.path)); err != nil {
		return err
	}
	if err := s.openExisting(); err != nil {
		return err
	}
	clear(s.verified)
	s.findSalvage()
	s.log.Info("git clone created", "path", s.path)
	return nil
}
