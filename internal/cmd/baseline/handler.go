package main

import (
	"net/http"
	"strconv"
	"strings"
)

// response is a precomputed representation. Every header value is built once;
// ServeHTTP only assigns the prepared slices, which net/http never mutates.
type response struct {
	body     []byte
	etag     string
	common   http.Header // sent with 200 and 304: ETag, Cache-Control, extras
	full     http.Header // sent with 200 only: Content-Type, Content-Length
	allowGet []string
}

// newResponse prepares the response for body. etag must be a valid entity tag
// (`"…"` or `W/"…"`); extra holds additional headers sent with 200 and 304.
func newResponse(body []byte, etag, contentType, cacheControl string, extra http.Header) *response {
	r := &response{
		body:     body,
		etag:     etag,
		common:   http.Header{},
		full:     http.Header{},
		allowGet: []string{"GET, HEAD"},
	}
	for name, values := range extra {
		r.common[http.CanonicalHeaderKey(name)] = values
	}
	r.common["Etag"] = []string{etag}
	if cacheControl != "" {
		r.common["Cache-Control"] = []string{cacheControl}
	}
	r.full["Content-Type"] = []string{contentType}
	r.full["Content-Length"] = []string{strconv.Itoa(len(body))}
	return r
}

// ServeHTTP answers GET and HEAD on any path: 304 when If-None-Match matches
// the ETag, else 200 with the body. Other methods get 405.
func (r *response) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		h["Allow"] = r.allowGet
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	for name, values := range r.common {
		h[name] = values
	}
	if inm, ok := req.Header["If-None-Match"]; ok && noneMatchFails(inm, r.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	for name, values := range r.full {
		h[name] = values
	}
	w.WriteHeader(http.StatusOK)
	if req.Method != http.MethodHead {
		w.Write(r.body) //nolint:errcheck // the client went away; nothing to do
	}
}

// noneMatchFails reports whether the If-None-Match field values match etag,
// that is whether the condition "none match" is false (RFC 9110 §13.1.2):
// "*" matches any current representation, otherwise the field is a
// comma-separated list of entity tags compared with the weak comparison
// (W/ prefixes ignored, opaque tags equal).
func noneMatchFails(fieldValues []string, etag string) bool {
	want := opaqueTag(etag)
	for _, v := range fieldValues {
		for {
			v = strings.TrimLeft(v, " \t,")
			if v == "" {
				break
			}
			if v[0] == '*' {
				return true
			}
			tag, rest, ok := scanETag(v)
			if !ok {
				break // malformed: ignore the rest of this field value
			}
			if tag == want {
				return true
			}
			v = rest
		}
	}
	return false
}

// scanETag reads one entity tag at the start of s and returns its opaque part
// (quotes included, W/ dropped) and the remainder of s.
func scanETag(s string) (tag, rest string, ok bool) {
	s = strings.TrimPrefix(s, "W/")
	if len(s) < 2 || s[0] != '"' {
		return "", "", false
	}
	end := strings.IndexByte(s[1:], '"')
	if end < 0 {
		return "", "", false
	}
	return s[:end+2], s[end+2:], true
}

// opaqueTag returns the opaque part of a well-formed entity tag (W/ dropped).
func opaqueTag(etag string) string {
	return strings.TrimPrefix(etag, "W/")
}
