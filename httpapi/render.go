package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
)

// maxRenderBody bounds a render request's body.
const maxRenderBody = 1 << 20

// renderRequest is the body of POST /v1/prompts/{name}/render. The
// selection may also be given in the query.
type renderRequest struct {
	Variables   json.RawMessage `json:"variables"`
	Undefined   string          `json:"undefined"`
	Env         string          `json:"env"`
	Environment string          `json:"environment"` // PromptLedger's name for env
	Ref         string          `json:"ref"`
	Version     int             `json:"version"`
	VersionNum  int             `json:"version_number"` // PromptLedger's name for version
	Checksum    string          `json:"checksum"`
}

// postPrompt dispatches POST /v1/prompts/{name}/{action}.
func (s *Server) postPrompt(c echo.Context) error {
	name, sub, err := promptPath(c.Param("*"))
	if err != nil {
		return err
	}
	switch sub {
	case "render":
		return s.renderPrompt(c, name)
	}
	return echo.ErrNotFound
}

// renderPrompt serves POST /v1/prompts/{name}/render: it renders the
// selected version with {"variables": {...}} and answers {"text": …} for a
// text prompt or {"messages": [{"role","content"}]} for a chat prompt, with
// the version and checksum rendered. Invalid or missing variables are a 422
// listing the problems.
func (s *Server) renderPrompt(c echo.Context, name string) error {
	if s.renderer == nil {
		return registry.Errorf(registry.ENOTFOUND, "rendering is not enabled on this server")
	}
	var req renderRequest
	if err := decodeBody(c, &req, maxRenderBody); err != nil {
		return err
	}
	sel, err := parseSelection(c, true)
	if err != nil {
		return err
	}
	// Body fields select when the query does not.
	if !sel.pinned() && sel.Env == "" && sel.Ref == "" {
		sel.Env, sel.Ref, sel.Version, sel.Checksum = firstOf(req.Env, req.Environment), req.Ref, max(req.Version, req.VersionNum), req.Checksum
		sel.Checksum = strings.ToLower(sel.Checksum)
		if sel.Checksum != "" && !isSHA256(sel.Checksum) {
			return registry.Errorf(registry.EINVALID, "checksum must be 64 hex digits (a sha256)")
		}
		if sel.Version < 0 {
			return registry.Errorf(registry.EINVALID, "version must be a positive integer")
		}
		given := 0
		for _, set := range []bool{sel.Env != "", sel.Ref != "", sel.Version > 0, sel.Checksum != ""} {
			if set {
				given++
			}
		}
		if given > 1 {
			return registry.Errorf(registry.EINVALID, "use one of env, ref, version and checksum, not several")
		}
	}
	ctx := c.Request().Context()
	var (
		e    *registry.Entry
		snap *registry.Snapshot
		ref  string
	)
	if sel.pinned() {
		if e, snap, err = s.reg.ResolveVersion(ctx, name, sel.Version, sel.Checksum); err != nil {
			return err
		}
		ref = snap.Commit.SHA
	} else {
		if snap, ref, err = s.reg.Resolve(ctx, sel.Selector); err != nil {
			return err
		}
		var ok bool
		if e, ok = snap.Get(name); !ok {
			return registry.Errorf(registry.ENOTFOUND, "prompt %q not found at %s (%s)", name, ref, short(snap.Commit.SHA))
		}
	}
	out, err := s.renderer.Render(ctx, snap, e, registry.RenderRequest{Variables: req.Variables, Undefined: req.Undefined})
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(headerCommit, snap.Commit.SHA)
	h.Set(headerRef, ref)
	if e.Stale != "" {
		h.Set(headerStale, headerSafe(e.Stale))
	}
	return c.JSON(http.StatusOK, out)
}

// decodeBody decodes a JSON request body of at most limit bytes into v,
// rejecting unknown fields' types, trailing data and oversized bodies.
func decodeBody(c echo.Context, v any, limit int64) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, limit+1))
	if err != nil {
		return registry.Errorf(registry.EINVALID, "read body: %v", err)
	}
	if int64(len(body)) > limit {
		return registry.Errorf(registry.ETOOLARGE, "request body is over %d bytes", limit)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return registry.Errorf(registry.EINVALID, "field %s must be %s", te.Field, te.Type)
		}
		return registry.Errorf(registry.EINVALID, "request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return registry.Errorf(registry.EINVALID, "request body has data after the JSON value")
	}
	return nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
