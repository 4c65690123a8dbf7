package gitstore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5"

	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

// packOf returns the path of the only pack of the clone at path, without
// its extension.
func packOf(t *testing.T, path string) string {
	t.Helper()
	packs, _ := filepath.Glob(filepath.Join(path, "objects", "pack", "pack-*.pack"))
	if len(packs) != 1 {
		t.Fatalf("packs = %v, want one", packs)
	}
	return strings.TrimSuffix(packs[0], ".pack")
}

// damagePack rewrites the pack base.pack with what damage returns for its
// content.
func damagePack(t *testing.T, base string, damage func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(base + ".pack")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(base+".pack", damage(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// packDamages are ways a pack gets damaged that go-git does not notice
// until it reads an object it cannot find whole.
var packDamages = map[string]func([]byte) []byte{
	"truncated to half": func(b []byte) []byte { return b[:len(b)/2] },
	"last byte cut":     func(b []byte) []byte { return b[:len(b)-1] },
	"emptied":           func([]byte) []byte { return nil },
	"header only":       func(b []byte) []byte { return b[:packHeaderLen] },
	"header overwritten": func(b []byte) []byte {
		return append([]byte("JUNK"), b[4:]...)
	},
	"checksum unlike the index's": func(b []byte) []byte {
		b = append([]byte(nil), b...)
		b[len(b)-1] ^= 0xff
		return b
	},
	"object count unlike the index's": func(b []byte) []byte {
		b = append([]byte(nil), b...)
		b[packHeaderLen-1]++
		return b
	},
}

func TestOpenRepairsDamagedPack(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	r.Write("prompts/a.prompt", "a1")
	r.Write("prompts/b.prompt", strings.Repeat("a long prompt\n", 200))
	c1 := r.Commit("c1")
	r.Write("prompts/a.prompt", "a2")
	c2 := r.Commit("c2")
	r.Tag("v1", c1)
	want := map[string]string{"refs/heads/main": c2, "refs/tags/v1": c1}
	ctx := context.Background()

	for name, damage := range packDamages {
		t.Run(name+": moved aside, and the next fetch serves every commit", func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cloneInto(t, r.URL(), dir)
			damagePack(t, packOf(t, filepath.Join(dir, cloneName)), damage)

			s := openDir(t, r.URL(), dir)
			if _, err := os.Stat(filepath.Join(dir, cloneName+".broken")); err != nil {
				t.Errorf("the damaged clone was not moved aside: %v", err)
			}
			fetch(t, s)
			if got := refs(t, s); !equalMaps(got, want) {
				t.Errorf("refs = %v, want %v", got, want)
			}
			for sha, content := range map[string]string{c1: "a1", c2: "a2"} {
				if data, err := s.ReadFile(ctx, sha, "prompts/a.prompt"); err != nil || string(data) != content {
					t.Errorf("ReadFile(%s) = %q, %v; want %q", sha[:7], data, err, content)
				}
			}
			if _, _, err := s.FirstParents(ctx, c2, nil); err != nil {
				t.Errorf("FirstParents: %v", err)
			}
		})
	}

	t.Run("a sound clone is served as it is", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		cloneInto(t, r.URL(), dir)
		s := openDir(t, r.URL(), dir)
		if _, err := os.Stat(filepath.Join(dir, cloneName+".broken")); !os.IsNotExist(err) {
			t.Errorf("a sound clone was moved aside (%v)", err)
		}
		if got := refs(t, s); !equalMaps(got, want) {
			t.Errorf("refs before any fetch = %v, want %v", got, want)
		}
	})
}

func TestCheckPack(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	r.Write("a.prompt", strings.Repeat("some prompt text\n", 100))
	r.Commit("c1")
	dir := t.TempDir()
	cloneInto(t, r.URL(), dir)
	base := packOf(t, filepath.Join(dir, cloneName))
	sound, err := os.ReadFile(base + ".pack")
	if err != nil {
		t.Fatal(err)
	}
	for _, hash := range []bool{false, true} {
		if err := checkPack(base, hash); err != nil {
			t.Fatalf("checkPack(sound, hash=%v) = %v", hash, err)
		}
	}

	t.Run("a flipped byte in the middle is found only by hashing", func(t *testing.T) {
		damagePack(t, base, func(b []byte) []byte {
			b = append([]byte(nil), b...)
			b[len(b)/2] ^= 0xff
			return b
		})
		defer os.WriteFile(base+".pack", sound, 0o644)
		if err := checkPack(base, false); err != nil {
			t.Errorf("checkPack without hashing = %v, want nil (it reads no object)", err)
		}
		if err := checkPack(base, true); err == nil {
			t.Error("checkPack with hashing = nil, want an error")
		}
	})

	t.Run("the index of another pack is refused", func(t *testing.T) {
		other := filepath.Join(filepath.Dir(base), "pack-"+strings.Repeat("ab", 20))
		for _, ext := range []string{".idx", ".pack"} {
			data, _ := os.ReadFile(base + ext)
			writeFile(t, filepath.Dir(other), filepath.Base(other)+ext, string(data))
		}
		if err := checkPack(other, false); err == nil || !strings.Contains(err.Error(), "is the index of") {
			t.Errorf("checkPack = %v, want the index named another pack", err)
		}
	})
}

// keptAndDropped builds the situation salvage is for: a clone whose kept
// commit (dropped by a force-push, so the remote no longer has it) came in
// a pack of its own. It returns the remote, the clone's data directory,
// the kept commit, and the packs of the clone (without extension): the
// initial one, the kept commit's, the one after the force-push.
func keptAndDropped(t *testing.T) (r *gittest.Repo, dir, dropped string, packs [3]string) {
	t.Helper()
	r = gittest.New(t)
	r.Write("prompts/a.prompt", "base")
	base := r.Commit("base")
	dir = t.TempDir()
	s, err := Open(Options{URL: r.URL(), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	pack := func() string {
		t.Helper()
		fetch(t, s)
		have := map[string]bool{}
		for _, p := range packs {
			have[p] = true
		}
		all, _ := filepath.Glob(filepath.Join(s.Path(), "objects", "pack", "pack-*.pack"))
		for _, p := range all {
			if p = strings.TrimSuffix(p, ".pack"); !have[p] {
				return p
			}
		}
		t.Fatal("the fetch made no pack")
		return ""
	}
	packs[0] = pack()
	r.Write("prompts/a.prompt", "only in the dropped commit")
	r.Write("prompts/new/deep.prompt", "a new file in a new directory")
	dropped = r.Commit("dropped")
	packs[1] = pack()
	if err := s.Keep(context.Background(), dropped); err != nil {
		t.Fatal(err)
	}
	r.ForceBranch("main", base)
	r.Write("prompts/a.prompt", "rewritten")
	r.Commit("rewritten")
	packs[2] = pack()
	return r, dir, dropped, packs
}

// keepRef reports whether the clone has the keep ref of commit sha.
func keepRef(t *testing.T, s *Store, sha string) bool {
	t.Helper()
	out, err := gittest.Run(s.Path(), gittest.Epoch, "", "for-each-ref", "--format=%(objectname)", keepPrefix+sha)
	if err != nil {
		t.Fatal(err)
	}
	return out == sha
}

// repack repacks the clone with go-git, as Fetch does past MaxPacks, and
// checks it with git fsck, which follows every ref to every object.
func repack(t *testing.T, s *Store) {
	t.Helper()
	s.mu.Lock()
	err := s.repo.RepackObjects(&git.RepackConfig{})
	s.st.Reindex()
	if werr := warm(s.st); err == nil {
		err = werr
	}
	s.mu.Unlock()
	if err != nil {
		t.Fatalf("RepackObjects: %v", err)
	}
	if _, err := gittest.Run(s.Path(), gittest.Epoch, "", "fsck", "--strict", "--no-dangling"); err != nil {
		t.Fatalf("the repacked clone is not sound: %v", err)
	}
}

func TestRepairKeepsKeptCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	readDropped := func(s *Store, sha string) error {
		for p, want := range map[string]string{"prompts/a.prompt": "only in the dropped commit", "prompts/new/deep.prompt": "a new file in a new directory"} {
			data, err := s.ReadFile(ctx, sha, p)
			if err != nil {
				return err
			}
			if string(data) != want {
				return fmt.Errorf("%s = %q, want %q", p, data, want)
			}
		}
		return nil
	}

	t.Run("a kept commit outside the damaged pack is salvaged, and the clone repacks", func(t *testing.T) {
		t.Parallel()
		r, dir, dropped, packs := keptAndDropped(t)
		damagePack(t, packs[2], packDamages["truncated to half"])
		s := openDir(t, r.URL(), dir)
		fetch(t, s)
		if !keepRef(t, s, dropped) {
			t.Error("the keep ref was not recreated")
		}
		if err := readDropped(s, dropped); err != nil {
			t.Errorf("reading the kept commit: %v", err)
		}
		if _, err := os.Stat(filepath.Join(dir, cloneName+brokenSuffix, salvagedMarker)); err != nil {
			t.Errorf("the set-aside clone is not marked salvaged: %v", err)
		}
		repack(t, s)
		if err := readDropped(s, dropped); err != nil {
			t.Errorf("reading the kept commit after the repack: %v", err)
		}
	})

	t.Run("damage found while running: the fetch that repairs salvages", func(t *testing.T) {
		t.Parallel()
		r, dir, dropped, packs := keptAndDropped(t)
		s := openDir(t, r.URL(), dir)
		head := refs(t, s)["refs/heads/main"]
		damagePack(t, packs[2], packDamages["truncated to half"])
		// What a sync does: list the refs, read at the head.
		if _, ok := refs(t, s)["refs/heads/main"]; ok {
			if _, err := s.ReadFile(ctx, head, "prompts/a.prompt"); err == nil {
				t.Fatal("reads on the damaged pack succeed")
			}
		}
		if !s.suspect.Load() {
			t.Fatal("the failed read left the clone unsuspected")
		}
		fetch(t, s)
		if !keepRef(t, s, dropped) {
			t.Error("the keep ref was not recreated")
		}
		if err := readDropped(s, dropped); err != nil {
			t.Errorf("reading the kept commit: %v", err)
		}
		if data, err := s.ReadFile(ctx, head, "prompts/a.prompt"); err != nil || string(data) != "rewritten" {
			t.Errorf("ReadFile(head) = %q, %v; want rewritten", data, err)
		}
		repack(t, s)
	})

	t.Run("salvaged by the first fetch after a restart", func(t *testing.T) {
		t.Parallel()
		r, dir, dropped, packs := keptAndDropped(t)
		damagePack(t, packs[0], packDamages["checksum unlike the index's"])
		s, err := Open(Options{URL: r.URL(), Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		s.Close() // before any fetch
		s = openDir(t, r.URL(), dir)
		fetch(t, s)
		if !keepRef(t, s, dropped) {
			t.Error("the keep ref was not recreated")
		}
		if err := readDropped(s, dropped); err != nil {
			t.Errorf("reading the kept commit: %v", err)
		}
		repack(t, s)
	})

	t.Run("a kept commit that lost an object is logged, gets no keep ref, and the clone repacks", func(t *testing.T) {
		t.Parallel()
		r, dir, dropped, packs := keptAndDropped(t)
		// The kept commit's pack, its last object (a blob) cut short.
		damagePack(t, packs[1], func(b []byte) []byte { return b[:len(b)-packTrailerLen-4] })
		var logs syncBuffer
		s := openWith(t, Options{URL: r.URL(), Dir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		fetch(t, s)
		if keepRef(t, s, dropped) {
			t.Error("a keep ref to an incomplete commit was made")
		}
		if !strings.Contains(logs.String(), "kept commit is lost") || !strings.Contains(logs.String(), dropped) {
			t.Errorf("the loss is not logged:\n%s", logs.String())
		}
		if _, err := s.ReadFile(ctx, dropped, "prompts/a.prompt"); err == nil {
			t.Error("ReadFile of the lost commit succeeded")
		}
		if _, err := os.Stat(filepath.Join(dir, cloneName+brokenSuffix, salvagedMarker)); err != nil {
			t.Errorf("the set-aside clone is not marked salvaged: %v", err)
		}
		repack(t, s)
	})
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestFetchRepairsDamageFoundWhileRunning(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	for i := range 10 {
		r.Write(fmt.Sprintf("prompts/p%d.prompt", i), fmt.Sprintf("prompt %d: %s", i, strings.Repeat("text ", 80)))
	}
	c1 := r.Commit("c1")
	ctx := context.Background()
	readAllFiles := func(s *Store) error {
		for i := range 10 {
			if _, err := s.ReadFile(ctx, c1, fmt.Sprintf("prompts/p%d.prompt", i)); err != nil {
				return err
			}
		}
		return nil
	}
	broken := func(s *Store) bool {
		_, err := os.Stat(s.Path() + brokenSuffix)
		return err == nil
	}

	t.Run("a read that fails on a truncated pack makes the next fetch clone again", func(t *testing.T) {
		t.Parallel()
		s := fetched(t, r.URL())
		damagePack(t, packOf(t, s.Path()), packDamages["truncated to half"])
		err := readAllFiles(s)
		wantCode(t, err, registry.EINTERNAL)
		fetch(t, s) // the remote has not changed: only the check can see it
		if !broken(s) {
			t.Error("the damaged clone was not set aside")
		}
		if err := readAllFiles(s); err != nil {
			t.Errorf("reading after the repair: %v", err)
		}
		if got := refs(t, s)["refs/heads/main"]; got != c1 {
			t.Errorf("main = %s, want %s", got, c1)
		}
	})

	t.Run("damage in the middle of a pack is found by hashing it", func(t *testing.T) {
		t.Parallel()
		s := fetched(t, r.URL())
		damagePack(t, packOf(t, s.Path()), func(b []byte) []byte {
			b = append([]byte(nil), b...)
			b[len(b)/2] ^= 0xff
			return b
		})
		s.suspect.Store(true) // as a read of the damaged object does
		fetch(t, s)
		if !broken(s) {
			t.Error("the damaged clone was not set aside")
		}
		if err := readAllFiles(s); err != nil {
			t.Errorf("reading after the repair: %v", err)
		}
	})

	t.Run("a sound clone is checked once and kept", func(t *testing.T) {
		t.Parallel()
		s := fetched(t, r.URL())
		s.suspect.Store(true)
		fetch(t, s)
		if broken(s) {
			t.Error("a sound clone was set aside")
		}
		if name := filepath.Base(packOf(t, s.Path())); !s.verified[name] {
			t.Errorf("verified = %v, want %s hashed", s.verified, name)
		}
		if err := readAllFiles(s); err != nil {
			t.Error(err)
		}
	})
}
