package writes

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/repoconfig"
)

// pinRule is what a write of a prompt does to the pins of the selections
// that follow the tracked branch (the default selection when it serves the
// head, environments whose ref is the branch): the ones its commit would
// otherwise change.
type pinRule int

const (
	// pinsKeep leaves the pins as they are (tags, which keep a draft a
	// draft).
	pinsKeep pinRule = iota
	// pinsActivate removes the prompt's pins there: they serve what the
	// head has (a save or revert with set_active true, a delete).
	pinsActivate
	// pinsDraft pins, where the prompt is not pinned yet, what they serve
	// now: the new content is committed but not served (set_active false).
	pinsDraft
	// pinsRename moves the prompt's pins there to its new name (the
	// Result's Name).
	pinsRename
)

// following returns the selections of st that serve the tracked branch's
// head: "" for the default selection, and environment names.
func following(st *registry.Served) []string {
	var out []string
	if st.Default != nil && st.DefaultRef == st.Head.Ref {
		out = append(out, "")
	}
	for _, env := range slices.Sorted(maps.Keys(st.EnvRefs)) {
		if st.EnvRefs[env] == st.Head.Ref {
			out = append(out, env)
		}
	}
	return out
}

// pinsAt reads the pins file at base. A broken one fails the write: it
// would be written back without what it meant.
func (w *Writer) pinsAt(ctx context.Context, base *registry.Snapshot) (registry.Pins, error) {
	pins, problem, err := repoconfig.ReadPins(ctx, w.src, base.Commit.SHA)
	if err != nil {
		return registry.Pins{}, err
	}
	if problem != nil {
		return registry.Pins{}, &registry.Error{Code: registry.EUNPROCESSABLE, Details: []registry.Problem{*problem},
			Message: fmt.Sprintf("%s is broken (%s): fix it before writing", registry.PinsFile, problem.Message)}
	}
	return pins.Clone(), nil
}

// withPins adds to ch (nil: the prompt's file does not change) the change
// of the pins file that rule makes for the prompt name, written as r says.
func (w *Writer) withPins(ctx context.Context, st *registry.Served, ch *change, rule pinRule, name string, r Result) (*change, error) {
	if rule == pinsKeep {
		return ch, nil
	}
	was, err := w.pinsAt(ctx, st.Head)
	if err != nil {
		return nil, err
	}
	pins := was.Clone()
	for _, sel := range following(st) {
		cur, pinned := pins.Get(sel, name)
		switch rule {
		case pinsActivate:
			pins.Unset(sel, name)
		case pinsDraft:
			if pinned || ch == nil {
				continue // already held back, or nothing new to hold back
			}
			pins.Set(sel, name, servedChecksum(st, sel, name))
		case pinsRename:
			if pinned {
				pins.Unset(sel, name)
				pins.Set(sel, r.Name, cur)
			}
		}
	}
	if pins.Equal(was) {
		return ch, nil
	}
	f := registry.FileChange{Path: registry.PinsFile, Content: repoconfig.EncodePins(pins)}
	if ch == nil {
		subject := "Activate " + name
		if rule == pinsDraft {
			subject = "Hold back " + name
		}
		return &change{files: []registry.FileChange{f}, subject: subject, action: "pin"}, nil
	}
	c := *ch
	c.files = append(slices.Clone(ch.files), f)
	return &c, nil
}

// servedChecksum is the checksum of what selection sel ("" for the default
// one) of st serves for name; "" when it serves nothing of that name.
func servedChecksum(st *registry.Served, sel, name string) string {
	s := st.Default
	if sel != "" {
		s = st.Envs[sel]
	}
	if e, ok := s.Get(name); ok && e.Stale == "" {
		return e.Prompt.Checksum
	}
	return ""
}

// PinRequest pins one prompt's version in an environment (a single-prompt
// promotion), or removes its pin.
type PinRequest struct {
	Env  string
	Name string
	// Version is the version to serve; 0 with Unpin.
	Version int
	// Unpin removes the pin: the environment serves its ref's content.
	Unpin   bool
	Message string
	Actor   Actor
}

// PinResult is what a pin answers.
type PinResult struct {
	Environment string `json:"environment"`
	Name        string `json:"prompt"`
	Version     int    `json:"version,omitempty"`
	Checksum    string `json:"checksum,omitempty"`
	// Commit is the commit that changed the pins file, or the head when
	// nothing changed.
	Commit  string `json:"commit"`
	Changed bool   `json:"changed"`
	// Served says whether the environment now serves that version.
	Served bool `json:"served"`
	// Previous is the checksum the environment served before, for the
	// audit log.
	Previous string `json:"-"`
}

// Pin commits the pin of a prompt's version in an environment. Errors:
// ENOTFOUND (no such environment or version), EUNPROCESSABLE (a broken pins
// file), and those of the push.
func (w *Writer) Pin(ctx context.Context, req PinRequest) (*PinResult, error) {
	if err := registry.ValidateName(req.Name); err != nil {
		return nil, err
	}
	if !req.Unpin && req.Version < 1 {
		return nil, registry.Errorf(registry.EINVALID, "version must be a positive integer")
	}
	res := &PinResult{Environment: req.Env, Name: req.Name, Version: req.Version}
	if !req.Unpin {
		data, _, err := w.versions.VersionBytes(ctx, req.Name, req.Version)
		if err != nil {
			return nil, err
		}
		res.Checksum = checksum(data)
	}
	out, err := w.run(ctx, req.Actor, req.Message, func(ctx context.Context, st *registry.Served) (*change, error) {
		if _, ok := st.Head.Config.Environments[req.Env]; !ok {
			return nil, registry.Errorf(registry.ENOTFOUND, "environment %q is not configured in %s", req.Env, registry.ConfigFile)
		}
		if s, ok := st.Envs[req.Env]; ok {
			if e, ok := s.Get(req.Name); ok {
				res.Previous = e.Prompt.Checksum
			}
		}
		was, err := w.pinsAt(ctx, st.Head)
		if err != nil {
			return nil, err
		}
		pins := was.Clone()
		subject := fmt.Sprintf("Pin %s to version %d in %s", req.Name, req.Version, req.Env)
		if req.Unpin {
			pins.Unset(req.Env, req.Name)
			subject = fmt.Sprintf("Unpin %s in %s", req.Name, req.Env)
		} else {
			pins.Set(req.Env, req.Name, res.Checksum)
		}
		if pins.Equal(was) {
			return nil, nil
		}
		return &change{files: []registry.FileChange{{Path: registry.PinsFile, Content: repoconfig.EncodePins(pins)}},
			subject: subject, action: "pin"}, nil
	})
	if err != nil {
		return nil, err
	}
	res.Changed = out.commit != nil
	res.Commit = out.served.Head.Commit.SHA
	if out.commit != nil {
		res.Commit = out.commit.SHA
	}
	if s, ok := out.served.Envs[req.Env]; ok {
		e, ok := s.Get(req.Name)
		res.Served = ok && (req.Unpin || e.Prompt.Checksum == res.Checksum)
		if req.Unpin && ok {
			res.Version, res.Checksum = e.Prompt.Version, e.Prompt.Checksum
		}
	}
	return res, nil
}

// activeRule is the pin rule of a save with set_active (nil: true).
func activeRule(active *bool) pinRule {
	if active != nil && !*active {
		return pinsDraft
	}
	return pinsActivate
}
