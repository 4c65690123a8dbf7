package gitstore

import (
	"context"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

func TestMoveRef(t *testing.T) {
	ctx := context.Background()
	r := gittest.New(t)
	r.Write("a.prompt", "1")
	c1 := r.Commit("one")
	r.Write("a.prompt", "2")
	c2 := r.Commit("two")
	r.Tag("production", c1) // lightweight
	r.ForceBranch("staging", c2)
	bare, remote := bareRemote(t, r)
	s := openStore(t, bare)
	fetch(t, s)
	ada := registry.Signature{Name: "Ada", Email: "ada@example.com"}

	t.Run("a tag becomes an annotated tag by the tagger", func(t *testing.T) {
		err := s.MoveRef(ctx, registry.RefUpdate{Ref: "refs/tags/production", From: c1, To: c2, Tagger: ada, Message: "ship it"})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(remote("rev-parse", "production^{commit}")); got != c2 {
			t.Errorf("remote production = %s, want %s", got, c2)
		}
		if got := strings.TrimSpace(remote("for-each-ref", "--format=%(objecttype) %(taggername) %(taggeremail) %(contents:subject)", "refs/tags/production")); got != "tag Ada <ada@example.com> ship it" {
			t.Errorf("remote tag = %q", got)
		}
		refs, err := s.Refs(ctx)
		if err != nil || refs["refs/tags/production"] != c2 {
			t.Errorf("clone's production = %s (%v), want %s", refs["refs/tags/production"], err, c2)
		}
		if tg, err := s.Tagger(ctx, "refs/tags/production"); err != nil || tg == nil || tg.Name != "Ada" {
			t.Errorf("Tagger = %+v, %v", tg, err)
		}
		remote("fsck", "--strict")
	})

	t.Run("moving an annotated tag again", func(t *testing.T) {
		if err := s.MoveRef(ctx, registry.RefUpdate{Ref: "refs/tags/production", From: c2, To: c1, Tagger: ada}); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(remote("rev-parse", "production^{commit}")); got != c1 {
			t.Errorf("remote production = %s, want %s", got, c1)
		}
	})

	t.Run("a stale From is a conflict and moves nothing", func(t *testing.T) {
		err := s.MoveRef(ctx, registry.RefUpdate{Ref: "refs/tags/production", From: c2, To: c2})
		if registry.ErrorCode(err) != registry.ECONFLICT {
			t.Fatalf("err = %v, want ECONFLICT", err)
		}
		if got := strings.TrimSpace(remote("rev-parse", "production^{commit}")); got != c1 {
			t.Errorf("remote production moved to %s", got)
		}
	})

	t.Run("a branch moves back only with force", func(t *testing.T) {
		err := s.MoveRef(ctx, registry.RefUpdate{Ref: "refs/heads/staging", From: c2, To: c1})
		if registry.ErrorCode(err) != registry.ECONFLICT || !strings.Contains(registry.ErrorMessage(err), "force") {
			t.Fatalf("non-fast-forward without force: %v, want ECONFLICT naming force", err)
		}
		if err := s.MoveRef(ctx, registry.RefUpdate{Ref: "refs/heads/staging", From: c2, To: c1, Force: true}); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(remote("rev-parse", "staging")); got != c1 {
			t.Errorf("remote staging = %s, want %s", got, c1)
		}
		// Forward again: a fast-forward needs no force.
		if err := s.MoveRef(ctx, registry.RefUpdate{Ref: "refs/heads/staging", From: c1, To: c2}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a new tag is created", func(t *testing.T) {
		if err := s.MoveRef(ctx, registry.RefUpdate{Ref: "refs/tags/canary", To: c2, Tagger: ada}); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(remote("rev-parse", "canary^{commit}")); got != c2 {
			t.Errorf("remote canary = %s", got)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		for _, req := range []registry.RefUpdate{
			{Ref: "refs/heads/main", From: c2, To: c1},
			{Ref: "refs/notes/x", To: c1},
			{Ref: "refs/tags/x", To: strings.Repeat("f", 40)},
			{Ref: "refs/tags/x", To: "nope"},
		} {
			if err := s.MoveRef(ctx, req); err == nil || registry.ErrorCode(err) == registry.EINTERNAL {
				t.Errorf("MoveRef(%+v) = %v, want a client error", req, err)
			}
		}
	})
}
