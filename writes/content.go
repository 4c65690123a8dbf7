package writes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
)

// Fields are the parts of a prompt a write may set one by one, under
// PromptLedger's names where it has them. A nil field keeps what the file
// has; Template nil on a new prompt is an error.
type Fields struct {
	Template     *string
	Description  *string
	OwnerTeam    *string // kept as metadata.owner_team
	Tags         *[]string
	Metadata     map[string]any
	Model        any // a name, or {provider, name|model_name, fallback}
	ModelName    *string
	Params       map[string]any
	InputSchema  any
	OutputSchema any
	// Name is written into the front matter (tracking mode: the file's
	// path does not name the prompt).
	Name *string
}

// empty reports whether f sets nothing.
func (f *Fields) empty() bool {
	return f.Template == nil && f.Description == nil && f.OwnerTeam == nil && f.Tags == nil &&
		f.Metadata == nil && f.Model == nil && f.ModelName == nil && f.Params == nil &&
		f.InputSchema == nil && f.OutputSchema == nil && f.Name == nil
}

// compose returns the file content of old (nil for a new prompt) with f
// applied. The front matter is edited as a YAML document, so the keys f
// does not set keep their order, style and comments.
func compose(old []byte, f Fields) ([]byte, error) {
	var doc yaml.Node
	body := ""
	if old != nil {
		header, b, _, ok := render.SplitFrontMatter(string(old))
		if !ok {
			return nil, registry.Errorf(registry.EUNPROCESSABLE, "the file's front matter is not terminated: send the whole file as content")
		}
		body = b
		if strings.TrimSpace(header) != "" {
			if err := yaml.Unmarshal([]byte(header), &doc); err != nil {
				return nil, registry.Errorf(registry.EUNPROCESSABLE, "the file's front matter is not valid YAML (%v): send the whole file as content", err)
			}
		}
	} else if f.Template == nil {
		return nil, registry.Errorf(registry.EINVALID, "a new prompt needs its template: send template_source or content")
	}
	if f.Template != nil {
		body = *f.Template
	}
	var m *yaml.Node
	if len(doc.Content) == 1 && doc.Content[0].Kind == yaml.MappingNode {
		m = doc.Content[0]
	} else if len(doc.Content) == 0 {
		m = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{m}}
	} else {
		return nil, registry.Errorf(registry.EUNPROCESSABLE, "the file's front matter is not a mapping: send the whole file as content")
	}

	set := func(key string, v any) error {
		var n yaml.Node
		if err := n.Encode(v); err != nil {
			return registry.Errorf(registry.EINVALID, "%s: %v", key, err)
		}
		setKey(m, key, &n)
		return nil
	}
	if f.Name != nil {
		if err := set("name", *f.Name); err != nil {
			return nil, err
		}
	}
	if f.Description != nil {
		if err := set("description", *f.Description); err != nil {
			return nil, err
		}
	}
	if f.Tags != nil {
		if err := set("tags", *f.Tags); err != nil {
			return nil, err
		}
	}
	if f.Metadata != nil {
		if err := set("metadata", f.Metadata); err != nil {
			return nil, err
		}
	}
	if f.OwnerTeam != nil {
		md := mappingAt(m, "metadata")
		var n yaml.Node
		if err := n.Encode(*f.OwnerTeam); err != nil {
			return nil, err
		}
		setKey(md, "owner_team", &n)
	}
	model := f.Model
	if pl, ok := model.(map[string]any); ok {
		// PromptLedger's {provider, model_name} is {provider, name} here.
		if n, ok := pl["model_name"]; ok {
			if _, has := pl["name"]; !has {
				pl["name"] = n
			}
			delete(pl, "model_name")
		}
	}
	if f.ModelName != nil {
		switch mm := model.(type) {
		case nil:
			model = map[string]any{"name": *f.ModelName}
		case map[string]any:
			if _, has := mm["name"]; !has {
				mm["name"] = *f.ModelName
			}
		}
	}
	if model != nil {
		if err := set("model", model); err != nil {
			return nil, err
		}
	}
	if f.Params != nil {
		if err := set("params", f.Params); err != nil {
			return nil, err
		}
	}
	if f.InputSchema != nil {
		if err := set("input_schema", f.InputSchema); err != nil {
			return nil, err
		}
	}
	if f.OutputSchema != nil {
		if err := set("output_schema", f.OutputSchema); err != nil {
			return nil, err
		}
	}

	if len(m.Content) == 0 {
		if strings.HasPrefix(body, "---") {
			// A body that starts like front matter needs an empty one
			// before it, or it would be read as front matter.
			return []byte("---\n---\n" + body), nil
		}
		return []byte(body), nil
	}
	var out bytes.Buffer
	out.WriteString("---\n")
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, registry.Errorf(registry.EINVALID, "front matter: %v", err)
	}
	enc.Close()
	out.WriteString("---\n")
	out.WriteString(body)
	return out.Bytes(), nil
}

// setKey sets key in the mapping m to v, in place if it is there.
func setKey(m *yaml.Node, key string, v *yaml.Node) {
	if v.Kind == yaml.DocumentNode && len(v.Content) == 1 {
		v = v.Content[0]
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			// Keep the comment written beside the old value.
			v.LineComment = m.Content[i+1].LineComment
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// mappingAt returns the mapping under key in m, made if missing or not a
// mapping.
func mappingAt(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.MappingNode {
			return m.Content[i+1]
		}
	}
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	setKey(m, key, n)
	return n
}

// hasKey reports whether the front matter of data sets key at its top level.
func hasKey(data []byte, key string) bool {
	header, _, _, ok := render.SplitFrontMatter(string(data))
	if !ok || header == "" {
		return false
	}
	var m map[string]any
	if yaml.Unmarshal([]byte(header), &m) != nil {
		return false
	}
	_, has := m[key]
	return has
}

// JSONValue decodes a JSON value into what yaml encodes as the same value:
// maps, slices, strings, and numbers as int64 or float64; null or nothing is
// nil.
func JSONValue(raw json.RawMessage) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	return numbers(v), nil
}

// numbers turns json.Numbers into int64 or float64, which yaml encodes as
// plain numbers.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}
