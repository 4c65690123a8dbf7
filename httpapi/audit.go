package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/writes"
)

// audit is the audit log entry of one write request, recorded by done.
type audit struct {
	s      *Server
	c      echo.Context
	entry  registry.AuditEntry
	result string // set by handlers that know better than done ("unchanged")
}

// auditFor starts the audit entry of a write request for action on prompt.
func (s *Server) auditFor(c echo.Context, action, prompt string) *audit {
	r := c.Request()
	return &audit{s: s, c: c, entry: registry.AuditEntry{
		KeyID: keyID(c), Method: r.Method, Route: r.Method + " " + routePattern(action), Action: action, Prompt: prompt,
	}}
}

// done records the entry with the write's result res (nil when it failed
// or the handler filled the entry itself) and the error err the handler
// returns, and returns err. A write is recorded whatever happens to the
// record: a failure to record is logged, never turned into a failed write
// (the commit is pushed by then).
func (a *audit) done(res *writes.Result, err error) error {
	e := &a.entry
	if res != nil {
		e.From, e.To, e.Prompt = res.Previous, res.Checksum, res.Name
		if res.Changed {
			e.Commit = res.Commit
		}
		if a.result == "" {
			a.result = "ok"
			if !res.Changed {
				a.result = "unchanged"
			}
		}
	}
	switch {
	case err != nil:
		e.Status, e.Result, e.Message = statusForError(err), registry.ErrorCode(err), registry.ErrorMessage(err)
		if e.Result == registry.EINTERNAL {
			e.Message = "internal error"
		}
	default:
		e.Status, e.Result = a.c.Response().Status, a.result
	}
	if a.s.auditLog != nil {
		// The request may be cancelled by now; the record must still be
		// written.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(a.c.Request().Context()), 5*time.Second)
		defer cancel()
		if _, rerr := a.s.auditLog.RecordAudit(ctx, *e); rerr != nil {
			a.s.log.Error("record audit entry", "action", e.Action, "prompt", e.Prompt, "commit", e.Commit, "err", rerr)
		}
	}
	return err
}

// routePattern is the route an action is written through, as the route
// table names it.
func routePattern(action string) string {
	switch action {
	case "save", "delete":
		return promptPrefix
	case "tags", "rename", "revert":
		return promptPrefix + "/" + action
	case "register":
		return "/v1/prompts/register-code"
	}
	return "/v1/environments/{env}/" + action
}

// listAudit serves GET /v1/audit: the audit log, newest first, filtered by
// prompt and key_id, paged by before (the id of the last entry of the
// previous page) and limit.
func (s *Server) listAudit(c echo.Context) error {
	if s.auditLog == nil {
		return registry.Errorf(registry.ENOTFOUND, "this server keeps no audit log")
	}
	q := registry.AuditQuery{Prompt: c.QueryParam("prompt"), KeyID: c.QueryParam("key_id")}
	before, err := intParam(c, "before", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	q.Before = int64(before)
	if q.Limit, err = intParam(c, "limit", defaultLimit, 1, maxLimit); err != nil {
		return err
	}
	entries, err := s.auditLog.Audit(c.Request().Context(), q)
	if err != nil {
		return err
	}
	page := struct {
		Entries []registry.AuditEntry `json:"entries"`
		Next    string                `json:"next_before,omitempty"`
	}{Entries: entries}
	if page.Entries == nil {
		page.Entries = []registry.AuditEntry{}
	}
	if len(entries) == q.Limit {
		page.Next = strconv.FormatInt(entries[len(entries)-1].ID, 10)
	}
	return c.JSON(http.StatusOK, page)
}
