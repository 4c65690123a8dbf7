package llm

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/promptreg/promptreg/registry"
)

//go:embed models.yaml
var embeddedModels []byte

// Model is a catalogue entry: a provider's model, the other names it
// answers to, and its prices in USD per million tokens (nil: unknown).
type Model struct {
	Provider      string   `yaml:"provider" json:"provider"`
	Name          string   `yaml:"name" json:"name"`
	Aliases       []string `yaml:"aliases,omitempty" json:"aliases,omitempty"`
	ContextWindow int      `yaml:"context_window,omitempty" json:"context_window,omitempty"`
	InputPer1M    *float64 `yaml:"input_per_1m" json:"input_per_1m"`
	OutputPer1M   *float64 `yaml:"output_per_1m" json:"output_per_1m"`
	// CachedInputPer1M prices the prompt tokens read from the provider's
	// cache; nil prices them as input.
	CachedInputPer1M *float64 `yaml:"cached_input_per_1m,omitempty" json:"cached_input_per_1m,omitempty"`
}

// Catalog is the model catalogue: the embedded models.yaml and an optional
// override file. It is immutable and safe for concurrent use.
type Catalog struct {
	models []Model        // by provider, then name
	index  map[string]int // provider + "/" + name or alias → models index
}

// LoadCatalog returns the embedded catalogue with the models of the YAML
// file at overridePath ("" for none) added, or replacing those with the same
// provider and name. Errors: EINVALID for a file that does not parse or
// holds an invalid entry; EINTERNAL when it cannot be read.
func LoadCatalog(overridePath string) (*Catalog, error) {
	models, err := parseCatalog(embeddedModels)
	if err != nil {
		return nil, fmt.Errorf("embedded models.yaml: %w", err)
	}
	if overridePath != "" {
		b, err := os.ReadFile(overridePath)
		if err != nil {
			return nil, &registry.Error{Code: registry.EINTERNAL, Message: "read model catalogue " + overridePath, Err: err}
		}
		more, err := parseCatalog(b)
		if err != nil {
			return nil, fmt.Errorf("model catalogue %s: %w", overridePath, err)
		}
		pos := map[string]int{}
		for i, m := range models {
			pos[m.Provider+"/"+m.Name] = i
		}
		for _, m := range more {
			if i, ok := pos[m.Provider+"/"+m.Name]; ok {
				models[i] = m
				continue
			}
			pos[m.Provider+"/"+m.Name] = len(models)
			models = append(models, m)
		}
	}
	// The list is sorted for Models; names are indexed first, so a model's
	// own name beats another's alias, then aliases in file order, so the
	// override's beat the embedded ones.
	order := make([]int, len(models))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := models[order[a]], models[order[b]]
		if x.Provider != y.Provider {
			return x.Provider < y.Provider
		}
		return x.Name < y.Name
	})
	sorted := make([]Model, len(models))
	pos := make([]int, len(models)) // file position → sorted position
	for k, i := range order {
		sorted[k], pos[i] = models[i], k
	}
	c := &Catalog{index: map[string]int{}}
	for i, m := range models {
		c.index[m.Provider+"/"+m.Name] = pos[i]
	}
	for i, m := range models {
		for _, a := range m.Aliases {
			if j, ok := c.index[m.Provider+"/"+a]; ok && sorted[j].Name == a {
				continue
			}
			c.index[m.Provider+"/"+a] = pos[i]
		}
	}
	for i := range sorted {
		var kept []string
		for _, a := range sorted[i].Aliases {
			if c.index[sorted[i].Provider+"/"+a] == i && a != sorted[i].Name {
				kept = append(kept, a)
			}
		}
		sorted[i].Aliases = kept
	}
	c.models = sorted
	return c, nil
}

func parseCatalog(b []byte) ([]Model, error) {
	var f struct {
		Models []Model `yaml:"models"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, registry.Errorf(registry.EINVALID, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	seen := map[string]bool{}
	for i := range f.Models {
		m := &f.Models[i]
		m.Provider = strings.ToLower(strings.TrimSpace(m.Provider))
		m.Name = strings.ToLower(strings.TrimSpace(m.Name))
		for j := range m.Aliases {
			m.Aliases[j] = strings.ToLower(strings.TrimSpace(m.Aliases[j]))
		}
		switch {
		case m.Provider != OpenAI && m.Provider != Anthropic && m.Provider != Gemini:
			return nil, registry.Errorf(registry.EINVALID, "model %d (%s): provider %q: want openai, anthropic or gemini", i+1, m.Name, m.Provider)
		case m.Name == "":
			return nil, registry.Errorf(registry.EINVALID, "model %d: no name", i+1)
		case seen[m.Provider+"/"+m.Name]:
			return nil, registry.Errorf(registry.EINVALID, "model %s/%s: listed twice", m.Provider, m.Name)
		case m.ContextWindow < 0:
			return nil, registry.Errorf(registry.EINVALID, "model %s: negative context_window", m.Name)
		}
		seen[m.Provider+"/"+m.Name] = true
		for _, p := range []*float64{m.InputPer1M, m.OutputPer1M, m.CachedInputPer1M} {
			if p != nil && !(*p >= 0) {
				return nil, registry.Errorf(registry.EINVALID, "model %s: a price must be a number ≥ 0", m.Name)
			}
		}
	}
	return f.Models, nil
}

// Models returns the catalogue's models by provider and name (for GET
// /v1/models).
func (c *Catalog) Models() []Model {
	out := make([]Model, len(c.models))
	copy(out, c.models)
	for i := range out {
		out[i].Aliases = append([]string(nil), out[i].Aliases...)
	}
	return out
}

// Lookup finds a model by its name or an alias ("" provider is openai;
// Gemini's "models/" prefix is ignored; case does not matter).
func (c *Catalog) Lookup(provider, model string) (Model, bool) {
	provider = strings.ToLower(strings.TrimSpace(provider))
	if provider == "" {
		provider = OpenAI
	}
	model = strings.ToLower(strings.TrimSpace(model))
	if provider == Gemini {
		model = strings.TrimPrefix(model, "models/")
	}
	i, ok := c.index[provider+"/"+model]
	if !ok {
		return Model{}, false
	}
	return c.models[i], true
}

// Cost prices u for model in USD: the uncached prompt tokens at the input
// price, the cached ones at the cached price (not twice), the completion
// tokens at the output price. Nil when the model or its prices are
// unknown: never 0 for "unknown".
func (c *Catalog) Cost(provider, model string, u registry.Usage) *float64 {
	m, ok := c.Lookup(provider, model)
	if !ok || m.InputPer1M == nil || m.OutputPer1M == nil {
		return nil
	}
	in, out := *m.InputPer1M, *m.OutputPer1M
	cachedRate := in
	if m.CachedInputPer1M != nil {
		cachedRate = *m.CachedInputPer1M
	}
	cached := min(max(u.CachedTokens, 0), max(u.PromptTokens, 0))
	uncached := max(u.PromptTokens, 0) - cached
	cost := (float64(uncached)*in + float64(cached)*cachedRate + float64(max(u.CompletionTokens, 0))*out) / 1e6
	return &cost
}
