package executions

import (
	"strings"

	"github.com/promptreg/promptreg/registry"
)

// target is a provider and a model.
type target struct{ Provider, Model string }

// defaultProvider is the provider of a model that names none.
const defaultProvider = "openai"

// pickModel returns the model to call and its fallback: the prompt's model,
// replaced by the request's model when it sends one, its name replaced by
// modelName. A model is {provider, name} (ours), {provider, model_name}
// (PromptLedger's) or a bare name, with an optional fallback of the same
// shapes; the provider defaults to openai, a fallback's to the primary's
// (fallback: {name: claude-3-5-haiku-latest} under provider anthropic is
// Anthropic's).
func pickModel(prompt, override map[string]any, modelName string) (*target, *target, error) {
	m := prompt
	if override != nil {
		m = override
	}
	primary, err := parseTarget(m, "model", defaultProvider)
	if err != nil {
		return nil, nil, err
	}
	if modelName = strings.TrimSpace(modelName); modelName != "" {
		if primary == nil {
			primary = &target{Provider: defaultProvider}
			if p, ok := m["provider"].(string); ok && strings.TrimSpace(p) != "" {
				primary.Provider = strings.ToLower(strings.TrimSpace(p))
			}
		}
		primary.Model = modelName
	}
	if primary == nil || primary.Model == "" {
		return nil, nil, registry.Errorf(registry.EINVALID, "no model to run: the prompt's front matter names none; send model ({\"provider\",\"model_name\"}) or model_name")
	}
	var fallback *target
	switch f := m["fallback"].(type) {
	case nil:
	case string:
		fallback, err = parseTarget(map[string]any{"name": f}, "model.fallback", primary.Provider)
	case map[string]any:
		fallback, err = parseTarget(f, "model.fallback", primary.Provider)
	default:
		err = registry.Errorf(registry.EINVALID, "model.fallback must be a model name or {provider, name}")
	}
	if err != nil {
		return nil, nil, err
	}
	return primary, fallback, nil
}

// parseTarget reads one model map; nil when it names no model.
func parseTarget(m map[string]any, where, provider string) (*target, error) {
	if m == nil {
		return nil, nil
	}
	t := &target{Provider: provider}
	for _, key := range []string{"provider", "name", "model_name"} {
		v, ok := m[key]
		if !ok || v == nil {
			continue
		}
		str, ok := v.(string)
		if !ok || strings.TrimSpace(str) == "" {
			return nil, registry.Errorf(registry.EINVALID, "%s.%s must be a non-empty string", where, key)
		}
		if key == "provider" {
			t.Provider = strings.ToLower(strings.TrimSpace(str))
		} else if t.Model == "" {
			t.Model = strings.TrimSpace(str)
		}
	}
	if t.Model == "" {
		return nil, nil // a provider alone names no model
	}
	return t, nil
}
