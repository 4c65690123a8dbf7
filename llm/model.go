package llm

import "strings"

// Target is a model to call: a provider and the model's name there.
type Target struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
}

// ParseModel reads a prompt's front-matter model: {provider, name,
// fallback: {provider, name}}, PromptLedger's {provider, model_name}, or a
// bare name (the parser turns `model: gpt-4o` into {name: gpt-4o}). The
// provider defaults to openai; a fallback without one takes the primary's
// (fallback: {name: claude-3-5-haiku-latest} under provider anthropic means
// Anthropic's). primary is nil when m names no model; fallback is nil when
// there is none.
func ParseModel(m map[string]any) (primary, fallback *Target) {
	primary = target(m, OpenAI)
	if primary == nil {
		return nil, nil
	}
	switch fb := m["fallback"].(type) {
	case map[string]any:
		fallback = target(fb, primary.Provider)
	case string:
		fallback = target(map[string]any{"name": fb}, primary.Provider)
	}
	return primary, fallback
}

func target(m map[string]any, provider string) *Target {
	name, _ := m["name"].(string)
	if strings.TrimSpace(name) == "" {
		name, _ = m["model_name"].(string)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil
	}
	if p, _ := m["provider"].(string); strings.TrimSpace(p) != "" {
		provider = strings.ToLower(strings.TrimSpace(p))
	}
	return &Target{Provider: provider, Model: name}
}
