package registry

import "strings"

// Selector picks what a request serves. At most one field is set; none
// selects the default environment, or the tracked branch head.
type Selector struct {
	Env string // an environment name
	Ref string // a branch, tag, full ref name, or full or abbreviated commit sha
	// Local resolves Ref from the clone only, never looking it up on the
	// remote (a request without a key on a server with public reads).
	Local bool
}

// MaxRefLength bounds a ref in a request.
const MaxRefLength = 256

// ValidateRef rejects refs Git could never name, with an EINVALID *Error.
func ValidateRef(ref string) error {
	if len(ref) > MaxRefLength {
		return Errorf(EINVALID, "ref is longer than %d bytes", MaxRefLength)
	}
	for i := 0; i < len(ref); i++ {
		if c := ref[i]; c < 0x21 || c == 0x7f || strings.IndexByte("~^:?*[\\", c) >= 0 {
			return Errorf(EINVALID, "ref %q contains a character Git does not allow", ref)
		}
	}
	if strings.Contains(ref, "..") || strings.Contains(ref, "@{") || strings.HasSuffix(ref, ".lock") || strings.HasSuffix(ref, "/") || strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "-") {
		return Errorf(EINVALID, "ref %q is not a valid Git ref name", ref)
	}
	return nil
}

// LookupRef finds ref among refs (full ref names → commits): a full name,
// or a short name tried as a tag and then as a branch, the order Git itself
// resolves names in.
func LookupRef(refs map[string]string, ref string) (full, sha string, ok bool) {
	if strings.HasPrefix(ref, "refs/") {
		sha, ok = refs[ref]
		return ref, sha, ok
	}
	for _, prefix := range []string{"refs/tags/", "refs/heads/"} {
		if sha, ok = refs[prefix+ref]; ok {
			return prefix + ref, sha, true
		}
	}
	return "", "", false
}

// IsHex reports whether s is made of hexadecimal digits only.
func IsHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
