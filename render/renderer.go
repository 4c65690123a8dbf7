package render

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/promptreg/promptreg/internal/sizedcache"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render/jinja"
)

// Options configures a Renderer. Zero values take the defaults.
type Options struct {
	// CacheSize is how many compiled templates and schemas are kept;
	// default 4096.
	CacheSize int
	// CacheBytes bounds the memory they take, estimated from their source
	// (a compiled template measured 22-35 times its source); default
	// 128 MiB for the templates and as much for the schemas.
	CacheBytes int64
	// MaxOutput caps one template's output in bytes; default 1 MiB.
	MaxOutput int
	// Timeout caps one render's wall time; default 1 s.
	Timeout time.Duration
	// MaxRange caps the items one range() call produces; default 10,000.
	MaxRange int
}

// Renderer renders prompt versions with their variables. Compiled templates
// and input schemas are cached by content checksum, so a version is
// compiled once however often it is rendered. Safe for concurrent use.
type Renderer struct {
	templates *sizedcache.Cache[*jinja.Template]
	schemas   *sizedcache.Cache[*jsonschema.Schema]
	opts      jinja.Options
}

var _ registry.Renderer = (*Renderer)(nil)

// NewRenderer returns a Renderer.
func NewRenderer(opts Options) *Renderer {
	if opts.CacheSize <= 0 {
		opts.CacheSize = 4096
	}
	if opts.CacheBytes <= 0 {
		opts.CacheBytes = 128 << 20
	}
	t := sizedcache.New[*jinja.Template](opts.CacheSize, opts.CacheBytes)
	s := sizedcache.New[*jsonschema.Schema](opts.CacheSize, opts.CacheBytes)
	return &Renderer{templates: t, schemas: s, opts: jinja.Options{MaxOutput: opts.MaxOutput, Timeout: opts.Timeout, MaxRange: opts.MaxRange}}
}

// maxMissing bounds how many missing variables one render reports.
const maxMissing = 64

// Render renders e with the request's variables: schema defaults applied,
// the schema checked, then each template rendered (every section of a chat
// prompt on its own).
func (r *Renderer) Render(ctx context.Context, s *registry.Snapshot, e *registry.Entry, req registry.RenderRequest) (*registry.Rendered, error) {
	p := e.Prompt
	vars, err := decodeVariables(req.Variables)
	if err != nil {
		return nil, err
	}
	if len(p.InputSchema) > 0 {
		if err := r.applySchema(p, vars); err != nil {
			return nil, err
		}
	}
	mode := req.Undefined
	switch mode {
	case "":
		mode = p.Undefined
	case UndefinedStrict, UndefinedLenient:
	default:
		return nil, registry.Errorf(registry.EINVALID, "undefined must be %q or %q", UndefinedStrict, UndefinedLenient)
	}
	opts := r.opts
	opts.Strict = mode != UndefinedLenient
	opts.Loader = &loader{r: r, snap: s}
	// One deadline for the whole request: every section, and every
	// re-render that finds another missing variable, shares it.
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = jinja.DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	out := &registry.Rendered{Name: p.Name, Version: p.Version, Checksum: p.Checksum, Format: p.Format}
	if p.Format == registry.FormatChat {
		for i, m := range p.Messages {
			t, err := r.compile(p, i, m.Content)
			if err != nil {
				return nil, err
			}
			text, err := r.execute(ctx, t, vars, opts)
			if err != nil {
				return nil, err
			}
			out.Messages = append(out.Messages, registry.Message{Role: m.Role, Content: text})
		}
		return out, nil
	}
	t, err := r.compile(p, -1, p.Template)
	if err != nil {
		return nil, err
	}
	text, err := r.execute(ctx, t, vars, opts)
	if err != nil {
		return nil, err
	}
	out.Text = &text
	return out, nil
}

// execute renders t. Under strict rendering it reports every missing
// variable, not only the first: each one found is given a placeholder and
// the render repeated, at most maxMissing times (renders take microseconds).
func (r *Renderer) execute(ctx context.Context, t *jinja.Template, vars map[string]any, opts jinja.Options) (string, error) {
	var missing []string
	work := vars
	for {
		out, err := t.Render(ctx, work, opts)
		var ue *jinja.UndefinedError
		if err == nil {
			if len(missing) > 0 {
				return "", missingError(missing)
			}
			return out, nil
		}
		if !errors.As(err, &ue) || !opts.Strict || len(missing) >= maxMissing {
			if len(missing) > 0 {
				return "", missingError(missing)
			}
			return "", renderError(err)
		}
		if _, given := work[ue.Name]; given || ue.Name == "" {
			// An attribute or key missing from a given value.
			if len(missing) > 0 {
				return "", missingError(missing)
			}
			return "", renderError(err)
		}
		if len(missing) == 0 {
			work = make(map[string]any, len(vars)+4)
			for k, v := range vars {
				work[k] = v
			}
		}
		missing = append(missing, ue.Name)
		work[ue.Name] = ""
	}
}

func missingError(names []string) error {
	sort.Strings(names)
	return &registry.Error{
		Code:    registry.EUNPROCESSABLE,
		Message: "missing variables: " + strings.Join(names, ", ") + ` (render with "undefined": "lenient" to render them as empty)`,
		Details: map[string]any{"missing": names},
	}
}

// renderError maps the engine's errors to registry codes.
func renderError(err error) error {
	var le *jinja.LimitError
	if errors.As(err, &le) {
		if le.Limit == "timeout" && le.Err != nil && (errors.Is(le.Err, context.Canceled)) {
			return &registry.Error{Code: registry.ETIMEOUT, Message: "render cancelled", Err: err}
		}
		return &registry.Error{Code: registry.EUNPROCESSABLE, Message: "render stopped: " + le.Error(), Details: map[string]any{"limit": le.Limit}, Err: err}
	}
	var ue *jinja.UndefinedError
	if errors.As(err, &ue) {
		return &registry.Error{Code: registry.EUNPROCESSABLE, Message: ue.Error(), Err: err}
	}
	var re *jinja.RenderError
	if errors.As(err, &re) {
		if re.Kind == "InternalError" {
			// A recovered panic in the engine: a bug, logged with its
			// stack by the HTTP layer, never shown to the user.
			return &registry.Error{Code: registry.EINTERNAL, Message: "internal error", Err: err}
		}
		return &registry.Error{Code: registry.EUNPROCESSABLE, Message: "render failed: " + re.Error(), Err: err}
	}
	return &registry.Error{Code: registry.EUNPROCESSABLE, Message: "render failed: " + err.Error(), Err: err}
}

// compile returns the compiled template of section i of p (-1 for the whole
// body), from the cache when it was compiled before.
func (r *Renderer) compile(p *registry.Prompt, i int, src string) (*jinja.Template, error) {
	key := p.Checksum + "#" + strconv.Itoa(i)
	if t, ok := r.templates.Get(key); ok {
		return t, nil
	}
	t, err := jinja.Parse(p.Name, src)
	if err != nil {
		// Prompts are parsed when loaded; this is a partial whose body
		// cannot stand alone, or a bug.
		return nil, &registry.Error{Code: registry.EUNPROCESSABLE, Message: fmt.Sprintf("compile %s: %v", p.Name, err), Err: err}
	}
	r.templates.Add(key, t, compiledSize(len(src)))
	return t, nil
}

// compiledSize estimates the memory a template or schema compiled from n
// bytes of source holds.
func compiledSize(n int) int64 { return 32*int64(n) + 4096 }

// loader resolves includes by prompt name within one snapshot.
type loader struct {
	r    *Renderer
	snap *registry.Snapshot
}

func (l *loader) Load(name string) (*jinja.Template, error) {
	e, ok := l.snap.Get(name)
	if !ok {
		return nil, fmt.Errorf("no prompt %q at %s", name, l.snap.Commit.SHA)
	}
	return l.r.compile(e.Prompt, -1, e.Prompt.Template)
}

// decodeVariables decodes a JSON object of variables, keeping integers
// and key order as Jinja2 sees them. Nothing, or null, white space around
// it or not (a variables file ends in a newline), is no variables. JSON is
// UTF-8 (RFC 8259 §8.1): invalid bytes are refused, never rendered as
// U+FFFD into a prompt.
func decodeVariables(data []byte) (map[string]any, error) {
	if v := bytes.TrimSpace(data); len(v) == 0 || string(v) == "null" {
		return map[string]any{}, nil
	}
	if !utf8.Valid(data) {
		return nil, registry.Errorf(registry.EINVALID, "variables are not valid UTF-8")
	}
	vars, err := jinja.DecodeJSON(data)
	if errors.Is(err, jinja.ErrTooManyVariables) {
		return nil, registry.Errorf(registry.ETOOLARGE, "variables: %v", jinja.ErrTooManyVariables)
	}
	if err != nil {
		return nil, registry.Errorf(registry.EINVALID, "variables must be a JSON object: %v", err)
	}
	return vars, nil
}

// applySchema fills in the schema's top-level defaults for variables not
// given, then validates the variables against the schema.
func (r *Renderer) applySchema(p *registry.Prompt, vars map[string]any) error {
	sch, ok := r.schemas.Get(p.Checksum)
	if !ok {
		var err error
		if sch, err = CompileSchema(p.InputSchema); err != nil {
			return &registry.Error{Code: registry.EUNPROCESSABLE, Message: "input_schema does not compile: " + err.Error(), Err: err}
		}
		r.schemas.Add(p.Checksum, sch, compiledSize(len(p.InputSchema)))
	}
	var raw struct {
		Properties map[string]struct {
			Default json.RawMessage `json:"default"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(p.InputSchema, &raw); err == nil {
		for name, prop := range raw.Properties {
			if _, given := vars[name]; given || len(prop.Default) == 0 {
				continue
			}
			if v, err := jinja.DecodeJSONValue(prop.Default); err == nil {
				vars[name] = v
			}
		}
	}
	inst := map[string]any{}
	for k, v := range vars {
		inst[k] = jinja.Plain(v)
	}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			problems := schemaProblems(ve)
			return &registry.Error{Code: registry.EUNPROCESSABLE, Message: "variables do not match the input schema: " + strings.Join(problems, "; "),
				Details: map[string]any{"problems": problems}}
		}
		return &registry.Error{Code: registry.EUNPROCESSABLE, Message: "variables do not match the input schema: " + err.Error()}
	}
	return nil
}

// schemaPrinter formats schema validation messages.
var schemaPrinter = message.NewPrinter(language.English)

// schemaProblems flattens a validation error into one line per failed
// leaf: "/path: message".
func schemaProblems(ve *jsonschema.ValidationError) []string {
	var out []string
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			loc := "/" + strings.Join(e.InstanceLocation, "/")
			out = append(out, loc+": "+e.ErrorKind.LocalizedString(schemaPrinter))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.Strings(out)
	return out
}
