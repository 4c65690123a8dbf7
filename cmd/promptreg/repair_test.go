package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/internal/gittest"
)

// TestForcePushedVersionSurvivesARepairedClone: a version introduced by a
// commit a force-push dropped stays readable (?version=N) after the clone
// was found damaged (a truncated pack) and rebuilt at the next start.
func TestForcePushedVersionSurvivesARepairedClone(t *testing.T) {
	repo := gittest.New(t)
	repo.Write("a.prompt", "one")
	base := repo.Commit("one")
	repo.Write("a.prompt", "dropped")
	dropped := repo.Commit("dropped")
	data := t.TempDir()

	m := startServe(t, "--repo", repo.Path(), "--data", data)
	if err := m.Keeper().Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Force-push the second commit away, and sync: the index keeps
	// version 2 and the clone keeps the commit that introduced it.
	repo.Git("reset", "-q", "--hard", base)
	repo.Write("a.prompt", "three")
	repo.Commit("three")
	if err := m.Keeper().Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	url := "http://" + m.ListenAddr() + "/v1/prompts/a/raw?version=2"
	if code, _, body := httpGet(t, url); code != 200 || body != "dropped" {
		t.Fatalf("before the repair: ?version=2 = %d %q", code, body)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	// The remote forgets the dropped commit for good.
	repo.Git("reflog", "expire", "--expire=now", "--all")
	repo.Git("gc", "-q", "--prune=now")

	// Damage the clone: truncate a pack that does not hold the kept
	// commit (the objects of a damaged pack are gone for good; kept
	// commits are carried over from the packs that can still be read).
	packs, _ := filepath.Glob(filepath.Join(data, "repo.git", "objects", "pack", "*.pack"))
	damaged := 0
	for _, p := range packs {
		idx := strings.TrimSuffix(p, ".pack") + ".idx"
		if strings.Contains(repo.GitInput(mustRead(t, idx), "show-index"), dropped) {
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, fi.Size()/2); err != nil {
			t.Fatal(err)
		}
		damaged++
	}
	if damaged == 0 {
		t.Fatalf("no pack without the kept commit among %d to damage", len(packs))
	}

	m2 := startServe(t, "--repo", repo.Path(), "--data", data)
	defer m2.Close()
	if err := m2.Keeper().Sync(context.Background()); err != nil {
		t.Fatalf("first sync after the damage: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "repo.git.broken")); err != nil {
		t.Errorf("the damaged clone was not set aside: %v", err)
	}
	base2 := "http://" + m2.ListenAddr()
	if code, _, body := httpGet(t, base2+"/readyz"); code != 200 {
		t.Fatalf("not ready after the repair: %d %s", code, body)
	}
	if code, _, body := httpGet(t, base2+"/v1/prompts/a/raw"); code != 200 || body != "three" {
		t.Errorf("head after the repair = %d %q", code, body)
	}
	code, _, body := httpGet(t, base2+"/v1/prompts/a/raw?version=2")
	if code != 200 || body != "dropped" {
		t.Errorf("?version=2 after the repair = %d %q, want the force-pushed-away version", code, body)
	}
	if code, _, body := httpGet(t, base2+"/v1/prompts/a?version=2"); code != 200 || !strings.Contains(body, `"version":2`) {
		t.Errorf("?version=2 JSON after the repair = %d %s", code, body)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
