package gitstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/promptreg/promptreg/registry"
)

// ResolveCommit expands a full or abbreviated (4 to 40 hex digits) commit
// sha to the full sha of a commit of the clone. Objects of other types that
// share the prefix are ignored, as git does for a commit-ish. Errors:
// EINVALID when prefix is not hex or too short, or matches several commits;
// ENOTFOUND when it matches none.
//
// An abbreviation costs one read of each pack index's slice for the
// prefix's first byte and a binary search in it (go-git's own
// HashesWithPrefix walks every entry of every index: 0.9 ms for 15,000
// objects, linear in the repository's size), plus one directory listing for
// loose objects.
func (s *Store) ResolveCommit(ctx context.Context, prefix string) (_ string, err error) {
	defer s.noteErr(&err)
	prefix = strings.ToLower(prefix)
	if len(prefix) < 4 || len(prefix) > 40 || !isHex(prefix) {
		return "", registry.Errorf(registry.EINVALID, "resolve commit: %q is not a commit sha (4 to 40 hex digits)", prefix)
	}
	if err := s.rlock(ctx, "resolve commit"); err != nil {
		return "", err
	}
	defer s.mu.RUnlock()

	var candidates []plumbing.Hash
	if len(prefix) == 40 {
		candidates = []plumbing.Hash{plumbing.NewHash(prefix)}
	} else {
		var err error
		if candidates, err = s.hashesWithPrefix(prefix); err != nil {
			return "", internal("resolve commit "+prefix, err)
		}
	}
	var found []plumbing.Hash
	for _, h := range candidates {
		_, err := s.st.EncodedObject(plumbing.CommitObject, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			continue // absent, or not a commit
		}
		if err != nil {
			return "", internal("resolve commit "+prefix, err)
		}
		found = append(found, h)
	}
	switch len(found) {
	case 0:
		return "", notFound("resolve commit %s: not found", prefix)
	case 1:
		return found[0].String(), nil
	}
	return "", registry.Errorf(registry.EINVALID, "resolve commit %s: ambiguous, %d commits start with it", prefix, len(found))
}

// hashesWithPrefix returns the objects, of any type, whose hex sha starts
// with prefix (at least 2 hex digits), each once. Called under the read
// lock, which keeps the set of packs still.
func (s *Store) hashesWithPrefix(prefix string) ([]plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{}
	var out []plumbing.Hash
	add := func(h plumbing.Hash) {
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	// Not go-git's ObjectPacks: it lstats every file it lists, and when a
	// fetch renames its temporary pack meanwhile (transfers run beside
	// readers), it takes the ENOENT for "no pack directory" and returns no
	// packs at all.
	dir := filepath.Join(s.path, "objects", "pack")
	packs, err := listPacks(dir)
	if err != nil {
		return nil, err
	}
	for _, pack := range packs {
		idx := filepath.Join(dir, pack+".idx")
		hashes, err := searchIdx(idx, prefix)
		if errors.Is(err, errIdxVersion) {
			return s.hashesWithPrefixSlow(prefix)
		}
		if err != nil {
			return nil, err
		}
		for _, h := range hashes {
			add(h)
		}
	}
	// Loose objects live in objects/<first two digits>/<the other 38>.
	entries, err := os.ReadDir(filepath.Join(s.path, "objects", prefix[:2]))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range entries {
		if sha := prefix[:2] + e.Name(); len(sha) == 40 && strings.HasPrefix(sha, prefix) && isHex(sha) {
			add(plumbing.NewHash(sha))
		}
	}
	return out, nil
}

// hashesWithPrefixSlow is go-git's search, for pack indexes searchIdx does
// not read.
func (s *Store) hashesWithPrefixSlow(prefix string) ([]plumbing.Hash, error) {
	b, _ := hex.DecodeString(prefix[:len(prefix)&^1])
	hashes, err := s.st.HashesWithPrefix(b)
	if err != nil {
		return nil, err
	}
	var out []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	for _, h := range hashes {
		if !seen[h] && strings.HasPrefix(h.String(), prefix) {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out, nil
}

var errIdxVersion = errors.New("pack index is not version 2")

// idxMagic starts a version 2 pack index.
var idxMagic = []byte{0xff, 't', 'O', 'c'}

// searchIdx returns the object ids in the version 2 pack index file at path
// whose hex form starts with prefix (at least 2 hex digits). The index is a
// header, a fan-out table (entry b: the number of ids whose first byte is
// at most b), then the sorted ids; searchIdx reads the header and the run of
// ids with the prefix's first byte, and binary-searches that.
func searchIdx(path, prefix string) ([]plumbing.Hash, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	const fanoutOff, namesOff = 8, 8 + 256*4
	var hdr [namesOff]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	if !bytes.Equal(hdr[:4], idxMagic) || binary.BigEndian.Uint32(hdr[4:8]) != 2 {
		return nil, errIdxVersion
	}
	first, _ := hex.DecodeString(prefix[:2])
	b := int(first[0])
	var lo uint32
	if b > 0 {
		lo = binary.BigEndian.Uint32(hdr[fanoutOff+4*(b-1):])
	}
	hi := binary.BigEndian.Uint32(hdr[fanoutOff+4*b:])
	if hi <= lo {
		return nil, nil
	}
	names := make([]byte, int(hi-lo)*20)
	if _, err := f.ReadAt(names, namesOff+int64(lo)*20); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	n := len(names) / 20
	// The smallest id with the prefix: the prefix padded with zeros.
	min, _ := hex.DecodeString((prefix + strings.Repeat("0", 40))[:40])
	i := sort.Search(n, func(i int) bool { return bytes.Compare(names[i*20:i*20+20], min) >= 0 })
	var out []plumbing.Hash
	for ; i < n; i++ {
		var h plumbing.Hash
		copy(h[:], names[i*20:])
		if !strings.HasPrefix(h.String(), prefix) {
			break
		}
		out = append(out, h)
	}
	return out, nil
}
