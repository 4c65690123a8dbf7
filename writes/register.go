package writes

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/promptreg/promptreg/registry"
)

// MaxRegister bounds the prompts one register-code call may carry.
const MaxRegister = 500

// Tracked is one template an application registers.
type Tracked struct {
	Name   string
	Fields Fields // Template required
	// Hash is the sha256 the caller computed of the template, checked if
	// given (PromptLedger's template_hash).
	Hash string
}

// Registered is the outcome for one registered template, under
// PromptLedger's field names.
type Registered struct {
	Name            string `json:"name"`
	Mode            string `json:"mode"`
	Version         int    `json:"version,omitempty"`
	Checksum        string `json:"checksum,omitempty"`
	ChangeDetected  bool   `json:"change_detected"`
	PreviousVersion int    `json:"previous_version,omitempty"`
	// Action is new, update or unchanged.
	Action string `json:"action"`
	Path   string `json:"path"`
}

// RegisterResult is what register-code answers.
type RegisterResult struct {
	Registered int          `json:"registered"` // new prompts
	Updated    int          `json:"updated"`
	Unchanged  int          `json:"unchanged"`
	DryRun     bool         `json:"dry_run"`
	Commit     string       `json:"commit"`
	Details    []Registered `json:"details"`
}

// RegisterRequest registers the templates of an application's code.
type RegisterRequest struct {
	Prompts []Tracked
	DryRun  bool
	Message string
	Actor   Actor
}

// Register saves the changed templates of req in one commit, each under
// the tracking folder with its name in the front matter; unchanged ones
// create nothing. A name held by a prompt outside the tracking folder is
// refused (EUNPROCESSABLE): tracking mode never overwrites a prompt authors
// edit. DryRun computes the same answer and commits nothing.
func (w *Writer) Register(ctx context.Context, req RegisterRequest) (*RegisterResult, error) {
	if len(req.Prompts) == 0 {
		return nil, registry.Errorf(registry.EINVALID, "no prompts: send {\"prompts\": [{\"name\", \"template_source\"}, …]}")
	}
	if len(req.Prompts) > MaxRegister {
		return nil, registry.Errorf(registry.ETOOLARGE, "%d prompts in one call, over the limit of %d", len(req.Prompts), MaxRegister)
	}
	seen := map[string]bool{}
	for i, t := range req.Prompts {
		if err := registry.ValidateName(t.Name); err != nil {
			return nil, registry.Errorf(registry.EINVALID, "prompts[%d]: %s", i, registry.ErrorMessage(err))
		}
		if seen[t.Name] {
			return nil, registry.Errorf(registry.EINVALID, "prompts[%d]: %q is registered twice", i, t.Name)
		}
		seen[t.Name] = true
		if t.Fields.Template == nil {
			return nil, registry.Errorf(registry.EINVALID, "prompts[%d] (%s): template_source is required", i, t.Name)
		}
		if h := strings.ToLower(t.Hash); h != "" && h != checksum([]byte(*t.Fields.Template)) {
			return nil, registry.Errorf(registry.EINVALID, "prompts[%d] (%s): template_hash is not the sha256 of template_source", i, t.Name)
		}
	}

	var details []Registered
	var previous map[string]int
	p := func(ctx context.Context, st *registry.Served) (*change, error) {
		base := st.Head
		details, previous = nil, map[string]int{}
		var files []registry.FileChange
		var problems []registry.Problem
		for _, t := range req.Prompts {
			d, data, err := w.planTracked(ctx, base, t)
			if err != nil {
				if e, ok := err.(*registry.Error); ok && e.Code == registry.EUNPROCESSABLE {
					if ps, ok := e.Details.([]registry.Problem); ok {
						problems = append(problems, ps...)
						continue
					}
				}
				return nil, err
			}
			if e, ok := base.Get(t.Name); ok {
				previous[t.Name] = e.Prompt.Version
			}
			details = append(details, d)
			if data != nil {
				files = append(files, registry.FileChange{Path: d.Path, Content: data})
			}
		}
		if len(problems) > 0 {
			return nil, &registry.Error{Code: registry.EUNPROCESSABLE, Details: problems,
				Message: fmt.Sprintf("%d of the templates cannot be registered: %s", len(problems), problems[0].Message)}
		}
		if req.DryRun || len(files) == 0 {
			return nil, nil
		}
		return &change{files: files, subject: registerSubject(details), action: "register"}, nil
	}
	out, err := w.run(ctx, req.Actor, req.Message, p)
	if err != nil {
		return nil, err
	}
	res := &RegisterResult{DryRun: req.DryRun, Commit: out.served.Head.Commit.SHA, Details: details}
	if out.commit != nil {
		res.Commit = out.commit.SHA
	}
	for i := range res.Details {
		d := &res.Details[i]
		d.PreviousVersion = previous[d.Name]
		if e, ok := out.served.Head.Get(d.Name); ok && !req.DryRun {
			d.Version, d.Checksum = e.Prompt.Version, e.Prompt.Checksum
		} else if !d.ChangeDetected {
			d.Version = previous[d.Name]
		}
		switch d.Action {
		case "new":
			res.Registered++
		case "update":
			res.Updated++
		default:
			res.Unchanged++
		}
	}
	return res, nil
}

// planTracked returns what registering t changes at base: its detail, and
// the file's new content (nil when unchanged).
func (w *Writer) planTracked(ctx context.Context, base *registry.Snapshot, t Tracked) (Registered, []byte, error) {
	d := Registered{Name: t.Name, Mode: registry.ModeTracking, Action: "unchanged"}
	dir := registry.TrackingDir(base.Config)
	file, old, err := w.current(ctx, base, t.Name)
	if err != nil {
		return d, nil, err
	}
	if file != "" && !strings.HasPrefix(file, dir+"/") {
		return d, nil, unprocessable(file, t.Name, fmt.Sprintf("%q is a prompt authors edit (%s), not a tracked one: register it under another name", t.Name, file))
	}
	if file == "" {
		file = path.Join(dir, t.Name+".prompt")
	}
	d.Path = file
	name := t.Name
	f := t.Fields
	f.Name = &name
	data, err := compose(old, f)
	if err != nil {
		return d, nil, err
	}
	if old != nil && bytes.Equal(old, data) {
		if e, ok := base.Get(t.Name); ok {
			d.Version, d.Checksum = e.Prompt.Version, e.Prompt.Checksum
		}
		return d, nil, nil
	}
	if err := w.check(ctx, base, file, t.Name, data, old == nil); err != nil {
		return d, nil, err
	}
	d.ChangeDetected = true
	d.Action = "update"
	if old == nil {
		d.Action = "new"
	}
	return d, data, nil
}

// registerSubject is the commit subject of a registration.
func registerSubject(details []Registered) string {
	var names []string
	for _, d := range details {
		if d.ChangeDetected {
			names = append(names, d.Name)
		}
	}
	sort.Strings(names)
	if len(names) <= 3 {
		return "Register " + strings.Join(names, ", ") + " from code"
	}
	return fmt.Sprintf("Register %s and %d more from code", strings.Join(names[:3], ", "), len(names)-3)
}
