package registry_test

import (
	"path"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

// FuzzValidateName checks what a valid name promises the code that turns
// it into a file path and a URL: no empty, "." or ".." segment, nothing
// path.Clean would change, only [A-Za-z0-9._-/], within the length limit,
// no reserved last segment; and that it round-trips through the file path
// a write gives it and NameFromPath. Seeds: testdata/fuzz/FuzzValidateName.
func FuzzValidateName(f *testing.F) {
	roots := []string{"", "prompts", "/prompts/", "a/b"}
	exts := []string{".prompt", ".jinja"}
	f.Fuzz(func(t *testing.T, name string) {
		err := registry.ValidateName(name)
		if err != nil {
			if code := registry.ErrorCode(err); code != registry.EINVALID {
				t.Fatalf("ValidateName(%q) code %q, want %q", name, code, registry.EINVALID)
			}
			return
		}
		if len(name) == 0 || len(name) > registry.MaxNameLength {
			t.Fatalf("ValidateName accepts %q of %d bytes", name, len(name))
		}
		if path.Clean(name) != name || path.IsAbs(name) {
			t.Fatalf("ValidateName accepts %q, which path.Clean makes %q", name, path.Clean(name))
		}
		segs := strings.Split(name, "/")
		for _, seg := range segs {
			if seg == "" || seg == "." || seg == ".." {
				t.Fatalf("ValidateName accepts %q with the segment %q", name, seg)
			}
		}
		if registry.ReservedNames[segs[len(segs)-1]] {
			t.Fatalf("ValidateName accepts %q ending in a reserved word", name)
		}
		if i := strings.IndexFunc(name, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/", r))
		}); i >= 0 {
			t.Fatalf("ValidateName accepts %q with the byte %q", name, name[i])
		}
		for _, root := range roots {
			for _, ext := range exts {
				// Where a write puts the prompt's file (writes.newPath).
				clean := strings.Trim(path.Clean("/"+root), "/")
				p := path.Join(clean, name+ext)
				if clean != "" && !strings.HasPrefix(p, clean+"/") {
					t.Fatalf("name %q under root %q is the file %q, outside the root", name, root, p)
				}
				got, ok := registry.NameFromPath(root, exts, p)
				if !ok || got != name {
					t.Fatalf("NameFromPath(%q, %q, %q) = %q, %v; want %q, true", root, exts, p, got, ok, name)
				}
			}
		}
	})
}

// FuzzNameFromPath checks that the name of a file is the file's path under
// the root without its extension, and nothing else. Seeds:
// testdata/fuzz/FuzzNameFromPath.
func FuzzNameFromPath(f *testing.F) {
	f.Fuzz(func(t *testing.T, root, p, ext string) {
		name, ok := registry.NameFromPath(root, []string{ext}, p)
		if !ok {
			if name != "" {
				t.Fatalf("NameFromPath(%q, %q, %q) = %q but not ok", root, ext, p, name)
			}
			return
		}
		clean := strings.Trim(path.Clean("/"+root), "/")
		prefix := ""
		if clean != "" {
			prefix = clean + "/"
		}
		if name == "" || prefix+name+ext != p {
			t.Fatalf("NameFromPath(%q, %q, %q) = %q: not the path under %q without its extension", root, ext, p, name, prefix)
		}
	})
}
