package writes

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/promptreg/promptreg/registry"
)

// Result is what a write of one prompt answers.
type Result struct {
	Name string `json:"name"`
	// Version is the number the history gave the content written (the
	// existing one when nothing changed); absent if the write was pushed
	// but could not be served yet.
	Version int `json:"version,omitempty"`
	// Checksum is the sha256 of the content written ("" for a delete).
	Checksum string `json:"checksum,omitempty"`
	// Commit is the commit pushed, or when nothing changed the head the
	// write found.
	Commit string `json:"commit"`
	// Changed says whether the prompt's content changed. A write that only
	// moves a pin (activating a draft) commits with Changed false.
	Changed bool `json:"changed"`
	// Active says whether requests without a selection get this version
	// (false under a default_environment that does not serve it yet).
	Active bool   `json:"active"`
	Mode   string `json:"mode,omitempty"`
	Path   string `json:"path,omitempty"`
	// Previous is the checksum the prompt had before the write ("" for a
	// new prompt), for the audit log.
	Previous string `json:"-"`
}

// SaveRequest saves a prompt: a whole file (Content), or Fields applied to
// the prompt's file (or to a new one).
type SaveRequest struct {
	Name    string
	Content []byte // the whole file; nil to use Fields
	Fields  Fields
	// IfMatch is the checksum the caller last saw ("" for none): the write
	// fails with EPRECONDITION if the prompt's current version differs.
	IfMatch string
	// Active false saves a draft: committed and numbered, but the
	// selections that follow the branch keep serving what they serve
	// (pins). nil or true makes the content current there.
	Active  *bool
	Message string
	Actor   Actor
}

// Save creates or updates a prompt. Content identical to the current file
// commits nothing and answers the existing version with Changed false.
// Errors: EINVALID (a bad name, nothing to write), EUNPROCESSABLE (content
// that does not parse, a name another file claims, a missing partial),
// ETOOLARGE, EPRECONDITION, ECONFLICT, and those of the push.
func (w *Writer) Save(ctx context.Context, req SaveRequest) (*Result, error) {
	if req.Content == nil && req.Fields.empty() {
		return nil, registry.Errorf(registry.EINVALID, "nothing to save: send content (the whole file) or template_source and the fields to set")
	}
	return w.writePrompt(ctx, req.Name, req.IfMatch, req.Message, req.Actor, false, activeRule(req.Active), func(ctx context.Context, base *registry.Snapshot, file string, old []byte) (*change, Result, error) {
		if file == "" {
			file = newPath(base.Config, req.Name)
		}
		res := Result{Name: req.Name, Path: file}
		data := req.Content
		if data == nil {
			var err error
			if data, err = compose(old, req.Fields); err != nil {
				return nil, res, err
			}
		}
		if old != nil && bytes.Equal(old, data) {
			return nil, res, nil
		}
		if err := w.check(ctx, base, file, req.Name, data, old == nil); err != nil {
			return nil, res, err
		}
		verb := "Update"
		if old == nil {
			verb = "Create"
		}
		return &change{files: []registry.FileChange{{Path: file, Content: data}}, subject: verb + " " + req.Name, action: "save"}, res, nil
	})
}

// promptWrite is the part of a write of one prompt that runs on each head:
// given the prompt's file and bytes there ("" and nil when it has none),
// the change to commit (nil for none) and the result to answer.
type promptWrite func(ctx context.Context, base *registry.Snapshot, file string, old []byte) (*change, Result, error)

// writePrompt runs a write of the named prompt: it finds the prompt's file
// on the head, checks If-Match (and that the prompt exists, if mustExist),
// lets fn plan the change, and adds the change of the pins file that rule
// asks for.
func (w *Writer) writePrompt(ctx context.Context, name, ifMatch, message string, actor Actor, mustExist bool, rule pinRule, fn promptWrite) (*Result, error) {
	if err := registry.ValidateName(name); err != nil {
		return nil, err
	}
	var res Result
	out, err := w.run(ctx, actor, message, func(ctx context.Context, st *registry.Served) (*change, error) {
		base := st.Head
		file, old, err := w.current(ctx, base, name)
		if err != nil {
			return nil, err
		}
		if mustExist && file == "" {
			return nil, registry.Errorf(registry.ENOTFOUND, "prompt %q not found at %s", name, short(base.Commit.SHA))
		}
		if err := checkIfMatch(base, name, ifMatch); err != nil {
			return nil, err
		}
		ch, r, err := fn(ctx, base, file, old)
		if err != nil {
			return nil, err
		}
		r.Previous, r.Checksum = checksumOf(old), checksumOf(old)
		if ch != nil {
			r.Changed, r.Checksum = true, ""
			for _, f := range ch.files {
				if f.Path == r.Path {
					r.Checksum = checksumOf(f.Content)
				}
			}
		}
		res = r
		return w.withPins(ctx, st, ch, rule, name, r)
	})
	if err != nil {
		return nil, err
	}
	return out.result(res), nil
}

// result fills r from the outcome: the commit, and, if the served head has
// the content written (it has unless publishing failed), its version and
// mode; Active if requests without a selection get it.
func (o *outcome) result(r Result) *Result {
	r.Commit = o.served.Head.Commit.SHA
	if o.commit != nil {
		r.Commit = o.commit.SHA
	}
	if r.Checksum == "" {
		return &r
	}
	if e, ok := o.served.Head.Get(r.Name); ok && e.Prompt.Checksum == r.Checksum {
		r.Version, r.Mode, r.Path = e.Prompt.Version, e.Prompt.Mode, e.Prompt.File
	}
	d, ok := o.served.Default.Get(r.Name)
	r.Active = ok && d.Prompt.Checksum == r.Checksum && d.Stale == ""
	return &r
}

// DeleteRequest deletes a prompt's file.
type DeleteRequest struct {
	Name    string
	IfMatch string
	Message string
	Actor   Actor
}

// Delete commits the removal of a prompt's file; its versions stay
// readable by ?version= and ?checksum=. Errors: ENOTFOUND, EPRECONDITION,
// ECONFLICT (other prompts include it), and those of the push.
func (w *Writer) Delete(ctx context.Context, req DeleteRequest) (*Result, error) {
	return w.writePrompt(ctx, req.Name, req.IfMatch, req.Message, req.Actor, true, pinsActivate, func(ctx context.Context, base *registry.Snapshot, file string, old []byte) (*change, Result, error) {
		res := Result{Name: req.Name, Path: file}
		if err := refuseIncluded(base, req.Name); err != nil {
			return nil, res, err
		}
		return &change{files: []registry.FileChange{{Path: file}}, subject: "Delete " + req.Name, action: "delete"}, res, nil
	})
}

// RenameRequest moves a prompt to a new name.
type RenameRequest struct {
	Name, NewName string
	IfMatch       string
	Message       string
	Actor         Actor
}

// Rename commits the move of a prompt's file to its new name's path. A file
// whose front matter names the prompt gets the new name written there (new
// bytes: a new version); otherwise the bytes, and so the checksum, stay.
// Errors: ENOTFOUND, EINVALID, ECONFLICT (the new name is taken, other
// prompts include the old one), EPRECONDITION, and those of the push.
func (w *Writer) Rename(ctx context.Context, req RenameRequest) (*Result, error) {
	if err := registry.ValidateName(req.NewName); err != nil {
		return nil, registry.Errorf(registry.EINVALID, "new_name: %s", registry.ErrorMessage(err))
	}
	if req.NewName == req.Name {
		return nil, registry.Errorf(registry.EINVALID, "new_name is the prompt's name")
	}
	return w.writePrompt(ctx, req.Name, req.IfMatch, req.Message, req.Actor, true, pinsRename, func(ctx context.Context, base *registry.Snapshot, file string, old []byte) (*change, Result, error) {
		res := Result{Name: req.NewName}
		if taken, _, err := w.current(ctx, base, req.NewName); err != nil {
			return nil, res, err
		} else if taken != "" {
			return nil, res, registry.Errorf(registry.ECONFLICT, "prompt %q already exists (%s)", req.NewName, taken)
		}
		if err := refuseIncluded(base, req.Name); err != nil {
			return nil, res, err
		}
		if vs, err := w.versions.Versions(ctx, req.NewName); err == nil && len(vs) > 0 {
			return nil, res, registry.Errorf(registry.ECONFLICT, "prompt %q existed before (%d versions, since deleted): its history would not follow a rename onto it; choose another name", req.NewName, len(vs))
		}
		data := old
		if hasKey(old, "name") {
			var err error
			if data, err = compose(old, Fields{Name: &req.NewName}); err != nil {
				return nil, res, err
			}
		}
		res.Path = renamedPath(base.Config, file, req.Name, req.NewName)
		if err := w.check(ctx, base, res.Path, req.NewName, data, true); err != nil {
			return nil, res, err
		}
		return &change{files: []registry.FileChange{{Path: file}, {Path: res.Path, Content: data}},
			subject: fmt.Sprintf("Rename %s to %s", req.Name, req.NewName), action: "rename",
			trailers: []string{fmt.Sprintf("%s: %s -> %s", registry.RenameTrailer, req.Name, req.NewName)}}, res, nil
	})
}

// TagsRequest sets or removes a prompt's tags.
type TagsRequest struct {
	Name string
	Tags []string
	// Remove removes Tags (all tags when Tags is empty) instead of setting
	// the list to Tags.
	Remove  bool
	IfMatch string
	Message string
	Actor   Actor
}

// Tags commits a prompt's new tag list (PUT replaces it, DELETE removes
// from it). Errors: ENOTFOUND, EINVALID, EPRECONDITION, and those of Save.
func (w *Writer) Tags(ctx context.Context, req TagsRequest) (*Result, error) {
	for _, t := range req.Tags {
		if strings.TrimSpace(t) == "" || strings.ContainsAny(t, "\n\r") {
			return nil, registry.Errorf(registry.EINVALID, "tags must be non-empty single-line strings")
		}
	}
	return w.writePrompt(ctx, req.Name, req.IfMatch, req.Message, req.Actor, true, pinsKeep, func(ctx context.Context, base *registry.Snapshot, file string, old []byte) (*change, Result, error) {
		res := Result{Name: req.Name, Path: file}
		e, ok := base.Get(req.Name)
		if !ok {
			return nil, res, registry.Errorf(registry.ENOTFOUND, "prompt %q is not served at %s: fix its file first", req.Name, short(base.Commit.SHA))
		}
		tags := slices.Clone(req.Tags)
		if req.Remove {
			tags = nil
			if len(req.Tags) > 0 {
				for _, t := range e.Prompt.Tags {
					if !slices.Contains(req.Tags, t) {
						tags = append(tags, t)
					}
				}
			}
		}
		if tags == nil {
			tags = []string{}
		}
		if slices.Equal(tags, e.Prompt.Tags) {
			return nil, res, nil
		}
		data, err := compose(old, Fields{Tags: &tags})
		if err != nil {
			return nil, res, err
		}
		if err := w.check(ctx, base, file, req.Name, data, false); err != nil {
			return nil, res, err
		}
		return &change{files: []registry.FileChange{{Path: file, Content: data}}, subject: "Set the tags of " + req.Name, action: "tags"}, res, nil
	})
}

// RevertRequest writes an earlier version of a prompt back.
type RevertRequest struct {
	Name    string
	Version int
	IfMatch string
	// Active is as in SaveRequest: reverting a draft's version with
	// Active nil or true makes it current.
	Active  *bool
	Message string
	Actor   Actor
}

// Revert commits version N's bytes back to the prompt's file (to the
// version's path if the prompt was deleted): the prompt is version N again,
// same number, same checksum. Errors: ENOTFOUND (no such version),
// EUNPROCESSABLE (it no longer builds: a partial it includes is gone),
// EPRECONDITION, and those of the push.
func (w *Writer) Revert(ctx context.Context, req RevertRequest) (*Result, error) {
	if err := registry.ValidateName(req.Name); err != nil {
		return nil, err
	}
	if req.Version < 1 {
		return nil, registry.Errorf(registry.EINVALID, "version must be a positive integer")
	}
	data, v, err := w.versions.VersionBytes(ctx, req.Name, req.Version)
	if err != nil {
		return nil, err
	}
	return w.writePrompt(ctx, req.Name, req.IfMatch, req.Message, req.Actor, false, activeRule(req.Active), func(ctx context.Context, base *registry.Snapshot, file string, old []byte) (*change, Result, error) {
		if file == "" {
			file = v.Path
		}
		res := Result{Name: req.Name, Path: file}
		if bytes.Equal(old, data) {
			return nil, res, nil
		}
		if err := w.check(ctx, base, file, req.Name, data, old == nil); err != nil {
			return nil, res, err
		}
		return &change{files: []registry.FileChange{{Path: file, Content: data}},
			subject: fmt.Sprintf("Revert %s to version %d", req.Name, req.Version), action: "revert"}, res, nil
	})
}

// current returns the file of the named prompt at base and its bytes: the
// entry's file, or the file of a broken prompt of that name; "" and nil
// when there is none.
func (w *Writer) current(ctx context.Context, base *registry.Snapshot, name string) (string, []byte, error) {
	file := ""
	if e, ok := base.Get(name); ok {
		file = e.Prompt.File
	} else {
		for _, p := range base.Problems {
			if p.Name == name {
				file = p.Path
				break
			}
		}
	}
	if file == "" {
		return "", nil, nil
	}
	data, err := w.src.ReadFile(ctx, base.Commit.SHA, file)
	if registry.ErrorCode(err) == registry.ENOTFOUND {
		// Served from its last known good version, its file deleted.
		return "", nil, nil
	}
	return file, data, err
}

// check validates content written to file for the prompt name on top of
// base: its size, that it parses, that it is the prompt of that name, that a
// new file takes no other file's place, and that its partials exist and do
// not include it back.
func (w *Writer) check(ctx context.Context, base *registry.Snapshot, file, name string, data []byte, isNew bool) error {
	if len(data) > registry.MaxFileSize {
		return registry.Errorf(registry.ETOOLARGE, "the prompt file would be %d bytes, over the limit of %d", len(data), registry.MaxFileSize)
	}
	if isNew {
		if _, err := w.src.ReadFile(ctx, base.Commit.SHA, file); err == nil {
			return registry.Errorf(registry.EUNPROCESSABLE, "%s already exists and holds another prompt (its front matter names it): choose another name", file)
		} else if registry.ErrorCode(err) != registry.ENOTFOUND {
			return err
		}
	}
	pathName, ok := registry.NameFromPath(base.Config.Root, base.Config.Extensions, file)
	if !ok {
		pathName = name
	}
	p, err := w.parser.ParsePrompt(file, pathName, data)
	if err != nil {
		return problemError(err)
	}
	if p.Name != name {
		return &registry.Error{Code: registry.EUNPROCESSABLE, Details: []registry.Problem{{Path: file, Name: p.Name, Message: fmt.Sprintf("the front matter names the prompt %q, not %q", p.Name, name)}},
			Message: fmt.Sprintf("the content names the prompt %q, but it is saved as %q", p.Name, name)}
	}
	var missing []string
	for _, ref := range p.References {
		if ref == name {
			return unprocessable(file, name, fmt.Sprintf("the template includes itself (%q)", ref))
		}
		if _, ok := base.Get(ref); !ok {
			missing = append(missing, ref)
		}
	}
	if len(missing) > 0 {
		return unprocessable(file, name, fmt.Sprintf("the template includes %s, which does not exist", strings.Join(quoted(missing), ", ")))
	}
	if cycle := includeCycle(base, name, p.References); cycle != "" {
		return unprocessable(file, name, "partials include each other: "+cycle)
	}
	return nil
}

// includeCycle returns the cycle (a → b → a) that saving name with refs
// would close through base's prompts, or "".
func includeCycle(base *registry.Snapshot, name string, refs []string) string {
	for _, ref := range refs {
		e, ok := base.Get(ref)
		if !ok {
			continue
		}
		for _, inc := range e.Prompt.Includes {
			if inc.Name == name {
				return fmt.Sprintf("%s → %s → %s", name, ref, name)
			}
		}
	}
	return ""
}

// refuseIncluded fails with ECONFLICT while other prompts of base include
// name: deleting or renaming it would break them.
func refuseIncluded(base *registry.Snapshot, name string) error {
	by := dependents(base, name)
	if len(by) == 0 {
		return nil
	}
	return &registry.Error{Code: registry.ECONFLICT, Details: map[string]any{"included_by": by},
		Message: fmt.Sprintf("prompt %q is included by %s: change those first", name, strings.Join(by, ", "))}
}

// dependents returns the prompts of base that include name, sorted.
func dependents(base *registry.Snapshot, name string) []string {
	var by []string
	for _, n := range base.Names() {
		e, _ := base.Get(n)
		for _, inc := range e.Prompt.Includes {
			if inc.Name == name {
				by = append(by, n)
				break
			}
		}
	}
	return by
}

// checkIfMatch fails with EPRECONDITION when the caller's checksum is not
// the prompt's current version ("" asks nothing).
func checkIfMatch(base *registry.Snapshot, name, ifMatch string) error {
	if ifMatch == "" {
		return nil
	}
	e, ok := base.Get(name)
	if !ok {
		return &registry.Error{Code: registry.EPRECONDITION, Details: Conflict{Path: name, Expected: ifMatch},
			Message: fmt.Sprintf("If-Match: prompt %q does not exist", name)}
	}
	if ifMatch == "*" || ifMatch == e.Prompt.Checksum {
		return nil
	}
	return &registry.Error{Code: registry.EPRECONDITION, Details: Conflict{Path: e.Prompt.File, Expected: ifMatch, Current: e.Prompt.Checksum},
		Message: fmt.Sprintf("If-Match: prompt %q is at checksum %s (version %d), not %s", name, e.Prompt.Checksum, e.Prompt.Version, ifMatch)}
}

// newPath is where a new prompt's file goes: <root>/<name>.prompt.
func newPath(cfg registry.RepoConfig, name string) string {
	return path.Join(cfg.Root, name+".prompt")
}

// renamedPath is where file goes when its prompt is renamed: the new name's
// path with the file's extension, in the tracking folder if it was there.
func renamedPath(cfg registry.RepoConfig, file, oldName, newName string) string {
	ext := path.Ext(file)
	if strings.HasSuffix(strings.TrimSuffix(file, ext), "/"+oldName) || strings.TrimSuffix(file, ext) == oldName {
		// The path names the prompt: replace the name in it.
		return strings.TrimSuffix(strings.TrimSuffix(file, ext), oldName) + newName + ext
	}
	return path.Join(path.Dir(file), path.Base(newName)+ext)
}

// problemError turns a parse failure into the 422 that lists it.
func problemError(err error) error {
	if p, ok := err.(*registry.Problem); ok {
		return &registry.Error{Code: registry.EUNPROCESSABLE, Message: "the prompt is not valid: " + p.Error(), Details: []registry.Problem{*p}, Err: err}
	}
	return err
}

func unprocessable(file, name, msg string) error {
	return &registry.Error{Code: registry.EUNPROCESSABLE, Message: msg, Details: []registry.Problem{{Path: file, Name: name, Message: msg}}}
}

func checksumOf(data []byte) string {
	if data == nil {
		return ""
	}
	return checksum(data)
}

func quoted(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
