package registry

import (
	"path"
	"strings"
)

// ReservedNames are the words a prompt name's last segment cannot be: the
// API uses them as sub-resources of /v1/prompts/{name}.
var ReservedNames = map[string]bool{
	"versions": true, "render": true, "execute": true, "diff": true,
	"raw": true, "rename": true, "revert": true, "tags": true, "dependents": true,
}

// MaxNameLength bounds a prompt name.
const MaxNameLength = 256

// ValidateName reports whether name is a valid prompt name: segments of
// [A-Za-z0-9._-] joined by "/", no empty, "." or ".." segment, and a last
// segment that is not a reserved word. It returns an EINVALID *Error.
func ValidateName(name string) error {
	if name == "" {
		return Errorf(EINVALID, "prompt name is empty")
	}
	if len(name) > MaxNameLength {
		return Errorf(EINVALID, "prompt name is longer than %d bytes", MaxNameLength)
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) && name[i] != '/' {
			if !nameByte(name[i]) {
				return Errorf(EINVALID, "prompt name %q: character %q is not allowed (use A-Z a-z 0-9 . _ - and /)", name, rune(name[i]))
			}
			continue
		}
		seg := name[start:i]
		switch seg {
		case "":
			return Errorf(EINVALID, "prompt name %q has an empty segment", name)
		case ".", "..":
			return Errorf(EINVALID, "prompt name %q has a %q segment", name, seg)
		}
		if i == len(name) && ReservedNames[seg] {
			return Errorf(EINVALID, "prompt name %q ends in the reserved word %q", name, seg)
		}
		start = i + 1
	}
	return nil
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// NameFromPath returns the default name of the prompt file at repository
// path p under root: the path relative to root without its extension. ok is
// false when p is not under root or has none of the extensions.
func NameFromPath(root string, exts []string, p string) (name string, ok bool) {
	root = strings.Trim(path.Clean("/"+root), "/")
	rel := p
	if root != "" {
		if !strings.HasPrefix(p, root+"/") {
			return "", false
		}
		rel = p[len(root)+1:]
	}
	for _, ext := range exts {
		if strings.HasSuffix(rel, ext) && len(rel) > len(ext) {
			return rel[:len(rel)-len(ext)], true
		}
	}
	return "", false
}
