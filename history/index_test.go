package history_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/promptreg/promptreg/history"
	"github.com/promptreg/promptreg/internal/memsource"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/sqlite"
)

func TestIndexNumbersContentByFirstAppearance(t *testing.T) {
	ctx := context.Background()
	src := memsource.New()
	first := src.Add("refs/heads/main", map[string]string{"a.prompt": "one"})
	src.Add("refs/heads/main", map[string]string{"a.prompt": "two"})
	head := src.Add("refs/heads/main", map[string]string{"a.prompt": "one", "b.prompt": "{{ broken"})
	path := filepath.Join(t.TempDir(), "promptreg.db")
	db, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	newIndex := func() *history.Index {
		return history.New(history.Options{Store: db, Git: src, Source: src, Parser: render.Parser{}, Branch: "main"})
	}
	x := newIndex()
	if err := x.Update(ctx, head); err != nil {
		t.Fatal(err)
	}
	if got := x.Head(); got != head {
		t.Errorf("Head = %s, want %s", got, head)
	}
	vs := x.List("a")
	if len(vs) != 2 || vs[0].Checksum != registry.Checksum([]byte("one")) || vs[1].Checksum != registry.Checksum([]byte("two")) {
		t.Fatalf("versions of a = %+v, want one then two", vs)
	}
	// A revert to earlier bytes is the earlier version again.
	if n, c, p := x.Lookup("a", registry.Checksum([]byte("one"))); n != 1 || c == nil || c.SHA != first || p != "a.prompt" {
		t.Errorf("Lookup(one) = %d %v %q, want 1 at %s", n, c, p, first)
	}
	if n, _, _ := x.Lookup("b", registry.Checksum([]byte("{{ broken"))); n != 0 {
		t.Errorf("a file that does not parse got version %d, want none", n)
	}
	if x.Seq(first) != 1 || x.SHA(3) != head || x.SHA(4) != "" {
		t.Errorf("Seq(first) = %d, SHA(3) = %s, SHA(4) = %q", x.Seq(first), x.SHA(3), x.SHA(4))
	}
	if p, ok := x.LastGood(ctx, "a", head); !ok || string(p.Raw) != "one" {
		t.Errorf("LastGood(a) at the head = %v, %v; want version 1's content", p, ok)
	}
	if st := x.Stats(); st.Commits != 3 || st.Versions != 2 || st.CommitsWalked != 3 {
		t.Errorf("stats = %+v", st)
	}

	// Another Index on the same store loads it instead of walking again.
	y := newIndex()
	if err := y.Update(ctx, head); err != nil {
		t.Fatal(err)
	}
	if st := y.Stats(); st.CommitsWalked != 0 || st.Versions != 2 {
		t.Errorf("after a restart: stats = %+v, want nothing walked and 2 versions", st)
	}
}
