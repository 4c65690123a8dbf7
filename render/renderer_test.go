package render_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/memsource"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
)

// snapshot builds the snapshot of one commit holding files.
func snapshot(t *testing.T, files map[string]string) *registry.Snapshot {
	t.Helper()
	src := memsource.New()
	sha := src.Add("refs/heads/main", files)
	s, err := snapshots.Build(context.Background(), src, render.Parser{}, sha, "refs/heads/main")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Problems) > 0 {
		t.Fatalf("problems: %v", s.Problems)
	}
	return s
}

func renderOne(t *testing.T, r *render.Renderer, s *registry.Snapshot, name, vars, undefined string) (*registry.Rendered, error) {
	t.Helper()
	e, ok := s.Get(name)
	if !ok {
		t.Fatalf("no prompt %s", name)
	}
	return r.Render(context.Background(), s, e, registry.RenderRequest{Variables: []byte(vars), Undefined: undefined})
}

func TestRender(t *testing.T) {
	s := snapshot(t, map[string]string{
		"text.prompt":            "Hello {{ name }}, you are {{ age }}.",
		"chat.prompt":            "system:\nYou help {{ company | default('ACME') }}.\n{% include \"partials/safety\" %}\n\nuser:\n{{ question }}",
		"partials/safety.prompt": "Be safe, {{ name }}.",
		"schema.prompt":          "---\ninput_schema:\n  type: object\n  required: [n]\n  properties:\n    n: {type: integer, minimum: 1}\n    tier: {type: string, default: standard}\n---\n{{ n }} {{ tier }}",
		"lenient.prompt":         "---\nundefined: lenient\n---\n[{{ missing }}]",
		"ordered.prompt":         "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
		"macros/fmt.prompt":      "{% macro money(x) %}${{ '%.2f' % x }}{% endmacro %}",
		"imports.prompt":         "{% from \"macros/fmt\" import money %}{% import \"macros/fmt\" as f %}{{ money(price) }} {{ f.money(1) }}",
	})
	r := render.NewRenderer(render.Options{})
	tests := []struct {
		name, prompt, vars, undefined string
		want                          string // text, or role:content|… for chat
		code                          string
		details                       string
	}{
		{"text", "text", `{"name":"Ada","age":36}`, "", "Hello Ada, you are 36.", "", ""},
		{"chat with a partial", "chat", `{"name":"Ada","question":"Why?"}`, "", "system:You help ACME.\nBe safe, Ada.|user:Why?", "", ""},
		{"every missing variable listed", "text", `{}`, "", "", registry.EUNPROCESSABLE, "age, name"},
		{"lenient by request", "text", `{"name":"Ada"}`, "lenient", "Hello Ada, you are .", "", ""},
		{"lenient by front matter", "lenient", `{}`, "", "[]", "", ""},
		{"strict by request overrides front matter", "lenient", `{}`, "strict", "", registry.EUNPROCESSABLE, "missing"},
		{"schema default applied", "schema", `{"n":2}`, "", "2 standard", "", ""},
		{"schema violation", "schema", `{"n":0}`, "", "", registry.EUNPROCESSABLE, "/n"},
		{"schema required", "schema", `{}`, "", "", registry.EUNPROCESSABLE, "missing property"},
		{"variables keep key order", "ordered", `{"d":{"z":1,"a":2}}`, "", "z=1;a=2;", "", ""},
		{"macros imported from another prompt", "imports", `{"price": 3.5}`, "", "$3.50 $1.00", "", ""},
		{"variables not an object", "text", `[1,2]`, "", "", registry.EINVALID, ""},
		{"bad undefined mode", "text", `{}`, "sometimes", "", registry.EINVALID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := renderOne(t, r, s, tt.prompt, tt.vars, tt.undefined)
			if tt.code != "" {
				if got := registry.ErrorCode(err); got != tt.code {
					t.Fatalf("err = %v (%s), want %s", err, got, tt.code)
				}
				if !strings.Contains(registry.ErrorMessage(err), tt.details) {
					t.Errorf("message %q lacks %q", registry.ErrorMessage(err), tt.details)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got string
			if out.Text != nil {
				got = *out.Text
			} else {
				var parts []string
				for _, m := range out.Messages {
					parts = append(parts, m.Role+":"+m.Content)
				}
				got = strings.Join(parts, "|")
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if out.Checksum == "" || out.Name != tt.prompt {
				t.Errorf("rendered name %q checksum %q", out.Name, out.Checksum)
			}
		})
	}
	_, err := renderOne(t, r, s, "text", `{}`, "")
	if d, ok := registry.ErrorDetails(err).(map[string]any); !ok || !reflect.DeepEqual(d["missing"], []string{"age", "name"}) {
		t.Errorf("details = %#v, want the missing names", registry.ErrorDetails(err))
	}
}

func TestRenderLimits(t *testing.T) {
	s := snapshot(t, map[string]string{
		"slow.prompt": "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}done",
		"big.prompt":  "{% for i in range(10000) %}{{ 'x' * 1000 }}{% endfor %}",
	})
	r := render.NewRenderer(render.Options{Timeout: 50_000_000})
	for _, name := range []string{"slow", "big"} {
		if _, err := renderOne(t, r, s, name, `{}`, ""); registry.ErrorCode(err) != registry.EUNPROCESSABLE || !strings.Contains(registry.ErrorMessage(err), "render stopped") {
			t.Errorf("%s: err = %v, want a limit error", name, err)
		}
	}
}

// TestRenderHasOneDeadline: the time limit bounds the whole request, not
// each chat section or each search for a missing variable.
func TestRenderHasOneDeadline(t *testing.T) {
	spin := "{% for i in range(10000) %}{% for j in range(10000) %}{% endfor %}{% endfor %}"
	body := ""
	for i := 0; i < 10; i++ {
		body += "user:\n" + spin + "\n\n"
	}
	s := snapshot(t, map[string]string{"slow.prompt": body})
	r := render.NewRenderer(render.Options{Timeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := renderOne(t, r, s, "slow", `{}`, "")
	if registry.ErrorCode(err) != registry.EUNPROCESSABLE {
		t.Fatalf("err = %v, want a limit error", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("10 sections of 200 ms each took %v: the limit must bound the request", d)
	}
}
