package llm

import (
	"reflect"
	"testing"
)

func TestParseModel(t *testing.T) {
	for _, tc := range []struct {
		name          string
		in            map[string]any
		primary, fall *Target
	}{
		{"ours with a fallback",
			map[string]any{"provider": "openai", "name": "gpt-4o-mini", "fallback": map[string]any{"provider": "anthropic", "name": "claude-3-5-haiku-latest"}},
			&Target{"openai", "gpt-4o-mini"}, &Target{"anthropic", "claude-3-5-haiku-latest"}},
		{"PromptLedger's model_name",
			map[string]any{"provider": "Anthropic", "model_name": "claude-sonnet-4-5"},
			&Target{"anthropic", "claude-sonnet-4-5"}, nil},
		{"a bare name is openai's",
			map[string]any{"name": "gpt-4o"},
			&Target{"openai", "gpt-4o"}, nil},
		{"a fallback without a provider takes the primary's",
			map[string]any{"provider": "gemini", "name": "gemini-2.5-pro", "fallback": map[string]any{"model_name": "gemini-2.5-flash"}},
			&Target{"gemini", "gemini-2.5-pro"}, &Target{"gemini", "gemini-2.5-flash"}},
		{"a fallback named by a string",
			map[string]any{"name": "gpt-4o", "fallback": "gpt-4o-mini"},
			&Target{"openai", "gpt-4o"}, &Target{"openai", "gpt-4o-mini"}},
		{"a fallback without a name is none",
			map[string]any{"name": "gpt-4o", "fallback": map[string]any{"provider": "anthropic"}},
			&Target{"openai", "gpt-4o"}, nil},
		{"no name is no model", map[string]any{"provider": "openai"}, nil, nil},
		{"nil", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, f := ParseModel(tc.in)
			if !reflect.DeepEqual(p, tc.primary) || !reflect.DeepEqual(f, tc.fall) {
				t.Errorf("got %+v, %+v, want %+v, %+v", p, f, tc.primary, tc.fall)
			}
		})
	}
}
