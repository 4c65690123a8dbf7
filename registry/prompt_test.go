package registry_test

import (
	"testing"

	"github.com/promptreg/promptreg/registry"
)

func TestRenames(t *testing.T) {
	msg := "Rename a to b\n\nPromptreg-Write: rename\nPromptreg-Renamed: support/a -> support/b\nPromptreg-Renamed: x -> x\nPromptreg-Renamed: bad name -> y\nPromptreg-Renamed: c\n"
	got := registry.Renames(msg)
	if len(got) != 1 || got["support/b"] != "support/a" {
		t.Fatalf("Renames = %v, want support/b → support/a only", got)
	}
	if registry.Renames("no trailers") != nil {
		t.Fatal("a message without the trailer names renames")
	}
}
