package writes

import (
	"strings"
	"testing"

	"github.com/promptreg/promptreg/render"
)

func ptr[T any](v T) *T { return &v }

// TestComposeKeepsWhatItDoesNotSet: a field write is a small diff — the
// keys it does not set keep their order, style and comments, and the body
// stays unless the template is sent.
func TestComposeKeepsWhatItDoesNotSet(t *testing.T) {
	old := "---\n# owned by support\ndescription: old   # shown in lists\ntags: [a, b]\ncustom: {x: 1}\n---\nHello {{ name }}\n"
	got, err := compose([]byte(old), Fields{Description: ptr("new"), OwnerTeam: ptr("cs")})
	if err != nil {
		t.Fatal(err)
	}
	want := "---\n# owned by support\ndescription: new # shown in lists\ntags: [a, b]\ncustom: {x: 1}\nmetadata:\n  owner_team: cs\n---\nHello {{ name }}\n"
	if string(got) != want {
		t.Errorf("compose =\n%s\nwant\n%s", got, want)
	}
	p, err := render.Parser{}.ParsePrompt("p.prompt", "p", got)
	if err != nil || p.Description != "new" || p.Metadata["owner_team"] != "cs" || p.Extra["custom"] == nil {
		t.Errorf("parsed = %+v, %v", p, err)
	}
}

func TestComposeNewPrompt(t *testing.T) {
	// A template alone is a file without front matter.
	got, err := compose(nil, Fields{Template: ptr("Hi {{ x }}")})
	if err != nil || string(got) != "Hi {{ x }}" {
		t.Errorf("compose = %q, %v", got, err)
	}
	// A body that starts like front matter gets an empty one first.
	got, err = compose(nil, Fields{Template: ptr("---\nnot yaml")})
	if err != nil || string(got) != "---\n---\n---\nnot yaml" {
		t.Errorf("compose = %q, %v", got, err)
	}
	if p, err := (render.Parser{}).ParsePrompt("p.prompt", "p", got); err != nil || p.Template != "---\nnot yaml" {
		t.Errorf("parsed = %+v, %v", p, err)
	}
	// PromptLedger's model shape becomes ours; numbers stay numbers.
	model, _ := JSONValue([]byte(`{"provider":"openai","model_name":"gpt-4o-mini"}`))
	params, _ := JSONValue([]byte(`{"temperature":0.2,"max_tokens":300}`))
	got, err = compose(nil, Fields{Template: ptr("x"), Model: model, Params: params.(map[string]any)})
	if err != nil {
		t.Fatal(err)
	}
	p, err := render.Parser{}.ParsePrompt("p.prompt", "p", got)
	if err != nil || p.Model["name"] != "gpt-4o-mini" || p.Params["max_tokens"] != 300 || p.Params["temperature"] != 0.2 {
		t.Errorf("parsed model %v params %v (%v) from\n%s", p.Model, p.Params, err, got)
	}
	if strings.Contains(string(got), "model_name") {
		t.Errorf("model_name kept:\n%s", got)
	}
	if _, err := compose(nil, Fields{Description: ptr("no template")}); err == nil {
		t.Error("a new prompt without a template composed")
	}
	if _, err := compose([]byte("---\n[unclosed\n---\nx"), Fields{Description: ptr("d")}); err == nil {
		t.Error("broken front matter composed")
	}
}

func TestParseAuthor(t *testing.T) {
	for in, want := range map[string][2]string{
		"Ada Lovelace <ada@example.com>": {"Ada Lovelace", "ada@example.com"},
		"ada":                            {"ada", ""},
		"  ":                             {"", ""},
	} {
		if n, e := ParseAuthor(in); n != want[0] || e != want[1] {
			t.Errorf("ParseAuthor(%q) = %q, %q", in, n, e)
		}
	}
}
