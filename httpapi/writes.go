package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/writes"
)

// Body limits of the write routes. A prompt file is at most
// registry.MaxFileSize; JSON escaping can double it.
const (
	maxWriteBody    = 2*registry.MaxFileSize + 64<<10
	maxRegisterBody = 8 << 20
)

// saveBody is the body of PUT /v1/prompts/{name}: the whole file as
// content, or the fields to set, under PromptLedger's names.
type saveBody struct {
	Name      string  `json:"name"`
	Content   *string `json:"content"`
	CreatedBy string  `json:"created_by"`
	SetActive *bool   `json:"set_active"`
	Message   string  `json:"message"`
	// Mode is PromptLedger's: a PUT saves in full mode.
	Mode string `json:"mode"`
	promptFields
}

// promptFields are the fields of a prompt a save or a registration sets,
// under PromptLedger's names.
type promptFields struct {
	TemplateSource *string         `json:"template_source"`
	Description    *string         `json:"description"`
	OwnerTeam      *string         `json:"owner_team"`
	Tags           *[]string       `json:"tags"`
	Metadata       json.RawMessage `json:"metadata"`
	Model          json.RawMessage `json:"model"`
	ModelName      *string         `json:"model_name"`
	Params         json.RawMessage `json:"params"`
	InputSchema    json.RawMessage `json:"input_schema"`
	OutputSchema   json.RawMessage `json:"output_schema"`
}

// fields converts the body's fields for writes.
func (b *promptFields) fields() (writes.Fields, error) {
	f := writes.Fields{Template: b.TemplateSource, Description: b.Description, OwnerTeam: b.OwnerTeam,
		Tags: b.Tags, ModelName: b.ModelName}
	for _, j := range []struct {
		name string
		raw  json.RawMessage
		dst  *any
		obj  bool
	}{
		{"metadata", b.Metadata, nil, true}, {"params", b.Params, nil, true},
		{"model", b.Model, &f.Model, false}, {"input_schema", b.InputSchema, &f.InputSchema, false},
		{"output_schema", b.OutputSchema, &f.OutputSchema, false},
	} {
		v, err := writes.JSONValue(j.raw)
		if err != nil {
			return f, registry.Errorf(registry.EINVALID, "%s: %v", j.name, err)
		}
		if v == nil {
			continue
		}
		if j.obj {
			m, ok := v.(map[string]any)
			if !ok {
				return f, registry.Errorf(registry.EINVALID, "%s must be an object", j.name)
			}
			if j.name == "metadata" {
				f.Metadata = m
			} else {
				f.Params = m
			}
			continue
		}
		*j.dst = v
	}
	return f, nil
}

// savePrompt serves PUT /v1/prompts/{name}: it commits the prompt's new
// content and answers once it is pushed and served: 201 for a new prompt,
// 200 for a new version or, with "changed": false, for identical content.
func (s *Server) savePrompt(c echo.Context, name string) error {
	a := s.auditFor(c, "save", name)
	var b saveBody
	if err := decodeStrict(c, &b, maxWriteBody); err != nil {
		return a.done(nil, err)
	}
	req := writes.SaveRequest{Name: name, Message: b.Message, IfMatch: ifMatch(c), Active: b.SetActive}
	var err error
	switch {
	case b.Name != "" && b.Name != name:
		err = registry.Errorf(registry.EINVALID, "name %q in the body is not the prompt %q of the path", b.Name, name)
	case b.Mode != "" && b.Mode != registry.ModeFull:
		err = registry.Errorf(registry.EINVALID, "mode must be full: PUT saves a prompt authors manage (register-code saves tracked ones)")
	case b.Content != nil && (b.TemplateSource != nil || b.Description != nil || b.Tags != nil || b.Metadata != nil ||
		b.Model != nil || b.ModelName != nil || b.Params != nil || b.InputSchema != nil || b.OutputSchema != nil || b.OwnerTeam != nil):
		err = registry.Errorf(registry.EINVALID, "send either content (the whole file) or the fields (template_source, description…), not both")
	case b.Content != nil:
		req.Content = []byte(*b.Content)
	default:
		req.Fields, err = b.fields()
	}
	if err != nil {
		return a.done(nil, err)
	}
	req.Actor = s.actor(c, b.CreatedBy)
	a.entry.Actor = req.Actor.Name
	res, err := s.writer.Save(c.Request().Context(), req)
	if err != nil {
		return a.done(nil, err)
	}
	status := http.StatusOK
	if res.Changed && res.Previous == "" {
		status = http.StatusCreated
	}
	return a.done(res, c.JSON(status, res))
}

// actionBody is the body of the write routes that only carry a message and
// the author (DELETE, tags, rename, revert).
type actionBody struct {
	Message   string    `json:"message"`
	CreatedBy string    `json:"created_by"`
	NewName   string    `json:"new_name"`
	Version   int       `json:"version"`
	Tags      *[]string `json:"tags"`
	SetActive *bool     `json:"set_active"`
}

// deletePrompt serves DELETE /v1/prompts/{name}.
func (s *Server) deletePrompt(c echo.Context, name string) error {
	return s.promptAction(c, "delete", name, nil, func(b actionBody, a writes.Actor) (*writes.Result, error) {
		return s.writer.Delete(c.Request().Context(), writes.DeleteRequest{Name: name, IfMatch: ifMatch(c), Message: b.Message, Actor: a})
	})
}

// renamePrompt serves POST /v1/prompts/{name}/rename with {"new_name"}.
func (s *Server) renamePrompt(c echo.Context, name string) error {
	return s.promptAction(c, "rename", name, []string{"new_name"}, func(b actionBody, a writes.Actor) (*writes.Result, error) {
		if b.NewName == "" {
			return nil, registry.Errorf(registry.EINVALID, "new_name is required")
		}
		return s.writer.Rename(c.Request().Context(), writes.RenameRequest{Name: name, NewName: b.NewName, IfMatch: ifMatch(c), Message: b.Message, Actor: a})
	})
}

// revertPrompt serves POST /v1/prompts/{name}/revert with {"version": N}
// (and set_active, as a save takes it).
func (s *Server) revertPrompt(c echo.Context, name string) error {
	return s.promptAction(c, "revert", name, []string{"version", "set_active"}, func(b actionBody, a writes.Actor) (*writes.Result, error) {
		if b.Version < 1 {
			return nil, registry.Errorf(registry.EINVALID, "version is required: a positive integer")
		}
		return s.writer.Revert(c.Request().Context(), writes.RevertRequest{Name: name, Version: b.Version, IfMatch: ifMatch(c),
			Active: b.SetActive, Message: b.Message, Actor: a})
	})
}

// promptAction serves a write of one prompt whose body is an actionBody
// carrying message, created_by and the fields named: it decodes the body,
// makes the write with do and audits it.
func (s *Server) promptAction(c echo.Context, action, name string, fields []string, do func(actionBody, writes.Actor) (*writes.Result, error)) error {
	a := s.auditFor(c, action, name)
	var b actionBody
	if err := decodeStrictFields(c, &b, append([]string{"message", "created_by"}, fields...)...); err != nil {
		return a.done(nil, err)
	}
	actor := s.actor(c, b.CreatedBy)
	a.entry.Actor = actor.Name
	res, err := do(b, actor)
	if err != nil {
		return a.done(nil, err)
	}
	return a.done(res, c.JSON(http.StatusOK, res))
}

// setTags serves PUT /v1/prompts/{name}/tags with {"tags": [...]}: the
// prompt's tags become that list.
func (s *Server) setTags(c echo.Context, name string) error { return s.writeTags(c, name, false) }

// removeTags serves DELETE /v1/prompts/{name}/tags: it removes the tags
// listed in {"tags": [...]}, or all of them without a body.
func (s *Server) removeTags(c echo.Context, name string) error { return s.writeTags(c, name, true) }

func (s *Server) writeTags(c echo.Context, name string, remove bool) error {
	return s.promptAction(c, "tags", name, []string{"tags"}, func(b actionBody, a writes.Actor) (*writes.Result, error) {
		if b.Tags == nil && !remove {
			return nil, registry.Errorf(registry.EINVALID, "tags is required: a list of strings")
		}
		req := writes.TagsRequest{Name: name, Remove: remove, IfMatch: ifMatch(c), Message: b.Message, Actor: a}
		if b.Tags != nil {
			req.Tags = *b.Tags
		}
		return s.writer.Tags(c.Request().Context(), req)
	})
}

// registerBody is the body of POST /v1/prompts/register-code.
type registerBody struct {
	Prompts []struct {
		Name         string `json:"name"`
		TemplateHash string `json:"template_hash"`
		promptFields
	} `json:"prompts"`
	DryRun    bool   `json:"dry_run"`
	Message   string `json:"message"`
	CreatedBy string `json:"created_by"`
}

// registerCode serves POST /v1/prompts/register-code (tracking mode): the
// changed templates in one commit, per prompt change_detected and
// previous_version.
func (s *Server) registerCode(c echo.Context) error {
	a := s.auditFor(c, "register", "")
	var b registerBody
	if err := decodeStrict(c, &b, maxRegisterBody); err != nil {
		return a.done(nil, err)
	}
	req := writes.RegisterRequest{DryRun: b.DryRun, Message: b.Message, Actor: s.actor(c, b.CreatedBy)}
	for _, p := range b.Prompts {
		f, err := p.fields()
		if err != nil {
			return a.done(nil, registry.Errorf(registry.EINVALID, "%s: %s", p.Name, registry.ErrorMessage(err)))
		}
		req.Prompts = append(req.Prompts, writes.Tracked{Name: p.Name, Fields: f, Hash: p.TemplateHash})
	}
	a.entry.Actor = req.Actor.Name
	res, err := s.writer.Register(c.Request().Context(), req)
	if err != nil {
		return a.done(nil, err)
	}
	var names []string
	for _, d := range res.Details {
		if d.ChangeDetected {
			names = append(names, d.Name)
		}
	}
	a.entry.Prompt = strings.Join(names, ",")
	if len(names) > 0 && !res.DryRun {
		a.entry.Commit = res.Commit
	}
	a.result = "ok"
	if len(names) == 0 || res.DryRun {
		a.result = "unchanged"
	}
	return a.done(nil, c.JSON(http.StatusOK, res))
}

// actor is who a write is made for: created_by if given, else the key.
func (s *Server) actor(c echo.Context, createdBy string) writes.Actor {
	a := writes.Actor{KeyID: keyID(c)}
	a.Name, a.Email = writes.ParseAuthor(createdBy)
	return a
}

// ifMatch returns the checksum an If-Match header names: the quotes of one
// strong tag removed (a bare checksum is taken too); "" without the header.
// Anything else is kept as it is, so that it fails the precondition rather
// than drop it: a weak tag (RFC 9110 §13.1.1 compares strongly), a list, an
// empty or unbalanced tag, a quoted "*" (a tag, not the wildcard).
func ifMatch(c echo.Context) string {
	v := strings.TrimSpace(c.Request().Header.Get("If-Match"))
	if len(v) > 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if tag := v[1 : len(v)-1]; tag != "*" && !strings.Contains(tag, `"`) {
			return tag
		}
	}
	return v
}

// decodeStrictFields decodes an optional small body that may carry only the
// named fields of v.
func decodeStrictFields(c echo.Context, v any, allowed ...string) error {
	var raw map[string]json.RawMessage
	if err := decodeStrict(c, &raw, 64<<10); err != nil {
		return err
	}
	for k := range raw {
		if !slices.Contains(allowed, k) {
			return registry.Errorf(registry.EINVALID, "unknown field %q: this route takes %s", k, strings.Join(allowed, ", "))
		}
	}
	if raw == nil {
		return nil
	}
	data, _ := json.Marshal(raw)
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	return nil
}
