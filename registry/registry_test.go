package registry_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestDomainImportsOnlyTheStandardLibrary keeps the domain free of
// infrastructure: adapters depend on it, never the reverse.
func TestDomainImportsOnlyTheStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		// Without the go command the rule cannot be checked: under CI
		// that is a failure, not a pass.
		if os.Getenv("CI") == "true" {
			t.Fatalf("go list: %v", err)
		}
		t.Skipf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != "github.com/promptreg/promptreg/registry" {
			t.Errorf("registry depends on %s; it may import only the standard library", dep)
		}
	}
}
