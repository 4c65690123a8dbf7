package gitstore

import (
	"context"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

func TestRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := gittest.New(t)
	r.Write("promptreg.yaml", "root: prompts\n")
	r.Write("prompts/support/welcome.prompt", "Hello {{ name }}")
	r.Write("prompts/support/deep/er.j2", "deeper")
	r.Write("prompts/a.b/x.prompt", "dotted dir")
	r.Write("prompts/run.sh", "#!/bin/sh\n")
	if err := os.Chmod(r.Path()+"/prompts/run.sh", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("support/welcome.prompt", r.Path()+"/prompts/link.prompt"); err != nil {
		t.Fatal(err)
	}
	c1 := r.Commit("first\n\nwith a body")
	// A submodule entry (a gitlink), without a .gitmodules: a tree entry
	// of mode 160000 is all ListFiles sees.
	r.Git("update-index", "--add", "--cacheinfo", "160000,"+c1+",prompts/sub")
	c2 := r.Commit("add a submodule")
	blob := r.Git("rev-parse", c2+":prompts/support/welcome.prompt")

	s := fetched(t, r.URL())

	t.Run("ListFiles lists regular files recursively, sorted, with blob and size", func(t *testing.T) {
		got, err := s.ListFiles(ctx, c2, "prompts")
		if err != nil {
			t.Fatal(err)
		}
		want := []registry.FileRef{
			{Path: "prompts/a.b/x.prompt", Blob: r.Git("rev-parse", c2+":prompts/a.b/x.prompt"), Size: 10},
			{Path: "prompts/run.sh", Blob: r.Git("rev-parse", c2+":prompts/run.sh"), Size: 10},
			{Path: "prompts/support/deep/er.j2", Blob: r.Git("rev-parse", c2+":prompts/support/deep/er.j2"), Size: 6},
			{Path: "prompts/support/welcome.prompt", Blob: blob, Size: 16},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ListFiles = %+v,\nwant %+v", got, want)
		}
	})

	t.Run("ListFiles of the root includes root files", func(t *testing.T) {
		got, err := s.ListFiles(ctx, c2, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 || got[0].Path != "promptreg.yaml" {
			t.Errorf("ListFiles(root) = %+v, want 5 files, promptreg.yaml first", got)
		}
	})

	t.Run("ListFiles of a subdirectory with a trailing slash", func(t *testing.T) {
		got, err := s.ListFiles(ctx, c2, "prompts/support/")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Path != "prompts/support/deep/er.j2" {
			t.Errorf("ListFiles = %+v, want the two files under prompts/support", got)
		}
	})

	for _, dir := range []string{"missing", "prompts/missing/deeper", "promptreg.yaml", "prompts/sub"} {
		t.Run("ListFiles of "+dir+" lists nothing", func(t *testing.T) {
			got, err := s.ListFiles(ctx, c2, dir)
			if err != nil || len(got) != 0 {
				t.Errorf("ListFiles = %v, %v, want none", got, err)
			}
		})
	}

	t.Run("ReadFile returns the content", func(t *testing.T) {
		got, err := s.ReadFile(ctx, c2, "prompts/support/welcome.prompt")
		if err != nil || string(got) != "Hello {{ name }}" {
			t.Errorf("ReadFile = %q, %v, want the prompt", got, err)
		}
	})

	for _, p := range []string{"prompts/missing.prompt", "prompts", "prompts/link.prompt", "prompts/sub", "promptreg.yaml/x", "nope/x"} {
		t.Run("ReadFile of "+p+" is ENOTFOUND", func(t *testing.T) {
			_, err := s.ReadFile(ctx, c2, p)
			wantCode(t, err, registry.ENOTFOUND)
		})
	}

	for _, p := range []string{"", "/abs", "../x", "a/../b", "a//b", "./a"} {
		t.Run("ReadFile of "+p+" is EINVALID", func(t *testing.T) {
			_, err := s.ReadFile(ctx, c2, p)
			wantCode(t, err, registry.EINVALID)
		})
	}

	t.Run("ReadFile of an unknown commit is ENOTFOUND", func(t *testing.T) {
		_, err := s.ReadFile(ctx, strings.Repeat("ab", 20), "promptreg.yaml")
		wantCode(t, err, registry.ENOTFOUND)
	})

	t.Run("ReadBlob returns the content", func(t *testing.T) {
		got, err := s.ReadBlob(ctx, blob)
		if err != nil || string(got) != "Hello {{ name }}" {
			t.Errorf("ReadBlob = %q, %v, want the prompt", got, err)
		}
	})

	t.Run("ReadBlob of an unknown or non-blob object is ENOTFOUND", func(t *testing.T) {
		for _, sha := range []string{strings.Repeat("0", 40), c1} {
			_, err := s.ReadBlob(ctx, sha)
			wantCode(t, err, registry.ENOTFOUND)
		}
	})

	t.Run("ReadBlob of a short sha is EINVALID", func(t *testing.T) {
		_, err := s.ReadBlob(ctx, blob[:10])
		wantCode(t, err, registry.EINVALID)
	})

	t.Run("Commit returns author, email, time and message", func(t *testing.T) {
		got, err := s.Commit(ctx, c1)
		if err != nil {
			t.Fatal(err)
		}
		want := registry.Commit{SHA: c1, Author: gittest.AuthorName, Email: gittest.AuthorEmail, Time: gittest.Epoch.Add(time.Minute), Message: "first\n\nwith a body\n"}
		if !got.Time.Equal(want.Time) {
			t.Errorf("Time = %v, want %v", got.Time, want.Time)
		}
		got.Time = want.Time
		if got != want {
			t.Errorf("Commit = %+v, want %+v", got, want)
		}
	})

	t.Run("Commit of a tree or unknown sha is ENOTFOUND", func(t *testing.T) {
		for _, sha := range []string{r.Git("rev-parse", c1+"^{tree}"), strings.Repeat("1", 40)} {
			_, err := s.Commit(ctx, sha)
			wantCode(t, err, registry.ENOTFOUND)
		}
	})

	t.Run("the file at an older commit is the older content", func(t *testing.T) {
		r.Write("prompts/support/welcome.prompt", "Hi")
		c3 := r.Commit("edit")
		fetch(t, s)
		old, _ := s.ReadFile(ctx, c1, "prompts/support/welcome.prompt")
		cur, _ := s.ReadFile(ctx, c3, "prompts/support/welcome.prompt")
		if string(old) != "Hello {{ name }}" || string(cur) != "Hi" {
			t.Errorf("ReadFile at c1, c3 = %q, %q, want the old then the new content", old, cur)
		}
	})

	t.Run("Refs leaves out tags of anything but a commit", func(t *testing.T) {
		r.Tag("blobtag", blob)
		r.TagAnnotated("treetag", r.Git("rev-parse", c1+"^{tree}"), "a tree")
		fetch(t, s)
		got := refs(t, s)
		for _, name := range []string{"refs/tags/blobtag", "refs/tags/treetag"} {
			if _, ok := got[name]; ok {
				t.Errorf("refs = %v, want no %s", got, name)
			}
		}
	})

	t.Run("reads after an expired context are ETIMEOUT", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.ReadFile(ctx, c1, "promptreg.yaml")
		wantCode(t, err, registry.ETIMEOUT)
	})
}

func TestReadTooLarge(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	r.Write("big.prompt", strings.Repeat("x", 2000))
	c := r.Commit("big")
	s := openWith(t, Options{URL: r.Path(), Dir: t.TempDir(), MaxFileBytes: 1000})
	fetch(t, s)

	t.Run("a file over MaxFileBytes is ETOOLARGE", func(t *testing.T) {
		_, err := s.ReadFile(context.Background(), c, "big.prompt")
		wantCode(t, err, registry.ETOOLARGE)
	})

	t.Run("ListFiles still lists it with its size", func(t *testing.T) {
		files, err := s.ListFiles(context.Background(), c, "")
		if err != nil || len(files) != 1 || files[0].Size != 2000 {
			t.Errorf("ListFiles = %+v, %v, want big.prompt of 2000 bytes", files, err)
		}
	})
}

func TestReadLargeFile(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	big := strings.Repeat("0123456789abcdef", largeObjectBytes/16+1000) // read from disk, not inflated into the cache
	r.Write("big.prompt", big)
	c := r.Commit("big")
	s := fetched(t, r.Path())
	files, err := s.ListFiles(context.Background(), c, "")
	if err != nil || len(files) != 1 || files[0].Size != int64(len(big)) {
		t.Fatalf("ListFiles = %+v, %v, want big.prompt of %d bytes", files, err, len(big))
	}
	for _, read := range []func() ([]byte, error){
		func() ([]byte, error) { return s.ReadFile(context.Background(), c, "big.prompt") },
		func() ([]byte, error) { return s.ReadBlob(context.Background(), files[0].Blob) },
	} {
		if got, err := read(); err != nil || string(got) != big {
			t.Errorf("read %d bytes, %v, want %d bytes", len(got), err, len(big))
		}
	}
}

func TestResolveCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := gittest.New(t)
	fastImport(t, r, 400, 0) // commits 52 and 316 share 4 hex digits
	s := fetched(t, r.URL())
	head := r.Git("rev-parse", "main")

	t.Run("full sha resolves to itself", func(t *testing.T) {
		got, err := s.ResolveCommit(ctx, head)
		if err != nil || got != head {
			t.Errorf("ResolveCommit = %q, %v, want %q", got, err, head)
		}
	})

	t.Run("upper case resolves", func(t *testing.T) {
		got, err := s.ResolveCommit(ctx, strings.ToUpper(head[:12]))
		if err != nil || got != head {
			t.Errorf("ResolveCommit = %q, %v, want %q", got, err, head)
		}
	})

	// Lengths 7 and 8: the search works on whole bytes, an odd digit after.
	for _, n := range []int{7, 8, 39} {
		t.Run("unique abbreviation resolves", func(t *testing.T) {
			got, err := s.ResolveCommit(ctx, head[:n])
			if err != nil || got != head {
				t.Errorf("ResolveCommit(%s) = %q, %v, want %q", head[:n], got, err, head)
			}
		})
	}

	t.Run("ambiguous abbreviation is EINVALID", func(t *testing.T) {
		seen := map[string]bool{}
		var prefix string
		for _, sha := range strings.Fields(r.Git("rev-list", "--all")) {
			if seen[sha[:4]] {
				prefix = sha[:4]
				break
			}
			seen[sha[:4]] = true
		}
		if prefix == "" {
			t.Fatal("no two commits share 4 hex digits; add commits")
		}
		_, err := s.ResolveCommit(ctx, prefix)
		wantCode(t, err, registry.EINVALID)
		if !strings.Contains(err.Error(), "ambiguous") {
			t.Errorf("error = %v, want it to say ambiguous", err)
		}
	})

	t.Run("prefix of a blob only is ENOTFOUND", func(t *testing.T) {
		blob := r.Git("rev-parse", "main:counter.txt")
		for _, sha := range strings.Fields(r.Git("rev-list", "--all")) {
			if strings.HasPrefix(sha, blob[:8]) {
				t.Skip("a commit shares the blob's prefix")
			}
		}
		_, err := s.ResolveCommit(ctx, blob[:8])
		wantCode(t, err, registry.ENOTFOUND)
	})

	t.Run("unknown sha is ENOTFOUND", func(t *testing.T) {
		for _, sha := range []string{strings.Repeat("0", 40), "00000000000"} {
			_, err := s.ResolveCommit(ctx, sha)
			wantCode(t, err, registry.ENOTFOUND)
		}
	})

	for _, bad := range []string{"", "abc", "xyz123", head + "0", "main", "12 34"} {
		t.Run("invalid "+bad+" is EINVALID", func(t *testing.T) {
			_, err := s.ResolveCommit(ctx, bad)
			wantCode(t, err, registry.EINVALID)
		})
	}
}

func BenchmarkResolveCommit(b *testing.B) {
	r := gittest.New(b)
	fastImport(b, r, 5000, 0)
	dir := b.TempDir()
	s, err := Open(Options{URL: r.Path(), Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Fetch(context.Background()); err != nil {
		b.Fatal(err)
	}
	prefix := r.Git("rev-parse", "main")[:10]
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.ResolveCommit(context.Background(), prefix); err != nil {
			b.Fatal(err)
		}
	}
}
