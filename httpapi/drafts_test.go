package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// version returns the version a GET of path serves, 0 for a 404.
func (e *writeEnv) version(path string) int {
	e.t.Helper()
	r := e.get(path)
	if r.status == http.StatusNotFound {
		return 0
	}
	if r.status != http.StatusOK {
		e.t.Fatalf("GET %s: %d %s", path, r.status, r.body)
	}
	var p struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		e.t.Fatal(err)
	}
	return p.Version
}

func TestDrafts(t *testing.T) {
	e := newWriteEnv(t, map[string]string{"hello.prompt": "Hello {{ name }}"})
	draft := false
	active := true

	// A draft is committed and numbered, but the default selection keeps
	// serving version 1.
	w := decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/hello", map[string]any{"template_source": "Hi {{ name }}", "set_active": draft}), http.StatusOK)
	if !w.Changed || w.Active || w.Version != 2 {
		t.Fatalf("draft saved = %+v, want changed, not active, version 2", w)
	}
	if v := e.version("/v1/prompts/hello"); v != 1 {
		t.Errorf("default serves version %d after a draft, want 1", v)
	}
	if v := e.version("/v1/prompts/hello?version=2"); v != 2 {
		t.Errorf("?version=2 serves %d", v)
	}
	if v := e.version("/v1/prompts/hello?ref=main"); v != 2 {
		t.Errorf("?ref=main serves %d, want the draft (2)", v)
	}
	pins := e.remote("show", "main:promptreg.pins.yaml")
	if !strings.Contains(pins, "hello: ") {
		t.Errorf("pins file after a draft:\n%s", pins)
	}
	r := e.get("/v1/prompts/hello/versions")
	if !strings.Contains(string(r.body), `"pinned":["default"]`) {
		t.Errorf("versions do not show the pin: %s", r.body)
	}
	if r := e.get("/v1/status"); !strings.Contains(string(r.body), `"pins":{`) {
		t.Errorf("status does not show the pins: %s", r.body)
	}

	// Another draft keeps the pin on version 1.
	decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/hello", map[string]any{"template_source": "Hey {{ name }}", "set_active": draft}), http.StatusOK)
	if v := e.version("/v1/prompts/hello"); v != 1 {
		t.Errorf("default serves version %d after a second draft, want 1", v)
	}

	// Saving the same content with set_active makes that same version
	// current: a commit of the pins file only.
	w = decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/hello", map[string]any{"template_source": "Hey {{ name }}", "set_active": active}), http.StatusOK)
	if w.Changed || !w.Active || w.Version != 3 {
		t.Fatalf("activation = %+v, want unchanged content, active, version 3", w)
	}
	if head := e.remote("rev-parse", "main"); head != w.Commit {
		t.Errorf("activation answered commit %s, remote is at %s", w.Commit, head)
	}
	if v := e.version("/v1/prompts/hello"); v != 3 {
		t.Errorf("default serves version %d after activation, want 3", v)
	}
	if out := e.remote("ls-tree", "--name-only", "main"); strings.Contains(out, "promptreg.pins.yaml") {
		t.Errorf("the pins file stays without pins: %s", out)
	}
	// Saving it again changes nothing.
	w = decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/hello", map[string]any{"template_source": "Hey {{ name }}"}), http.StatusOK)
	if w.Changed || w.Commit != e.remote("rev-parse", "main") {
		t.Errorf("identical save = %+v", w)
	}

	// A new prompt saved as a draft is not served at all, until it is
	// activated by a revert to its version.
	w = decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/fresh", map[string]any{"template_source": "new", "set_active": draft}), http.StatusCreated)
	if w.Active || w.Version != 1 {
		t.Fatalf("new draft = %+v", w)
	}
	if v := e.version("/v1/prompts/fresh"); v != 0 {
		t.Errorf("a new draft is served by default (version %d)", v)
	}
	if r := e.get("/v1/prompts"); strings.Contains(string(r.body), `"fresh"`) {
		t.Errorf("a new draft is listed: %s", r.body)
	}
	w = decodeWrite(t, e.write(http.MethodPost, "/v1/prompts/fresh/revert", map[string]any{"version": 1}), http.StatusOK)
	if !w.Active || w.Changed {
		t.Errorf("activation by revert = %+v", w)
	}
	if v := e.version("/v1/prompts/fresh"); v != 1 {
		t.Errorf("fresh served as version %d after activation, want 1", v)
	}

	// Deleting a prompt whose draft is pinned removes the pin with it.
	decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/fresh", map[string]any{"template_source": "newer", "set_active": draft}), http.StatusOK)
	decodeWrite(t, e.write(http.MethodDelete, "/v1/prompts/fresh", nil), http.StatusOK)
	if v := e.version("/v1/prompts/fresh"); v != 0 {
		t.Errorf("a deleted prompt is still served (pinned version %d)", v)
	}
	if out := e.remote("ls-tree", "--name-only", "main"); strings.Contains(out, "promptreg.pins.yaml") {
		t.Errorf("the delete left its pin: %s", out)
	}
	e.remote("fsck", "--strict")
}

// TestBrokenPinsFileRefusesWrites: a write would write the pins back
// without what they meant.
func TestBrokenPinsFileRefusesWrites(t *testing.T) {
	e := newWriteEnv(t, map[string]string{"hello.prompt": "Hello", "promptreg.pins.yaml": "default: ["})
	head := e.remote("rev-parse", "main")
	r := e.write(http.MethodPut, "/v1/prompts/hello", map[string]any{"template_source": "Hi", "set_active": false})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "promptreg.pins.yaml") {
		t.Errorf("draft with a broken pins file: %d %s", r.status, r.body)
	}
	if now := e.remote("rev-parse", "main"); now != head {
		t.Error("the refused write committed")
	}
}

// TestRenameKeepsHistory: an API rename writes the Promptreg-Renamed
// trailer, so the new name has the old one's versions, same numbers; a
// draft's pin follows the prompt.
func TestRenameKeepsHistory(t *testing.T) {
	e := newWriteEnv(t, map[string]string{"hello.prompt": "Hello {{ name }}"})
	decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/hello", map[string]any{"content": "Hi {{ name }}"}), http.StatusOK)
	decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/hello", map[string]any{"content": "Hey {{ name }}", "set_active": false}), http.StatusOK)
	w := decodeWrite(t, e.write(http.MethodPost, "/v1/prompts/hello/rename", map[string]any{"new_name": "greet"}), http.StatusOK)
	if w.Name != "greet" || w.Version != 3 {
		t.Fatalf("rename = %+v, want greet at version 3 (the same bytes)", w)
	}
	if got := e.remote("log", "-1", "--format=%(trailers:key=Promptreg-Renamed,valueonly)"); strings.TrimSpace(got) != "hello -> greet" {
		t.Errorf("rename trailer = %q", got)
	}
	if v := e.version("/v1/prompts/greet?version=1"); v != 1 {
		t.Errorf("greet?version=1 = %d, want the original version 1", v)
	}
	if v := e.version("/v1/prompts/greet"); v != 2 {
		t.Errorf("default serves greet version %d, want the pinned 2 (the pin moved with the rename)", v)
	}
	if v := e.version("/v1/prompts/hello"); v != 0 {
		t.Errorf("the old name is still served (version %d)", v)
	}
	if v := e.version("/v1/prompts/hello?version=2"); v != 2 {
		t.Errorf("the old name's versions are not readable: hello?version=2 = %d", v)
	}
	// A name that had versions of its own is refused: its history would
	// not follow.
	decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/old", map[string]any{"content": "old"}), http.StatusCreated)
	decodeWrite(t, e.write(http.MethodDelete, "/v1/prompts/old", nil), http.StatusOK)
	if r := e.write(http.MethodPost, "/v1/prompts/greet/rename", map[string]any{"new_name": "old"}); r.status != http.StatusConflict {
		t.Errorf("rename onto a name with a history: %d %s, want 409", r.status, r.body)
	}
}
