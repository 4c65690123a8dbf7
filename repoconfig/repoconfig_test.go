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
		Environments: map[string]string{"production": "refs/tags/production"}, DefaultEnvironment: "production", Tracking: registry.DefaultTracking}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config = %#v, want %#v", cfg, want)
	}
	for _, bad := range []string{"root: ../x", "unknown_key: 1", "default_environment: prod", "environments: {'a/b': main}", "root: [1", "extensions: [p/x]", "extensions: ['.']", "tracking_dir: ../up", "tracking_dir: a//b"} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) succeeded, want a problem", bad)
		}
	}
	if cfg, err := Parse([]byte("tracking_dir: /from-code/")); err != nil || cfg.Tracking != "from-code" {
		t.Errorf("tracking_dir = %q, %v", cfg.Tracking, err)
	}
	if cfg, err := Parse(nil); err != nil || cfg.Root != "" || len(cfg.Extensions) != len(registry.DefaultExtensions) {
		t.Errorf("empty config = %v, %v", cfg, err)
	}
}
