package llm

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

func loadCatalog(t *testing.T, override string) *Catalog {
	t.Helper()
	path := ""
	if override != "" {
		path = filepath.Join(t.TempDir(), "models.yaml")
		if err := os.WriteFile(path, []byte(override), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := LoadCatalog(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCost(t *testing.T, c *Catalog, provider, model string, u registry.Usage, want float64) {
	t.Helper()
	got := c.Cost(provider, model, u)
	if got == nil {
		t.Fatalf("%s/%s: got no cost, want %v", provider, model, want)
	}
	if math.Abs(*got-want) > 1e-12 {
		t.Errorf("%s/%s: got cost %v, want %v", provider, model, *got, want)
	}
}

func TestCatalogPrices(t *testing.T) {
	c := loadCatalog(t, "")
	million := registry.Usage{PromptTokens: 1_000_000, CompletionTokens: 1_000_000}
	for _, tc := range []struct {
		provider, model string
		want            float64 // 1M in + 1M out
	}{
		{"openai", "gpt-4o", 12.50},
		{"openai", "gpt-4o-mini", 0.75},
		{"openai", "gpt-4.1", 10},
		{"openai", "gpt-4.1-mini", 2},
		{"openai", "gpt-4.1-nano", 0.50},
		{"openai", "o3", 10},
		{"openai", "o4-mini", 5.50},
		{"openai", "gpt-5", 11.25},
		{"openai", "gpt-5-mini", 2.25},
		{"openai", "gpt-5-nano", 0.45},
		{"anthropic", "claude-opus-4", 90},
		{"anthropic", "claude-sonnet-4", 18},
		{"anthropic", "claude-3-7-sonnet", 18},
		{"anthropic", "claude-3-5-haiku", 4.80},
		{"anthropic", "claude-haiku-4-5", 6},
		{"anthropic", "claude-sonnet-4-5", 18},
		{"gemini", "gemini-2.5-pro", 11.25},
		{"gemini", "gemini-2.5-flash", 2.80},
		{"gemini", "gemini-2.5-flash-lite", 0.50},
		{"gemini", "gemini-2.0-flash", 0.50},
	} {
		wantCost(t, c, tc.provider, tc.model, million, tc.want)
	}
}

func TestCatalogCachedTokensPricedOnce(t *testing.T) {
	c := loadCatalog(t, "")
	// gpt-4o: 2.50 in, 1.25 cached, 10 out. 1,000 prompt tokens of which
	// 400 cached, 100 out: 600×2.50 + 400×1.25 + 100×10 per million.
	wantCost(t, c, "openai", "gpt-4o", registry.Usage{PromptTokens: 1000, CachedTokens: 400, CompletionTokens: 100}, (600*2.50+400*1.25+100*10)/1e6)
	// More cached than prompt tokens (a confused server) is capped.
	wantCost(t, c, "openai", "gpt-4o", registry.Usage{PromptTokens: 100, CachedTokens: 400}, 100*1.25/1e6)
	// A known model with no usage costs 0, not nil.
	wantCost(t, c, "openai", "gpt-4o", registry.Usage{}, 0)
}

func TestCatalogAliases(t *testing.T) {
	c := loadCatalog(t, "")
	for _, tc := range []struct{ provider, alias, name string }{
		{"anthropic", "claude-3-5-haiku-latest", "claude-3-5-haiku"},
		{"anthropic", "claude-3-5-haiku-20241022", "claude-3-5-haiku"},
		{"anthropic", "claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"anthropic", "claude-3-7-sonnet-latest", "claude-3-7-sonnet"},
		{"openai", "gpt-4o-2024-08-06", "gpt-4o"},
		{"openai", "GPT-4o-mini-2024-07-18", "gpt-4o-mini"},
		{"", "gpt-5-2025-08-07", "gpt-5"},
		{"gemini", "models/gemini-2.5-flash", "gemini-2.5-flash"},
		{"gemini", "gemini-flash-latest", "gemini-2.5-flash"},
	} {
		m, ok := c.Lookup(tc.provider, tc.alias)
		if !ok || m.Name != tc.name {
			t.Errorf("%s/%s: got %q, %v, want %s", tc.provider, tc.alias, m.Name, ok, tc.name)
		}
	}
	// A dated snapshot with a price of its own is not an alias.
	wantCost(t, c, "openai", "gpt-4o-2024-05-13", registry.Usage{PromptTokens: 1e6}, 5)
}

func TestCatalogUnknownIsNil(t *testing.T) {
	c := loadCatalog(t, "")
	for _, tc := range [][2]string{{"openai", "llama3.1:8b"}, {"anthropic", "gpt-4o"}, {"mistral", "gpt-4o"}, {"openai", ""}} {
		if got := c.Cost(tc[0], tc[1], registry.Usage{PromptTokens: 10}); got != nil {
			t.Errorf("%s/%s: got %v, want nil", tc[0], tc[1], *got)
		}
	}
}

func TestCatalogOverride(t *testing.T) {
	c := loadCatalog(t, `
models:
  # replaces the embedded entry, its aliases with it
  - {provider: openai, name: gpt-4o, aliases: [gpt-4o-custom], input_per_1m: 1, output_per_1m: 2}
  # a new model, a local one priced at nothing
  - {provider: openai, name: llama3.1:8b, input_per_1m: 0, output_per_1m: 0, context_window: 131072}
  # a model whose price is not known
  - {provider: gemini, name: gemini-3-pro-preview, context_window: 1048576}
  # takes an alias the embedded catalogue gives another model
  - {provider: anthropic, name: claude-next, aliases: [claude-3-5-haiku-latest], input_per_1m: 9, output_per_1m: 9}
`)
	wantCost(t, c, "openai", "gpt-4o", registry.Usage{PromptTokens: 1e6, CompletionTokens: 1e6}, 3)
	wantCost(t, c, "openai", "gpt-4o-custom", registry.Usage{PromptTokens: 1e6}, 1)
	if _, ok := c.Lookup("openai", "gpt-4o-2024-08-06"); ok {
		t.Error("the replaced entry's alias survived")
	}
	wantCost(t, c, "openai", "llama3.1:8b", registry.Usage{PromptTokens: 500}, 0)
	if got := c.Cost("gemini", "gemini-3-pro-preview", registry.Usage{PromptTokens: 5}); got != nil {
		t.Errorf("got %v for a model without prices, want nil", *got)
	}
	if m, _ := c.Lookup("anthropic", "claude-3-5-haiku-latest"); m.Name != "claude-next" {
		t.Errorf("the alias resolves to %q, want the override's", m.Name)
	}
	wantCost(t, c, "anthropic", "claude-3-5-haiku", registry.Usage{PromptTokens: 1e6}, 0.80)
	// Models lists each model once, sorted, aliases where they resolve.
	var prev string
	for _, m := range c.Models() {
		key := m.Provider + "/" + m.Name
		if key <= prev {
			t.Errorf("models not sorted: %s after %s", key, prev)
		}
		prev = key
		if m.Name == "claude-3-5-haiku" {
			for _, a := range m.Aliases {
				if a == "claude-3-5-haiku-latest" {
					t.Error("Models lists an alias taken by another model")
				}
			}
		}
	}
}

func TestCatalogOverrideErrors(t *testing.T) {
	for name, body := range map[string]string{
		"unknown key":      "models:\n  - {provider: openai, name: x, input_per_1M: 1}\n",
		"unknown provider": "models:\n  - {provider: mistral, name: x}\n",
		"no name":          "models:\n  - {provider: openai}\n",
		"negative price":   "models:\n  - {provider: openai, name: x, input_per_1m: -1, output_per_1m: 1}\n",
		"listed twice":     "models:\n  - {provider: openai, name: x}\n  - {provider: openai, name: X}\n",
		"not YAML":         "models: [\n",
	} {
		path := filepath.Join(t.TempDir(), "m.yaml")
		os.WriteFile(path, []byte(body), 0o600)
		if _, err := LoadCatalog(path); registry.ErrorCode(err) != registry.EINVALID {
			t.Errorf("%s: got %v, want EINVALID", name, err)
		}
	}
	if _, err := LoadCatalog(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestCatalogModelsHaveContextWindows(t *testing.T) {
	for _, m := range loadCatalog(t, "").Models() {
		if m.ContextWindow == 0 || m.InputPer1M == nil || m.OutputPer1M == nil {
			t.Errorf("%s/%s: incomplete: %+v", m.Provider, m.Name, m)
		}
	}
}
