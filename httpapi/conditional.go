package httpapi

import "strings"

// noneMatch reports whether an If-None-Match header value matches the strong
// entity tag etag, with the weak comparison RFC 9110 §13.1.2 prescribes: a
// list of tags, "*" matching any current representation, W/ ignored.
func noneMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	if header == etag {
		return true
	}
	for {
		header = strings.TrimLeft(header, " \t,")
		if header == "" {
			return false
		}
		if header[0] == '*' {
			return true
		}
		header = strings.TrimPrefix(header, "W/")
		if header == "" || header[0] != '"' {
			return false // malformed: a server must not match on garbage
		}
		end := strings.IndexByte(header[1:], '"')
		if end < 0 {
			return false
		}
		if header[:end+2] == etag {
			return true
		}
		header = header[end+2:]
	}
}
