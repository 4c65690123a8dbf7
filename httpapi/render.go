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
		sel = selection{Selector: registry.Selector{Env: firstOf(req.Env, req.Environment), Ref: req.Ref},
			Version: req.Version, Checksum: req.Checksum}
		if sel.Version == 0 {
			sel.Version = req.VersionNum
		}
		if err := sel.check(); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	e, snap, ref, err := s.resolvePrompt(c, name, sel)
	if err != nil {
		return err
	}
	out, err := s.renderer.Render(ctx, snap, e, registry.RenderRequest{Variables: req.Variables, Undefined: req.Undefined})
	if err != nil {
		return err
	}
	setServedHeaders(c.Response().Header(), e, snap, ref)
	return c.JSON(http.StatusOK, out)
}

// decodeBody decodes a JSON request body of at most limit bytes into v,
// rejecting unknown fields' types, trailing data and oversized bodies.
func decodeBody(c echo.Context, v any, limit int64) error {
	return decode(c, v, limit, false)
}

// decodeStrict is decodeBody refusing fields v does not have (400), as the
// write routes do: a misspelt field must not be silently dropped.
func decodeStrict(c echo.Context, v any, limit int64) error {
	return decode(c, v, limit, true)
}

func decode(c echo.Context, v any, limit int64, strict bool) error {
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
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return registry.Errorf(registry.EINVALID, "request body has data after the JSON value")
	}
	return nil
}

// jsonError is the 400 for a body that does not decode.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return registry.Errorf(registry.EINVALID, "field %s must be %s", te.Field, te.Type)
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return registry.Errorf(registry.EINVALID, "unknown field %s", f)
	}
	return registry.Errorf(registry.EINVALID, "request body is not valid JSON: %v", err)
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
