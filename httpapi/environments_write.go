package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/writes"
)

// promoteBody is the body of POST /v1/environments/{env}/promote: one of
// commit, from (an environment), or prompt with version (or unpin).
type promoteBody struct {
	Commit    string `json:"commit"`
	From      string `json:"from"`
	Prompt    string `json:"prompt"`
	Version   int    `json:"version"`
	Unpin     bool   `json:"unpin"`
	Force     bool   `json:"force"`
	Message   string `json:"message"`
	CreatedBy string `json:"created_by"`
}

// promoteEnvironment serves POST /v1/environments/{env}/promote: it moves
// the environment's ref to a commit ({"commit"}) or to what another
// environment serves ({"from"}), or pins one prompt's version in it
// ({"prompt", "version"}; {"prompt", "unpin": true} removes the pin).
func (s *Server) promoteEnvironment(c echo.Context) error {
	env := c.Param("env")
	a := s.auditFor(c, "promote", "")
	a.entry.Environment = env
	var b promoteBody
	if err := decodeStrict(c, &b, 64<<10); err != nil {
		return a.done(nil, err)
	}
	actor := s.actor(c, b.CreatedBy)
	a.entry.Actor = actor.Name
	ctx := c.Request().Context()
	if b.Prompt != "" {
		a.entry.Prompt = b.Prompt
		if b.Commit != "" || b.From != "" || b.Force {
			return a.done(nil, registry.Errorf(registry.EINVALID, "a single-prompt promotion takes prompt with version (or unpin), not commit, from or force"))
		}
		if b.Unpin == (b.Version != 0) {
			return a.done(nil, registry.Errorf(registry.EINVALID, "send version (a positive integer) or unpin: true with prompt"))
		}
		res, err := s.writer.Pin(ctx, writes.PinRequest{Env: env, Name: b.Prompt, Version: b.Version, Unpin: b.Unpin, Message: b.Message, Actor: actor})
		if err != nil {
			return a.done(nil, err)
		}
		a.entry.From, a.entry.To = res.Previous, res.Checksum
		a.result = result(res.Changed)
		if res.Changed {
			a.entry.Commit = res.Commit
		}
		return a.done(nil, c.JSON(http.StatusOK, res))
	}
	if b.Version != 0 || b.Unpin {
		return a.done(nil, registry.Errorf(registry.EINVALID, "version and unpin go with prompt"))
	}
	res, err := s.writer.Promote(ctx, writes.PromoteRequest{Env: env, Commit: b.Commit, From: b.From, Force: b.Force, Message: b.Message, Actor: actor})
	return s.moved(c, a, res, err)
}

// rollbackEnvironment serves POST /v1/environments/{env}/rollback: the
// environment returns to the commit its last recorded move took it from.
func (s *Server) rollbackEnvironment(c echo.Context) error {
	a := s.auditFor(c, "rollback", "")
	a.entry.Environment = c.Param("env")
	var b actionBody
	if err := decodeStrictFields(c, &b, "message", "created_by"); err != nil {
		return a.done(nil, err)
	}
	actor := s.actor(c, b.CreatedBy)
	a.entry.Actor = actor.Name
	res, err := s.writer.Rollback(c.Request().Context(), writes.RollbackRequest{Env: a.entry.Environment, Message: b.Message, Actor: actor})
	return s.moved(c, a, res, err)
}

// moved answers and audits a move of an environment's ref.
func (s *Server) moved(c echo.Context, a *audit, res *writes.PromoteResult, err error) error {
	if err != nil {
		return a.done(nil, err)
	}
	a.entry.From, a.entry.To = res.From, res.To
	a.result = result(res.Changed)
	return a.done(nil, c.JSON(http.StatusOK, res))
}

func result(changed bool) string {
	if changed {
		return "ok"
	}
	return "unchanged"
}
