package httpapi

import "strings"

// noneMatch reports whether an If-None-Match header value matches the strong
// entity tag etag, with the weak comparison RFC 9110 §13.1.2 prescribes:
// "*" alone matching any current representation, or a comma-separated list
// of tags, W/ ignored. A header that is not that grammar matches nothing: a
// server must not answer 304 to garbage ("*x", a tag glued to another, a
// tag with a space in it), even when the garbage holds the tag.
func noneMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	if header == etag {
		return true
	}
	h := strings.Trim(header, " \t")
	if h == "*" {
		return true
	}
	matched := false
	for {
		h = strings.TrimLeft(h, " \t,")
		if h == "" {
			return matched
		}
		h = strings.TrimPrefix(h, "W/")
		if h == "" || h[0] != '"' {
			return false
		}
		end := 1
		for end < len(h) && h[end] != '"' {
			if !etagc(h[end]) {
				return false
			}
			end++
		}
		if end == len(h) {
			return false
		}
		matched = matched || h[:end+1] == etag
		h = strings.TrimLeft(h[end+1:], " \t")
		if h != "" && h[0] != ',' {
			return false
		}
	}
}

// etagc reports whether c may appear between an entity tag's quotes
// (RFC 9110 §8.8.3: %x21 / %x23-7E / obs-text).
func etagc(c byte) bool { return c == 0x21 || c >= 0x23 && c != 0x7f }
