package snapshots_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/internal/memsource"
	"github.com/promptreg/promptreg/registry"
)

// TestPins: the head's pins file decides what the default selection and
// each environment serve for a pinned prompt; ?ref= and the head never
// see pins.
func TestPins(t *testing.T) {
	src := memsource.New()
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	cfg := "environments:\n  production: production\n  dev: main\n"
	v1 := "one {{ x }}"
	src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": v1, "b.prompt": "b"})
	src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "two {{ x }}", "b.prompt": "b"})
	prod := src.Add("refs/tags/production", map[string]string{"promptreg.yaml": cfg, "a.prompt": "two {{ x }}", "b.prompt": "b"})
	sum1 := registry.Checksum([]byte(v1))
	pins := "default:\n  a: " + sum1 + "\n  draft: null\nenvironments:\n  production:\n    a: " + sum1 + "\n    b: " + strings.Repeat("0", 64) + "\n  staging:\n    a: null\n"
	head := src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "three {{ x }}", "b.prompt": "b", "draft.prompt": "new",
		registry.PinsFile: pins})
	r := newHistoryKeeper(t, src, db)
	mustSync(t, r)

	version := func(sel registry.Selector, name string) int { return get(t, r, sel, name).Prompt.Version }
	if v := version(registry.Selector{}, "a"); v != 1 {
		t.Errorf("default serves a version %d, want the pinned 1", v)
	}
	if v := version(registry.Selector{Env: "production"}, "a"); v != 1 {
		t.Errorf("production serves a version %d, want the pinned 1", v)
	}
	if v := version(registry.Selector{Env: "dev"}, "a"); v != 3 {
		t.Errorf("dev (no pins) serves a version %d, want 3", v)
	}
	if v := version(registry.Selector{Ref: "main"}, "a"); v != 3 {
		t.Errorf("?ref=main serves a version %d, want 3: pins never apply to a ref", v)
	}
	if v := version(registry.Selector{Ref: prod}, "a"); v != 2 {
		t.Errorf("?ref=<production's commit> serves a version %d, want 2: pins never apply to a ref", v)
	}
	s, _, _ := r.Resolve(context.Background(), registry.Selector{})
	if _, ok := s.Get("draft"); ok {
		t.Error("a prompt pinned as not served is served by default")
	}
	if _, ok := s.Get("b"); !ok {
		t.Error("an unpinned prompt is missing from the pinned default")
	}
	if get(t, r, registry.Selector{Ref: head}, "draft") == nil {
		t.Error("the draft is not readable by ?ref=")
	}

	st := r.Status()
	if st.Pins == nil || len(st.Pins.Default) != 2 || st.Pins.Default[0].Name != "a" || st.Pins.Default[0].Version != 1 || !st.Pins.Default[1].Hidden {
		t.Fatalf("status pins = %+v", st.Pins)
	}
	prodPins := st.Pins.Environments["production"]
	if len(prodPins) != 2 || prodPins[1].Name != "b" || prodPins[1].Error == "" {
		t.Errorf("production pins = %+v, want b's unknown checksum reported", prodPins)
	}
	if e := get(t, r, registry.Selector{Env: "production"}, "b"); e.Prompt.Version != 1 {
		t.Errorf("b, pinned to no version, is served as version %d; want its own content (1)", e.Prompt.Version)
	}
	if sp := st.Pins.Environments["staging"]; len(sp) != 1 || sp[0].Error == "" {
		t.Errorf("pins of an environment that is not configured = %+v, want listed with an error", sp)
	}
	vs, err := r.History().Versions(context.Background(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if v1 := vs[len(vs)-1]; !v1.Current || strings.Join(v1.Environments, ",") != "production" || strings.Join(v1.Pinned, ",") != "default,production" {
		t.Errorf("version 1 in /versions: current %v, environments %v, pinned %v", v1.Current, v1.Environments, v1.Pinned)
	}

	// A broken pins file keeps the pins in force, and says why.
	src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "three {{ x }}", "b.prompt": "b", "draft.prompt": "new",
		registry.PinsFile: "default: [\n"})
	mustSync(t, r)
	if v := version(registry.Selector{}, "a"); v != 1 {
		t.Errorf("after a broken pins file, default serves a version %d, want the pin kept (1)", v)
	}
	if st := r.Status(); st.Pins == nil || st.Pins.Problem == nil {
		t.Errorf("status does not report the broken pins file: %+v", st.Pins)
	}

	// Without the file, nothing is pinned.
	src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "three {{ x }}", "b.prompt": "b", "draft.prompt": "new"})
	mustSync(t, r)
	if v := version(registry.Selector{}, "a"); v != 3 {
		t.Errorf("without pins, default serves a version %d, want 3", v)
	}
	if r.Status().Pins != nil {
		t.Error("status lists pins after the file was removed")
	}
	if get(t, r, registry.Selector{}, "draft") == nil {
		t.Error("the draft is not served once unpinned")
	}
}
