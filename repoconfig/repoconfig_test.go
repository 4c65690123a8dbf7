package repoconfig

import (
	"reflect"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

func TestParseConfig(t *testing.T) {
	cfg, err := Parse([]byte("root: prompts/\nextensions: [prompt, .txt]\nenvironments:\n  production: refs/tags/production\ndefault_environment: production\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := registry.RepoConfig{Root: "prompts", Extensions: []string{".prompt", ".txt"},
		Environments: map[string]string{"production": "refs/tags/production"}, DefaultEnvironment: "production"}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config = %#v, want %#v", cfg, want)
	}
	for _, bad := range []string{"root: ../x", "unknown_key: 1", "default_environment: prod", "environments: {'a/b': main}", "root: [1", "extensions: [p/x]", "extensions: ['.']"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded, want a problem", bad)
		}
	}
	if cfg, err := Parse(nil); err != nil || cfg.Root != "" || len(cfg.Extensions) != len(registry.DefaultExtensions) {
		t.Errorf("empty config = %v, %v", cfg, err)
	}
}
