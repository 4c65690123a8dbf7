package gitstore

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

// bareRemote returns a bare clone of r (a remote that accepts pushes to
// main, as a Git host does) and a function running git in it.
func bareRemote(t *testing.T, r *gittest.Repo) (string, func(args ...string) string) {
	t.Helper()
	bare := filepath.Join(t.TempDir(), "remote.git")
	r.Git("clone", "-q", "--bare", r.Path(), bare)
	git := func(args ...string) string {
		t.Helper()
		out, err := gittest.Run(bare, gittest.Epoch, "", args...)
		if err != nil {
			t.Fatalf("git %v in the remote: %v", args, err)
		}
		return out
	}
	return bare, git
}

func TestCommitAndPush(t *testing.T) {
	r := gittest.New(t)
	r.Write("prompts/a.prompt", "a1")
	r.Write("prompts/keep.prompt", "keep")
	r.Write("old/only.prompt", "only")
	r.Write("z.txt", "z")
	base := r.Commit("base")
	bare, remote := bareRemote(t, r)
	s := openStore(t, bare)
	fetch(t, s)

	changes := []registry.FileChange{
		{Path: "prompts/a.prompt", Content: []byte("a2")},
		{Path: "prompts/sub/new.prompt", Content: []byte("new")},
		{Path: "old/only.prompt"}, // its folder goes with it
		{Path: "prompts-b.prompt", Content: []byte("sorts between prompts/ and z.txt")},
	}
	author := registry.Signature{Name: "Ada", Email: "ada@example.com", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	c, err := s.CommitAndPush(context.Background(), registry.CommitRequest{Parent: base, Changes: changes, Message: "save a\n", Author: author})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("the remote has the commit on main", func(t *testing.T) {
		if got := remote("rev-parse", "main"); got != c.SHA {
			t.Errorf("remote main = %s, want %s", got, c.SHA)
		}
		if got := remote("rev-parse", c.SHA+"^"); got != base {
			t.Errorf("parent = %s, want %s", got, base)
		}
		if got := remote("log", "-1", "--format=%an <%ae>|%cn|%s", c.SHA); got != "Ada <ada@example.com>|promptreg|save a" {
			t.Errorf("author, committer, subject = %q", got)
		}
		remote("fsck", "--strict")
	})

	t.Run("the tree is the one git itself makes of the same change", func(t *testing.T) {
		r.Write("prompts/a.prompt", "a2")
		r.Write("prompts/sub/new.prompt", "new")
		r.Remove("old/only.prompt")
		r.Write("prompts-b.prompt", "sorts between prompts/ and z.txt")
		want := r.Git("rev-parse", r.Commit("the same")+"^{tree}")
		if got := remote("rev-parse", c.SHA+"^{tree}"); got != want {
			t.Errorf("tree = %s, want git's %s", got, want)
		}
	})

	t.Run("the clone serves it at once", func(t *testing.T) {
		if got := refs(t, s)["refs/heads/main"]; got != c.SHA {
			t.Errorf("clone main = %s, want %s", got, c.SHA)
		}
		if data, err := s.ReadFile(context.Background(), c.SHA, "prompts/sub/new.prompt"); err != nil || string(data) != "new" {
			t.Errorf("ReadFile = %q, %v", data, err)
		}
		fetch(t, s) // nothing to fetch: the clone agrees with the remote
		if got := refs(t, s)["refs/heads/main"]; got != c.SHA {
			t.Errorf("after a fetch main = %s, want %s", got, c.SHA)
		}
	})

	t.Run("a stale parent is a conflict and changes nothing", func(t *testing.T) {
		_, err := s.CommitAndPush(context.Background(), registry.CommitRequest{Parent: base, Changes: changes[:1], Message: "late"})
		wantCode(t, err, registry.ECONFLICT)
		if got := remote("rev-parse", "main"); got != c.SHA {
			t.Errorf("remote main moved to %s", got)
		}
	})

	t.Run("bad requests change nothing", func(t *testing.T) {
		for _, bad := range [][]registry.FileChange{
			nil,
			{{Path: "../escape", Content: []byte("x")}},
			{{Path: "/abs", Content: []byte("x")}},
			{{Path: "a//b", Content: []byte("x")}},
			{{Path: ".git/config", Content: []byte("x")}},
			{{Path: "x", Content: []byte("1")}, {Path: "x", Content: []byte("2")}},
			{{Path: "prompts/a.prompt", Content: []byte("a2")}}, // no change at all
		} {
			_, err := s.CommitAndPush(context.Background(), registry.CommitRequest{Parent: c.SHA, Changes: bad})
			wantCode(t, err, registry.EINVALID)
		}
		if got := remote("rev-parse", "main"); got != c.SHA {
			t.Errorf("remote main moved to %s", got)
		}
	})
}

// TestConcurrentCommitsOneWins: commits racing on one parent end with one
// on the remote and every other told ECONFLICT, the history linear.
func TestConcurrentCommitsOneWins(t *testing.T) {
	r := gittest.New(t)
	r.Write("a.prompt", "a")
	base := r.Commit("base")
	bare, remote := bareRemote(t, r)
	s := openStore(t, bare)
	fetch(t, s)

	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	shas := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := s.CommitAndPush(context.Background(), registry.CommitRequest{Parent: base, Message: "race",
				Changes: []registry.FileChange{{Path: "a.prompt", Content: []byte{byte('0' + i)}}}})
			errs[i], shas[i] = err, c.SHA
		}()
	}
	wg.Wait()
	won := ""
	for i, err := range errs {
		switch registry.ErrorCode(err) {
		case "":
			if won != "" {
				t.Errorf("two commits won: %s and %s", won, shas[i])
			}
			won = shas[i]
		case registry.ECONFLICT:
		default:
			t.Errorf("commit %d: %v, want success or ECONFLICT", i, err)
		}
	}
	if won == "" {
		t.Fatal("no commit won")
	}
	if got := remote("rev-parse", "main"); got != won {
		t.Errorf("remote main = %s, want the winner %s", got, won)
	}
	if got := remote("rev-list", "--count", "main"); got != "2" {
		t.Errorf("remote history has %s commits, want 2 (base and the winner)", got)
	}
	remote("fsck", "--strict")
}

// TestCommitToACheckedOutBranchSaysWhatToDo: git refuses pushes to the
// checked-out branch of a working repository; the error says so and what
// to do, and nothing changes.
func TestCommitToACheckedOutBranchSaysWhatToDo(t *testing.T) {
	r := gittest.New(t)
	r.Write("a.prompt", "a")
	base := r.Commit("base")
	s := openStore(t, r.Path())
	fetch(t, s)
	_, err := s.CommitAndPush(context.Background(), registry.CommitRequest{Parent: base, Message: "x",
		Changes: []registry.FileChange{{Path: "a.prompt", Content: []byte("b")}}})
	wantCode(t, err, registry.EUNAVAILABLE)
	if msg := registry.ErrorMessage(err); !strings.Contains(msg, "git clone --bare") || !strings.Contains(msg, "checked out") {
		t.Errorf("message %q does not say what to do", msg)
	}
	if got := r.Git("rev-parse", "main"); got != base {
		t.Errorf("the working repository's main moved to %s", got)
	}
	if got := refs(t, s)["refs/heads/main"]; got != base {
		t.Errorf("the clone's main moved to %s", got)
	}
}
