package gitstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/internal/gittest"
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
