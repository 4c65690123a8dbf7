package repoconfig

import (
	"strings"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

func TestPinsRoundTrip(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	p := registry.Pins{}.Clone()
	p.Set("", "support/welcome", sum)
	p.Set("", "drafts/new", "")
	p.Set("production", "support/welcome", sum)
	data := EncodePins(p)
	got, err := ParsePins(data)
	if err != nil {
		t.Fatalf("ParsePins(EncodePins(p)): %v\n%s", err, data)
	}
	if !got.Equal(p) {
		t.Fatalf("round trip: got %+v, want %+v\n%s", got, p, data)
	}
	if c, ok := got.Get("", "drafts/new"); !ok || c != "" {
		t.Fatalf("null pin read back as %q, %v", c, ok)
	}
	if EncodePins(registry.Pins{}) != nil {
		t.Fatal("empty pins encode to a file; want none")
	}
	p.Unset("production", "support/welcome")
	if _, ok := p.Environments["production"]; ok {
		t.Fatal("an environment without pins stays in the map")
	}
}

func TestBadPins(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"not yaml", "default: [", "pins.yaml:1"},
		{"unknown key", "defaults: {}\n", "defaults"},
		{"short checksum", "default:\n  a: abc\n", "64 hex digits"},
		{"bad name", "default:\n  /abs: null\n", "default"},
		{"bad env", "environments:\n  a/b:\n    x: null\n", "environment name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePins([]byte(tc.data))
			p, ok := err.(*registry.Problem)
			if !ok || p.Path != registry.PinsFile || !strings.Contains(p.Error(), tc.want) {
				t.Fatalf("ParsePins(%q) = %v, want a problem about %s mentioning %q", tc.data, err, registry.PinsFile, tc.want)
			}
		})
	}
}
