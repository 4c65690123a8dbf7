package snapshots_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/memsource"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
)

func newKeeper(src *memsource.Source) *snapshots.Keeper {
	return snapshots.New(snapshots.Options{Source: src, Parser: render.Parser{}})
}

func mustSync(t *testing.T, r *snapshots.Keeper) {
	t.Helper()
	if err := r.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func get(t *testing.T, r *snapshots.Keeper, sel registry.Selector, name string) *registry.Entry {
	t.Helper()
	s, _, err := r.Resolve(context.Background(), sel)
	if err != nil {
		t.Fatalf("Resolve(%+v): %v", sel, err)
	}
	e, ok := s.Get(name)
	if !ok {
		t.Fatalf("prompt %q not served at %s; problems: %v", name, s.Commit.SHA, s.Problems)
	}
	return e
}

const main = "refs/heads/main"

func TestNotReadyBeforeSync(t *testing.T) {
	r := newKeeper(memsource.New())
	if _, _, err := r.Resolve(context.Background(), registry.Selector{}); registry.ErrorCode(err) != registry.EUNAVAILABLE {
		t.Errorf("Resolve before sync: %v, want EUNAVAILABLE", err)
	}
	if r.Ready() {
		t.Error("Ready before sync")
	}
}

func TestETagIsTheChecksumOfTheFile(t *testing.T) {
	src := memsource.New()
	src.Add(main, map[string]string{"a.prompt": "hello {{ x }}"})
	r := newKeeper(src)
	mustSync(t, r)
	e := get(t, r, registry.Selector{}, "a")
	sum := registry.Checksum([]byte("hello {{ x }}"))
	if e.ETag != `"`+sum+`"` || e.Prompt.Checksum != sum {
		t.Errorf("etag, checksum = %s, %s; want %q", e.ETag, e.Prompt.Checksum, sum)
	}
	// The same bytes at another commit give the same entity tag.
	src.Add(main, map[string]string{"a.prompt": "hello {{ x }}", "b.prompt": "b"})
	mustSync(t, r)
	if got := get(t, r, registry.Selector{}, "a").ETag; got != e.ETag {
		t.Errorf("etag after an unrelated commit = %s, want %s", got, e.ETag)
	}
}

func TestLastKnownGood(t *testing.T) {
	src := memsource.New()
	src.Add(main, map[string]string{"a.prompt": "good {{ x }}", "b.prompt": "b"})
	r := newKeeper(src)
	mustSync(t, r)
	good := get(t, r, registry.Selector{}, "a")

	src.Add(main, map[string]string{"a.prompt": "broken {% if %}", "b.prompt": "b2"})
	mustSync(t, r)
	stale := get(t, r, registry.Selector{}, "a")
	if stale.ETag != good.ETag || string(stale.Body) != string(good.Body) {
		t.Errorf("broken commit changed the served prompt: etag %s, want %s", stale.ETag, good.ETag)
	}
	if stale.Stale == "" || !strings.Contains(stale.Stale, "a.prompt") {
		t.Errorf("stale = %q, want the problem", stale.Stale)
	}
	if got := get(t, r, registry.Selector{}, "b").Prompt.Template; got != "b2" {
		t.Errorf("other prompt = %q, want it updated to b2", got)
	}
	st := r.Status()
	if len(st.Head.Problems) != 1 || st.Head.Problems[0].Path != "a.prompt" || st.Head.Problems[0].Line == 0 {
		t.Errorf("status problems = %+v, want a.prompt with its line", st.Head.Problems)
	}
	if len(st.Head.Stale) != 1 || st.Head.Stale[0].Name != "a" {
		t.Errorf("status stale = %+v", st.Head.Stale)
	}

	// Still broken at the next commit: still the last good version.
	src.Add(main, map[string]string{"a.prompt": "broken {% if %}", "b.prompt": "b3"})
	mustSync(t, r)
	if e := get(t, r, registry.Selector{}, "a"); e.ETag != good.ETag || e.Stale == "" {
		t.Errorf("second broken commit: etag %s stale %q", e.ETag, e.Stale)
	}
	// Fixed: served fresh, not stale.
	src.Add(main, map[string]string{"a.prompt": "fixed", "b.prompt": "b3"})
	mustSync(t, r)
	if e := get(t, r, registry.Selector{}, "a"); e.Stale != "" || e.Prompt.Template != "fixed" {
		t.Errorf("fixed commit: stale %q template %q", e.Stale, e.Prompt.Template)
	}
	// Deleted: gone, not kept.
	src.Add(main, map[string]string{"b.prompt": "b3"})
	mustSync(t, r)
	s, _, _ := r.Resolve(context.Background(), registry.Selector{})
	if _, ok := s.Get("a"); ok {
		t.Error("deleted prompt still served")
	}
}

func TestDuplicateNamesKeepTheLastGoodVersion(t *testing.T) {
	src := memsource.New()
	src.Add(main, map[string]string{"a.prompt": "one"})
	r := newKeeper(src)
	mustSync(t, r)
	src.Add(main, map[string]string{"a.prompt": "one", "other.prompt": "---\nname: a\n---\ntwo"})
	mustSync(t, r)
	e := get(t, r, registry.Selector{}, "a")
	if e.Prompt.Template != "one" || !strings.Contains(e.Stale, "also claimed") {
		t.Errorf("template %q stale %q", e.Prompt.Template, e.Stale)
	}
	st := r.Status()
	if len(st.Head.Problems) != 2 {
		t.Errorf("problems = %+v, want one per file", st.Head.Problems)
	}
}

func TestPartials(t *testing.T) {
	src := memsource.New()
	src.Add(main, map[string]string{
		"p/safety.prompt": "Be safe, {{ user }}.",
		"a.prompt":        "{% include \"p/safety\" %} {{ q }}",
		"plain.prompt":    "x",
	})
	r := newKeeper(src)
	mustSync(t, r)
	a := get(t, r, registry.Selector{}, "a")
	safety := get(t, r, registry.Selector{}, "p/safety")
	if want := []registry.Include{{Name: "p/safety", Checksum: safety.Prompt.Checksum}}; !reflect.DeepEqual(a.Prompt.Includes, want) {
		t.Errorf("includes = %+v, want %+v", a.Prompt.Includes, want)
	}
	if want := []string{"q", "user"}; !reflect.DeepEqual(a.Prompt.Variables, want) {
		t.Errorf("variables = %v, want %v (the partial's included)", a.Prompt.Variables, want)
	}
	if a.ETag == `"`+a.Prompt.Checksum+`"` {
		t.Error("etag of a prompt with partials must cover the partials")
	}
	// Editing the partial changes the including prompt's ETag, not its checksum.
	src.Add(main, map[string]string{
		"p/safety.prompt": "Be very safe, {{ user }}.",
		"a.prompt":        "{% include \"p/safety\" %} {{ q }}",
		"plain.prompt":    "x",
	})
	mustSync(t, r)
	a2 := get(t, r, registry.Selector{}, "a")
	if a2.ETag == a.ETag || a2.Prompt.Checksum != a.Prompt.Checksum {
		t.Errorf("after editing the partial: etag %s (was %s), checksum %s (was %s)", a2.ETag, a.ETag, a2.Prompt.Checksum, a.Prompt.Checksum)
	}
}

func TestPartialProblems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		bad   string
		msg   string
	}{
		{"missing partial", map[string]string{"a.prompt": `{% include "nope" %}`}, "a", "not a valid prompt"},
		{"cycle", map[string]string{"a.prompt": `{% include "b" %}`, "b.prompt": `{% include "a" %}`}, "a", "cycle"},
		{"self include", map[string]string{"a.prompt": `{% include "a" %}`}, "a", "cycle"},
		{"too deep", func() map[string]string {
			m := map[string]string{"p9.prompt": "end"}
			for i := 0; i < 9; i++ {
				m[fmt.Sprintf("p%d.prompt", i)] = fmt.Sprintf(`{%% include "p%d" %%}`, i+1)
			}
			return m
		}(), "p0", "deep"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := memsource.New()
			src.Add(main, tt.files)
			r := newKeeper(src)
			mustSync(t, r)
			s, _, _ := r.Resolve(context.Background(), registry.Selector{})
			if _, ok := s.Get(tt.bad); ok {
				t.Errorf("%s served despite the problem", tt.bad)
			}
			found := false
			for _, p := range s.Problems {
				found = found || strings.Contains(p.Message, tt.msg)
			}
			if !found {
				t.Errorf("problems = %+v, want one containing %q", s.Problems, tt.msg)
			}
		})
	}
}

func TestEnvironmentsAndRefs(t *testing.T) {
	src := memsource.New()
	cfg := "environments:\n  production: refs/tags/production\n  staging: staging\n"
	v1 := src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "v1"})
	src.SetRef("refs/tags/production", v1)
	src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "v2"})
	src.SetRef("refs/heads/staging", src.Ref(main))
	src.SetRef("refs/tags/canary", v1)
	r := newKeeper(src)
	mustSync(t, r)

	tests := []struct {
		sel     registry.Selector
		want    string
		wantRef string
	}{
		{registry.Selector{}, "v2", main},
		{registry.Selector{Env: "production"}, "v1", "refs/tags/production"},
		{registry.Selector{Env: "staging"}, "v2", "refs/heads/staging"},
		{registry.Selector{Env: "canary"}, "v1", "refs/tags/canary"}, // unconfigured: the tag of that name
		{registry.Selector{Ref: "main"}, "v2", main},
		{registry.Selector{Ref: "production"}, "v1", "refs/tags/production"},
		{registry.Selector{Ref: v1}, "v1", v1},
		{registry.Selector{Ref: v1[:12]}, "v1", v1},
	}
	for _, tt := range tests {
		s, ref, err := r.Resolve(context.Background(), tt.sel)
		if err != nil {
			t.Errorf("Resolve(%+v): %v", tt.sel, err)
			continue
		}
		e, _ := s.Get("a")
		if e == nil || e.Prompt.Template != tt.want || ref != tt.wantRef {
			t.Errorf("Resolve(%+v) = %v at %s, want %s at %s", tt.sel, e, ref, tt.want, tt.wantRef)
		}
	}
	for _, sel := range []registry.Selector{{Env: "nope"}, {Ref: "nope"}, {Ref: "abcdef0123"}} {
		if _, _, err := r.Resolve(context.Background(), sel); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Errorf("Resolve(%+v) = %v, want ENOTFOUND", sel, err)
		}
	}
	for _, sel := range []registry.Selector{{Ref: "a..b"}, {Ref: "x y"}, {Ref: strings.Repeat("a", 300)}} {
		if _, _, err := r.Resolve(context.Background(), sel); registry.ErrorCode(err) != registry.EINVALID {
			t.Errorf("Resolve(%+v) = %v, want EINVALID", sel, err)
		}
	}

	// Moving the production tag is picked up by the next sync.
	src.SetRef("refs/tags/production", src.Ref(main))
	mustSync(t, r)
	if got := get(t, r, registry.Selector{Env: "production"}, "a").Prompt.Template; got != "v2" {
		t.Errorf("after moving the tag production serves %q, want v2", got)
	}
}

func TestFetchFailureKeepsServing(t *testing.T) {
	src := memsource.New()
	src.Add(main, map[string]string{"a.prompt": "v1"})
	r := newKeeper(src)
	mustSync(t, r)
	src.SetFetchError(registry.Errorf(registry.EUNAVAILABLE, "remote gone"))
	if err := r.Sync(context.Background()); registry.ErrorCode(err) != registry.EUNAVAILABLE {
		t.Errorf("Sync with the remote gone = %v, want EUNAVAILABLE", err)
	}
	get(t, r, registry.Selector{}, "a")
	st := r.Status()
	if st.LastError == "" || st.ConsecutiveFailures != 1 || st.LastFetchSuccess == nil {
		t.Errorf("status = %+v", st)
	}
}

func TestWatchCoalescesTriggers(t *testing.T) {
	src := memsource.New()
	src.Add(main, map[string]string{"a.prompt": "v1"})
	// The first triggered sync is held in its fetch while 100 more
	// triggers arrive: they must make exactly one more sync.
	held, release := make(chan struct{}), make(chan struct{})
	src.SetFetchHook(func(n int) {
		if n == 2 {
			close(held)
			<-release
		}
	})
	r := newKeeper(src)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Watch(ctx, snapshots.WatchOptions{}) }()
	deadline := time.Now().Add(5 * time.Second)
	for !r.Ready() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	src.Add(main, map[string]string{"a.prompt": "v2"})
	r.Trigger(registry.Cause{Via: "test"})
	<-held
	for i := 0; i < 100; i++ {
		r.Trigger(registry.Cause{Via: "test"})
	}
	close(release)
	for src.Fetches() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // room for a sync too many
	cancel()
	<-done
	if n := src.Fetches(); n != 3 {
		t.Errorf("fetches = %d, want 3: the start, the held sync, and one for the 100 triggers that came during it", n)
	}
	if e := get(t, r, registry.Selector{}, "a"); e.Prompt.Template != "v2" {
		t.Errorf("served %q, want v2", e.Prompt.Template)
	}
}

// TestDomainImportsOnlyTheStandardLibrary enforces the dependency rule.
func TestDefaultEnvironmentNeverFallsBackToTheHead(t *testing.T) {
	src := memsource.New()
	cfg := "environments: {production: refs/tags/production}\ndefault_environment: production\n"
	v1 := src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "v1"})
	src.SetRef("refs/tags/production", v1)
	src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "unreleased"})
	r := newKeeper(src)
	mustSync(t, r)
	if got := get(t, r, registry.Selector{}, "a").Prompt.Template; got != "v1" {
		t.Errorf("default serves %q, want production's v1", got)
	}
	src.DeleteRef("refs/tags/production") // deleted, to be pushed again
	mustSync(t, r)
	if got := get(t, r, registry.Selector{}, "a").Prompt.Template; got != "v1" {
		t.Errorf("default serves %q with its tag gone, want the last production content v1", got)
	}

	// A fresh registry that never saw the tag serves nothing by default.
	r2 := newKeeper(src)
	mustSync(t, r2)
	if _, _, err := r2.Resolve(context.Background(), registry.Selector{}); registry.ErrorCode(err) != registry.EUNAVAILABLE {
		t.Errorf("default without its environment = %v, want EUNAVAILABLE", err)
	}
}
