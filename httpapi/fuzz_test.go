package httpapi

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
)

// listMatches is RFC 9110's If-None-Match, read strictly: "*", or a list of
// entity tags separated by commas and optional white space (empty elements
// allowed), one of which is etag under the weak comparison. A header that
// is not that grammar matches nothing.
func listMatches(header, etag string) bool {
	h := strings.Trim(header, " \t")
	if h == "*" {
		return true
	}
	matched, i := false, 0
	for {
		for i < len(h) && (h[i] == ' ' || h[i] == '\t' || h[i] == ',') {
			i++
		}
		if i == len(h) {
			return matched
		}
		if strings.HasPrefix(h[i:], "W/") {
			i += 2
		}
		if i == len(h) || h[i] != '"' {
			return false
		}
		j := i + 1
		for j < len(h) && h[j] != '"' {
			if !etagc(h[j]) {
				return false
			}
			j++
		}
		if j == len(h) {
			return false
		}
		matched = matched || h[i:j+1] == etag
		i = j + 1
		for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
			i++
		}
		if i < len(h) && h[i] != ',' {
			return false
		}
	}
}

// FuzzNoneMatch checks the If-None-Match matcher against the grammar: a
// 304 only for "*" or a well-formed list naming the entity tag (weak or
// strong); garbage never matches. Seeds: testdata/fuzz/FuzzNoneMatch.
func FuzzNoneMatch(f *testing.F) {
	f.Fuzz(func(t *testing.T, header, opaque string) {
		// An entity tag the server could send: strong, well formed.
		opaque = strings.Map(func(r rune) rune {
			if r < 0x80 && etagc(byte(r)) {
				return r
			}
			return -1
		}, opaque)
		etag := `"` + opaque + `"`
		got, want := noneMatch(header, etag), listMatches(header, etag)
		if got != want {
			t.Fatalf("noneMatch(%q, %q) = %v, want %v", header, etag, got, want)
		}
	})
}

// FuzzIfMatch checks what an If-Match header becomes: nothing only when
// the header is absent or blank (a precondition is never dropped), "*" only
// for "*", and a checksum only when the header is that checksum, quoted or
// not. Seeds: testdata/fuzz/FuzzIfMatch.
func FuzzIfMatch(f *testing.F) {
	e := echo.New()
	f.Fuzz(func(t *testing.T, header string) {
		req := httptest.NewRequest(http.MethodPut, "/v1/prompts/a", nil)
		req.Header.Set("If-Match", header)
		got := ifMatch(e.NewContext(req, httptest.NewRecorder()))
		v := strings.TrimSpace(header)
		switch {
		case v == "":
			if got != "" {
				t.Fatalf("ifMatch(%q) = %q, want none", header, got)
			}
		case got == "":
			t.Fatalf("ifMatch(%q) drops the precondition", header)
		case got == "*" && v != "*":
			t.Fatalf("ifMatch(%q) = *", header)
		case isSHA256(got) && v != got && v != `"`+got+`"`:
			t.Fatalf("ifMatch(%q) = the checksum %s", header, got)
		}
	})
}

// FuzzPromptPath checks the split of /v1/prompts/{name}/{sub}: whatever
// the path, escaped or not, a name that comes out validates (so it holds no
// "..", NUL or separator of its own) and a sub-resource is a reserved word;
// a valid name, escaped in any way, comes back as itself. Seeds:
// testdata/fuzz/FuzzPromptPath.
func FuzzPromptPath(f *testing.F) {
	f.Fuzz(func(t *testing.T, p string, escape uint8) {
		name, sub, err := promptPath(p)
		if err != nil {
			if registry.ErrorCode(err) != registry.EINVALID {
				t.Fatalf("promptPath(%q): %v, want %s", p, err, registry.EINVALID)
			}
		} else {
			if err := registry.ValidateName(name); err != nil {
				t.Fatalf("promptPath(%q) = %q: %v", p, name, err)
			}
			if sub != "" && !registry.ReservedNames[sub] {
				t.Fatalf("promptPath(%q) sub-resource %q", p, sub)
			}
		}
		if registry.ValidateName(p) != nil {
			return
		}
		// p is a valid name: as a path, escaped or not, it is itself.
		path := p
		switch escape % 3 {
		case 1: // each segment escaped as clients escape them
			segs := strings.Split(p, "/")
			for i, s := range segs {
				segs[i] = url.PathEscape(s)
			}
			path = strings.Join(segs, "/")
		case 2: // every byte escaped, slashes included
			var b strings.Builder
			for i := range len(p) {
				b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[p[i]>>4])+string("0123456789abcdef"[p[i]&15])))
			}
			path = b.String()
		}
		for _, s := range []string{"", "render", "versions"} {
			full := path
			if s != "" {
				full += "/" + s
			}
			n, sub, err := promptPath(full)
			if err != nil || n != p || sub != s {
				t.Fatalf("promptPath(%q) = %q, %q, %v; want %q, %q", full, n, sub, err, p, s)
			}
		}
	})
}
