package httpapi

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
)

// Cache-Control values. What env, ref or the default selects can change, so
// clients and proxies revalidate every time (a cheap 304) and may keep
// serving what they have for a day while promptreg is unreachable.
const (
	cacheMutable   = "no-cache, stale-if-error=86400"
	cacheImmutable = "public, max-age=31536000, immutable"
)

// Response headers that say what answered, beside the ETag.
const (
	headerCommit = "X-Promptreg-Commit"
	headerRef    = "X-Promptreg-Ref"
	headerStale  = "X-Promptreg-Stale"
)

// selection is what a read asks for: an env or ref (Selector), or a
// version by number or checksum.
type selection struct {
	registry.Selector
	Version  int
	Checksum string
}

// pinned reports whether the selection names one immutable version.
func (s selection) pinned() bool { return s.Version > 0 || s.Checksum != "" }

// parseSelection reads env, ref, version and checksum from the query: at
// most one of them, each at most once and non-empty.
func parseSelection(c echo.Context, allowVersion bool) (selection, error) {
	var sel selection
	q := c.QueryParams()
	if len(q) == 0 {
		return sel, nil
	}
	for _, k := range []string{"env", "ref", "version", "checksum"} {
		if vs, ok := q[k]; ok && (len(vs) != 1 || vs[0] == "") {
			return sel, registry.Errorf(registry.EINVALID, "query parameter %s must be given once, non-empty", k)
		}
	}
	sel.Env, sel.Ref, sel.Checksum = q.Get("env"), q.Get("ref"), q.Get("checksum")
	if v := q.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return sel, registry.Errorf(registry.EINVALID, "version must be a positive integer")
		}
		sel.Version = n
	}
	if err := sel.check(); err != nil {
		return sel, err
	}
	if sel.pinned() && !allowVersion {
		return sel, registry.Errorf(registry.EINVALID, "version and checksum select one prompt, not a list")
	}
	return sel, nil
}

// check validates a selection, from the query or a request body: at most
// one of env, ref, version and checksum; a positive version; a checksum of
// 64 hex digits (made lower-case).
func (sel *selection) check() error {
	given := 0
	for _, set := range []bool{sel.Env != "", sel.Ref != "", sel.Version != 0, sel.Checksum != ""} {
		if set {
			given++
		}
	}
	if given > 1 {
		return registry.Errorf(registry.EINVALID, "use one of env, ref, version and checksum, not several")
	}
	if sel.Version < 0 {
		return registry.Errorf(registry.EINVALID, "version must be a positive integer")
	}
	sel.Checksum = strings.ToLower(sel.Checksum)
	if sel.Checksum != "" && !isSHA256(sel.Checksum) {
		return registry.Errorf(registry.EINVALID, "checksum must be 64 hex digits (a sha256)")
	}
	return nil
}

// resolvePrompt resolves the prompt a read or a render asks for: a pinned version,
// or the prompt in the snapshot the selection names. ref is what the
// selection resolved to, for the X-Promptreg-Ref header.
func (s *Server) resolvePrompt(c echo.Context, name string, sel selection) (e *registry.Entry, snap *registry.Snapshot, ref string, err error) {
	ctx := c.Request().Context()
	if sel.pinned() {
		if e, snap, err = s.hist.ResolveVersion(ctx, name, sel.Version, sel.Checksum); err != nil {
			return nil, nil, "", err
		}
		return e, snap, snap.Commit.SHA, nil
	}
	sel.Local = s.localOnly(c)
	if snap, ref, err = s.snaps.Resolve(ctx, sel.Selector); err != nil {
		return nil, nil, "", err
	}
	e, ok := snap.Get(name)
	if !ok {
		return nil, nil, "", registry.Errorf(registry.ENOTFOUND, "prompt %q not found at %s (%s)", name, ref, short(snap.Commit.SHA))
	}
	return e, snap, ref, nil
}

// setServedHeaders says what answered: the snapshot's commit, what the
// selection resolved to and, for a last known good version, why.
func setServedHeaders(h http.Header, e *registry.Entry, snap *registry.Snapshot, ref string) {
	h.Set(headerCommit, snap.Commit.SHA)
	h.Set(headerRef, ref)
	if e.Stale != "" {
		h.Set(headerStale, e.Stale)
	}
}

// isSHA256 reports whether s is 64 lower-case hex digits.
func isSHA256(s string) bool {
	return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == ""
}

// promptPath splits the path after /v1/prompts/ into a prompt name and a
// sub-resource ("" for the prompt itself).
func promptPath(p string) (name, sub string, err error) {
	if strings.IndexByte(p, '%') >= 0 {
		if p, err = url.PathUnescape(p); err != nil {
			return "", "", registry.Errorf(registry.EINVALID, "malformed escape in prompt name")
		}
	}
	if i := strings.LastIndexByte(p, '/'); i >= 0 && registry.ReservedNames[p[i+1:]] {
		name, sub = p[:i], p[i+1:]
	} else {
		name = p
	}
	if err := registry.ValidateName(name); err != nil {
		return "", "", err
	}
	return name, sub, nil
}

// getPrompt serves GET /v1/prompts/{name}: the prompt as JSON.
func (s *Server) getPrompt(c echo.Context, name string) error { return s.readPrompt(c, name, false) }

// getRaw serves GET /v1/prompts/{name}/raw: the file's bytes.
func (s *Server) getRaw(c echo.Context, name string) error { return s.readPrompt(c, name, true) }

func (s *Server) readPrompt(c echo.Context, name string, raw bool) error {
	sel, err := parseSelection(c, true)
	if err != nil {
		return err
	}
	e, snap, ref, err := s.resolvePrompt(c, name, sel)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	setServedHeaders(h, e, snap, ref)
	if sel.pinned() {
		h.Set("Cache-Control", cacheImmutable)
	} else {
		h.Set("Cache-Control", cacheMutable)
	}
	if raw {
		return conditional(c, `"`+e.Prompt.Checksum+`"`, "text/plain; charset=utf-8", e.Prompt.Raw)
	}
	return conditional(c, e.ETag, echo.MIMEApplicationJSON, e.Body)
}

// conditional answers 304 when the request's If-None-Match matches etag,
// else 200 with body.
func conditional(c echo.Context, etag, contentType string, body []byte) error {
	h := c.Response().Header()
	h.Set("ETag", etag)
	if noneMatch(c.Request().Header.Get("If-None-Match"), etag) {
		return c.NoContent(http.StatusNotModified)
	}
	// The length is known: say it, so the body is never chunked.
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return c.Blob(http.StatusOK, contentType, body)
}

// Paging limits of lists.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// listPrompts serves GET /v1/prompts: the prompts of the selected snapshot
// in name order, filtered by q (substring of name, description or a tag) and
// tag and mode, paged by offset and limit.
func (s *Server) listPrompts(c echo.Context) error {
	sel, err := parseSelection(c, false)
	if err != nil {
		return err
	}
	lq := registry.ListQuery{Q: c.QueryParam("q"), Tag: c.QueryParam("tag"), Mode: c.QueryParam("mode"), Limit: defaultLimit}
	switch lq.Mode {
	case "", registry.ModeGit, registry.ModeFull, registry.ModeTracking:
	default:
		return registry.Errorf(registry.EINVALID, "mode must be git, full or tracking")
	}
	if lq.Offset, err = intParam(c, "offset", 0, 0, 1<<31-1); err != nil {
		return err
	}
	if lq.Limit, err = intParam(c, "limit", defaultLimit, 1, maxLimit); err != nil {
		return err
	}
	sel.Local = s.localOnly(c)
	snap, ref, err := s.snaps.Resolve(c.Request().Context(), sel.Selector)
	if err != nil {
		return err
	}
	page, total := snap.List(lq)

	var b bytes.Buffer
	b.WriteString(`{"prompts":[`)
	for i, e := range page {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(e.Summary)
	}
	b.WriteString(`],"total":` + strconv.Itoa(total) + `,"offset":` + strconv.Itoa(lq.Offset) + `,"limit":` + strconv.Itoa(lq.Limit))
	if next := lq.Offset + len(page); next < total {
		b.WriteString(`,"next_offset":` + strconv.Itoa(next))
	}
	b.WriteString("}")

	h := c.Response().Header()
	h.Set(headerCommit, snap.Commit.SHA)
	h.Set(headerRef, ref)
	h.Set("Cache-Control", cacheMutable)
	canon := url.Values{"q": {lq.Q}, "tag": {lq.Tag}, "mode": {lq.Mode}, "offset": {strconv.Itoa(lq.Offset)}, "limit": {strconv.Itoa(lq.Limit)}}.Encode()
	return conditional(c, registry.ListETag(canon, total, page), echo.MIMEApplicationJSON, b.Bytes())
}

// intParam parses an optional integer query parameter within [lo, hi].
func intParam(c echo.Context, name string, def, lo, hi int) (int, error) {
	v := c.QueryParam(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, registry.Errorf(registry.EINVALID, "query parameter %s must be an integer from %d to %d", name, lo, hi)
	}
	return n, nil
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
