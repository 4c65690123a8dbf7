package registry_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/promptreg/promptreg/registry"
)

func entry(t *testing.T, name, file, content string, version int) *registry.Entry {
	t.Helper()
	e, err := registry.NewEntry(&registry.Prompt{Name: name, File: file, Path: file, Checksum: registry.Checksum([]byte(content)),
		Raw: []byte(content), Version: version}, version == 0)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNextIsNewSnapshotOfTheChangedEntries(t *testing.T) {
	a, b, c := entry(t, "a", "a.prompt", "A", 1), entry(t, "b", "b.prompt", "B", 1), entry(t, "c", "c.prompt", "C", 0)
	cfg := registry.DefaultConfig()
	prev := registry.NewSnapshot(registry.Commit{SHA: "1"}, "refs/heads/main", cfg, nil, time.Unix(1, 0), []*registry.Entry{a, b, c})
	commit, built := registry.Commit{SHA: "2"}, time.Unix(2, 0)
	problems := func() []registry.Problem {
		return []registry.Problem{{Path: "z.prompt", Message: "z"}, {Path: "d.prompt", Message: "d"}}
	}

	b2 := entry(t, "b", "moved/b.prompt", "B2", 0) // changed, moved and unnumbered
	d := entry(t, "d", "c.prompt", "D", 2)         // takes the file c left
	got, ok := prev.Next(commit, "refs/heads/main", cfg, problems(), built, map[string]*registry.Entry{"b": b2, "c": nil, "d": d, "gone": nil})
	if !ok {
		t.Fatal("Next refused changes without two entries of one file")
	}
	want := registry.NewSnapshot(commit, "refs/heads/main", cfg, problems(), built, []*registry.Entry{a, b2, d})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Next = %+v\nwant   %+v", got, want)
	}
	if prev.Len() != 3 || prev.Commit.SHA != "1" {
		t.Error("Next changed the snapshot it started from")
	}

	// Two entries of one file: their order decides ByPath.
	if _, ok := prev.Next(commit, "refs/heads/main", cfg, nil, built, map[string]*registry.Entry{"d": entry(t, "d", "a.prompt", "D", 2)}); ok {
		t.Error("Next accepted an entry of a file another entry serves")
	}
	twice := registry.NewSnapshot(commit, "refs/heads/main", cfg, nil, built, []*registry.Entry{a, entry(t, "x", "a.prompt", "X", 1)})
	if _, ok := twice.Next(commit, "refs/heads/main", cfg, nil, built, nil); ok {
		t.Error("Next started from a snapshot with two entries of one file")
	}
}
