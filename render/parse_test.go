package render

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render/jinja"
)

func TestParsePrompt(t *testing.T) {
	tests := []struct {
		name, path, file string
		want             func(t *testing.T, p *registry.Prompt)
	}{
		{
			name: "chat prompt with front matter",
			path: "support/welcome.prompt",
			file: "---\ndescription: Greets\ntags: [a, b]\nmodel: {provider: openai, name: gpt-4o-mini}\nparams: {temperature: 0.3}\nowner: x\ninput_schema:\n  type: object\n  required: [customer_name]\n---\nsystem:\nYou help {{ company | default('ACME') }}.\n{% include \"partials/safety\" %}\n\nuser:\nHi, I am {{ customer_name }}.\n",
			want: func(t *testing.T, p *registry.Prompt) {
				if p.Name != "support/welcome" || p.Format != registry.FormatChat {
					t.Errorf("name, format = %q, %q", p.Name, p.Format)
				}
				wantMsgs := []registry.Message{
					{Role: "system", Content: "You help {{ company | default('ACME') }}.\n{% include \"partials/safety\" %}"},
					{Role: "user", Content: "Hi, I am {{ customer_name }}."},
				}
				if !reflect.DeepEqual(p.Messages, wantMsgs) {
					t.Errorf("messages = %#v, want %#v", p.Messages, wantMsgs)
				}
				if got, want := p.Variables, []string{"company", "customer_name"}; !reflect.DeepEqual(got, want) {
					t.Errorf("variables = %v, want %v", got, want)
				}
				if got, want := p.References, []string{"partials/safety"}; !reflect.DeepEqual(got, want) {
					t.Errorf("references = %v, want %v", got, want)
				}
				if p.Extra["owner"] != "x" {
					t.Errorf("extra = %v, want the unknown key kept", p.Extra)
				}
				if p.Model["provider"] != "openai" || p.Params["temperature"] != 0.3 {
					t.Errorf("model, params = %v, %v", p.Model, p.Params)
				}
				var schema map[string]any
				if err := json.Unmarshal(p.InputSchema, &schema); err != nil || schema["type"] != "object" {
					t.Errorf("input_schema = %s (%v)", p.InputSchema, err)
				}
				if p.BodyLine != 11 {
					t.Errorf("body line = %d, want 11", p.BodyLine)
				}
			},
		},
		{
			name: "plain jinja file is a text prompt",
			path: "summarize.j2",
			file: "Summarize {{ text }} in {{ n }} words.",
			want: func(t *testing.T, p *registry.Prompt) {
				if p.Name != "summarize" || p.Format != registry.FormatText || p.Template != "Summarize {{ text }} in {{ n }} words." {
					t.Errorf("got %q %q %q", p.Name, p.Format, p.Template)
				}
				if p.Tags == nil || p.References == nil {
					t.Errorf("tags and references must encode as [] not null")
				}
			},
		},
		{
			name: "front matter name overrides the path",
			path: "old/place.prompt",
			file: "---\nname: new/place\n---\nhello",
			want: func(t *testing.T, p *registry.Prompt) {
				if p.Name != "new/place" {
					t.Errorf("name = %q, want new/place", p.Name)
				}
			},
		},
		{
			name: "role word inside a line is not a marker",
			path: "t.prompt",
			file: "The user: asked\nsystem: is down",
			want: func(t *testing.T, p *registry.Prompt) {
				if p.Format != registry.FormatText {
					t.Errorf("format = %q, want text", p.Format)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, _ := registry.NameFromPath("", registry.DefaultExtensions, tt.path)
			p, err := Parser{}.ParsePrompt(tt.path, name, []byte(tt.file))
			if err != nil {
				t.Fatalf("ParsePrompt: %v", err)
			}
			tt.want(t, p)
		})
	}
}

func TestParsePromptProblems(t *testing.T) {
	tests := []struct {
		name, path, file string
		line             int
		msg              string
	}{
		{"bad yaml reports the file line", "a.prompt", "---\ndescription: ok\ntags: [a\n---\nbody", 0, "front matter"},
		{"unterminated front matter", "a.prompt", "---\ndescription: x\nbody", 1, "no closing ---"},
		{"jinja syntax error at its file line", "a.prompt", "---\ndescription: x\n---\nline one\n{% if x %}never closed", 5, ""},
		{"jinja error inside a chat section", "a.prompt", "system:\nok\n\nuser:\n{{ broken( }}", 5, ""},
		{"text before the first role", "a.prompt", "hello\nsystem:\nx", 1, "before the first role"},
		{"reserved name", "x/versions.prompt", "hi", 0, "reserved"},
		{"bad name in front matter", "a.prompt", "---\nname: ../etc/passwd\n---\nhi", 0, "segment"},
		{"invalid schema", "a.prompt", "---\ninput_schema: {type: 12}\n---\nhi", 0, "input_schema"},
		{"schema with an external ref", "a.prompt", "---\ninput_schema: {$ref: 'file:///etc/passwd'}\n---\nhi", 0, "input_schema"},
		{"not utf-8", "a.prompt", "\xff\xfe", 0, "UTF-8"},
		{"bad undefined mode", "a.prompt", "---\nundefined: loose\n---\nhi", 0, "undefined"},
		{"wrong type for tags", "a.prompt", "---\ntags: {a: 1}\n---\nhi", 0, "front matter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, _ := registry.NameFromPath("", registry.DefaultExtensions, tt.path)
			_, err := Parser{}.ParsePrompt(tt.path, name, []byte(tt.file))
			prob, ok := err.(*registry.Problem)
			if !ok {
				t.Fatalf("err = %v (%T), want *registry.Problem", err, err)
			}
			if prob.Path != tt.path {
				t.Errorf("path = %q, want %q", prob.Path, tt.path)
			}
			if tt.line != 0 && prob.Line != tt.line {
				t.Errorf("line = %d, want %d (%v)", prob.Line, tt.line, prob)
			}
			if !strings.Contains(prob.Message, tt.msg) {
				t.Errorf("message = %q, want it to contain %q", prob.Message, tt.msg)
			}
		})
	}
}

// A schema with several faults gets the same message every time, its
// faults sorted: the JSON Schema library reports them in map order.
func TestSchemaErrorIsDeterministic(t *testing.T) {
	file := []byte("---\ninput_schema:\n  properties: {d, a, c, b}\n---\nx\n")
	_, err := Parser{}.ParsePrompt("p.prompt", "p", file)
	want := "p.prompt: input_schema: not a valid JSON Schema: /properties/a: got null, want boolean or object; " +
		"/properties/b: got null, want boolean or object; /properties/c: got null, want boolean or object; /properties/d: got null, want boolean or object"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	for range 20 {
		if _, again := (Parser{}).ParsePrompt("p.prompt", "p", file); again.Error() != err.Error() {
			t.Fatalf("parse again: %v, then %v", err, again)
		}
	}
}

// No variables, or null, with white space around or not, are no
// variables: `promptreg render --vars FILE` reads a file ending in a
// newline.
func TestDecodeVariablesNull(t *testing.T) {
	for _, in := range []string{"", " \n", "null", "null\n", " null "} {
		vars, err := decodeVariables([]byte(in))
		if err != nil || len(vars) != 0 {
			t.Errorf("decodeVariables(%q) = %v, %v; want no variables", in, vars, err)
		}
	}
}

// Variables are JSON, which is UTF-8: invalid bytes, in a value or a name,
// are refused rather than rendered as U+FFFD.
func TestDecodeVariablesInvalidUTF8(t *testing.T) {
	for _, in := range []string{"{\"text\":\"\xff\xfe\"}", "{\"\xc3\x28\":1}", "{\"a\":[\"ok\",\"\xed\xa0\x80\"]}"} {
		_, err := decodeVariables([]byte(in))
		if registry.ErrorCode(err) != registry.EINVALID {
			t.Errorf("decodeVariables(%q) = %v, want %s", in, err, registry.EINVALID)
		}
	}
}

// More than jinja.MaxVariables variables are refused as too large (413).
func TestDecodeVariablesTooMany(t *testing.T) {
	var b strings.Builder
	b.WriteString("{")
	for i := range jinja.MaxVariables + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"v` + strconv.Itoa(i) + `":0`)
	}
	b.WriteString("}")
	if _, err := decodeVariables([]byte(b.String())); registry.ErrorCode(err) != registry.ETOOLARGE {
		t.Fatalf("%d variables: %v, want %s", jinja.MaxVariables+1, err, registry.ETOOLARGE)
	}
}
