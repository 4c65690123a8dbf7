package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/aymanbagabas/go-udiff"
	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
)

// versionsPage is the body of GET /v1/prompts/{name}/versions.
type versionsPage struct {
	Name       string                  `json:"name"`
	Versions   []registry.VersionEntry `json:"versions"`
	Total      int                     `json:"total"`
	Offset     int                     `json:"offset"`
	Limit      int                     `json:"limit"`
	NextOffset *int                    `json:"next_offset,omitempty"`
}

// listVersions serves GET /v1/prompts/{name}/versions: the prompt's
// versions newest first, paged by offset and limit, each with its checksum,
// first commit, path, whether the default selection serves it, the
// environments serving it and when it entered and left each.
func (s *Server) listVersions(c echo.Context, name string) error {
	offset, err := intParam(c, "offset", 0, 0, 1<<31-1)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return err
	}
	all, err := s.hist.Versions(c.Request().Context(), name)
	if err != nil {
		return err
	}
	page := versionsPage{Name: name, Total: len(all), Offset: offset, Limit: limit, Versions: []registry.VersionEntry{}}
	if offset < len(all) {
		page.Versions = all[offset:min(len(all), offset+limit)]
	}
	if next := offset + len(page.Versions); next < len(all) {
		page.NextOffset = &next
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.JSON(http.StatusOK, page)
}

// diffBody is the body of GET /v1/prompts/{name}/diff.
type diffBody struct {
	Name string           `json:"name"`
	From registry.Version `json:"from"`
	To   registry.Version `json:"to"`
	// Diff is the unified diff of the two files ("" when identical).
	Diff string `json:"diff"`
}

// diffVersions serves GET /v1/prompts/{name}/diff?from=N&to=M: the unified
// diff of two versions' files; to defaults to the version the default
// selection serves. With Accept: text/x-diff (or text/plain) the diff alone.
func (s *Server) diffVersions(c echo.Context, name string) error {
	from, err := intParam(c, "from", 0, 1, 1<<31-1)
	if err != nil {
		return err
	}
	if from == 0 {
		return registry.Errorf(registry.EINVALID, "query parameter from (a version number) is required")
	}
	to, err := intParam(c, "to", 0, 1, 1<<31-1)
	if err != nil {
		return err
	}
	// Two version numbers name an immutable diff; a missing to= follows
	// the current version, which moves.
	cacheControl := cacheImmutable
	if to == 0 {
		cacheControl = "no-cache"
		if to = s.hist.CurrentVersion(name); to == 0 {
			return registry.Errorf(registry.ENOTFOUND, "prompt %q has no current version: give to=", name)
		}
	}
	ctx := c.Request().Context()
	a, va, err := s.hist.VersionBytes(ctx, name, from)
	if err != nil {
		return err
	}
	b, vb, err := s.hist.VersionBytes(ctx, name, to)
	if err != nil {
		return err
	}
	d := udiff.Unified(label(name, va), label(name, vb), string(a), string(b))
	c.Response().Header().Set("Cache-Control", cacheControl)
	c.Response().Header().Set("Vary", "Accept")
	accept, _, _ := strings.Cut(c.Request().Header.Get("Accept"), ";")
	switch strings.TrimSpace(strings.ToLower(accept)) {
	case "text/x-diff", "text/plain":
		return c.Blob(http.StatusOK, "text/x-diff; charset=utf-8", []byte(d))
	}
	return c.JSON(http.StatusOK, diffBody{Name: name, From: va, To: vb, Diff: d})
}

func label(name string, v registry.Version) string {
	return name + "@v" + strconv.Itoa(v.Version) + " (" + v.Path + ")"
}

// listEnvironments serves GET /v1/environments: each configured
// environment with its ref, commit, when it last moved and how many prompts
// differ from the tracked branch head.
func (s *Server) listEnvironments(c echo.Context) error {
	envs, err := s.hist.Environments(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.JSON(http.StatusOK, map[string]any{"environments": envs})
}

// environmentHistory serves GET /v1/environments/{env}/history: the
// promotion ledger of one environment, newest first, paged with before (a
// move id) and limit.
func (s *Server) environmentHistory(c echo.Context) error {
	before, err := intParam(c, "before", 0, 1, 1<<62)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", defaultLimit, 1, maxLimit)
	if err != nil {
		return err
	}
	moves, err := s.hist.EnvironmentHistory(c.Request().Context(), c.Param("env"), int64(before), limit)
	if err != nil {
		return err
	}
	if moves == nil {
		moves = []registry.RefMove{}
	}
	body := map[string]any{"environment": c.Param("env"), "moves": moves}
	if len(moves) == limit {
		body["next_before"] = moves[len(moves)-1].ID
	}
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.JSON(http.StatusOK, body)
}
