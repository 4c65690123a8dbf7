package executions

import (
	"reflect"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

func TestPickModel(t *testing.T) {
	for _, tc := range []struct {
		name            string
		prompt, request map[string]any
		modelName       string
		primary, fall   *target
	}{
		{"ours with a fallback",
			map[string]any{"provider": "openai", "name": "gpt-4o-mini", "fallback": map[string]any{"provider": "anthropic", "name": "claude-3-5-haiku-latest"}}, nil, "",
			&target{"openai", "gpt-4o-mini"}, &target{"anthropic", "claude-3-5-haiku-latest"}},
		{"PromptLedger's model_name", map[string]any{"provider": "Anthropic", "model_name": "claude-sonnet-4-5"}, nil, "",
			&target{"anthropic", "claude-sonnet-4-5"}, nil},
		{"a bare name is openai's", map[string]any{"name": "gpt-4o"}, nil, "", &target{"openai", "gpt-4o"}, nil},
		{"a fallback without a provider takes the primary's",
			map[string]any{"provider": "gemini", "name": "gemini-2.5-pro", "fallback": map[string]any{"model_name": "gemini-2.5-flash"}}, nil, "",
			&target{"gemini", "gemini-2.5-pro"}, &target{"gemini", "gemini-2.5-flash"}},
		{"a fallback named by a string", map[string]any{"name": "gpt-4o", "fallback": "gpt-4o-mini"}, nil, "",
			&target{"openai", "gpt-4o"}, &target{"openai", "gpt-4o-mini"}},
		{"a fallback without a name is none", map[string]any{"name": "gpt-4o", "fallback": map[string]any{"provider": "anthropic"}}, nil, "",
			&target{"openai", "gpt-4o"}, nil},
		{"the request's model replaces the prompt's, fallback included",
			map[string]any{"name": "gpt-4o", "fallback": "gpt-4o-mini"}, map[string]any{"provider": "anthropic", "model_name": "claude-haiku-4-5"}, "",
			&target{"anthropic", "claude-haiku-4-5"}, nil},
		{"model_name replaces only the name", map[string]any{"provider": "gemini", "name": "gemini-2.5-pro"}, nil, "gemini-2.5-flash",
			&target{"gemini", "gemini-2.5-flash"}, nil},
		{"model_name alone", nil, nil, "gpt-4o", &target{"openai", "gpt-4o"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, f, err := pickModel(tc.prompt, tc.request, tc.modelName)
			if err != nil || !reflect.DeepEqual(p, tc.primary) || !reflect.DeepEqual(f, tc.fall) {
				t.Errorf("got %+v, %+v, %v; want %+v, %+v", p, f, err, tc.primary, tc.fall)
			}
		})
	}
	for _, bad := range []map[string]any{nil, {"provider": "openai"}, {"name": 3}, {"name": "x", "fallback": 3}, {"name": "x", "provider": ""}} {
		if _, _, err := pickModel(bad, nil, ""); registry.ErrorCode(err) != registry.EINVALID {
			t.Errorf("pickModel(%v) = %v, want EINVALID", bad, err)
		}
	}
}
