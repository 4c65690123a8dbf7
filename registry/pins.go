package registry

import (
	"maps"
	"slices"
)

// PinsFile is the path of the pins file on the tracked branch.
const PinsFile = "promptreg.pins.yaml"

// Pins pin prompt versions, read from the tracked branch's head: what
// requests without a selection (Default) and each environment serve for a
// prompt instead of the content at their commit. A pin maps a prompt name to
// a version's checksum, or to "" for "not served" (a draft of a new prompt).
//
// Pins are how a draft exists without leaving the tracked branch (version
// numbers stay a function of its first-parent history): the draft commit
// writes the new content and pins what was served before; activating it
// removes the pin. They are also how one prompt is promoted to an
// environment without moving the environment's ref.
type Pins struct {
	Default      map[string]string
	Environments map[string]map[string]string
}

// Empty reports whether p pins nothing.
func (p Pins) Empty() bool {
	if len(p.Default) > 0 {
		return false
	}
	for _, m := range p.Environments {
		if len(m) > 0 {
			return false
		}
	}
	return true
}

// Clone returns a deep copy of p, with its maps allocated.
func (p Pins) Clone() Pins {
	c := Pins{Default: maps.Clone(p.Default), Environments: map[string]map[string]string{}}
	if c.Default == nil {
		c.Default = map[string]string{}
	}
	for env, m := range p.Environments {
		c.Environments[env] = maps.Clone(m)
	}
	return c
}

// Set pins name to checksum ("" for not served) in the environment env, or
// in Default when env is "". p must have its maps allocated (Clone).
func (p Pins) Set(env, name, checksum string) {
	if env == "" {
		p.Default[name] = checksum
		return
	}
	if p.Environments[env] == nil {
		p.Environments[env] = map[string]string{}
	}
	p.Environments[env][name] = checksum
}

// Unset removes the pin of name in env ("" for Default).
func (p Pins) Unset(env, name string) {
	if env == "" {
		delete(p.Default, name)
		return
	}
	delete(p.Environments[env], name)
	if len(p.Environments[env]) == 0 {
		delete(p.Environments, env)
	}
}

// Get returns the pin of name in env ("" for Default).
func (p Pins) Get(env, name string) (checksum string, ok bool) {
	m := p.Default
	if env != "" {
		m = p.Environments[env]
	}
	checksum, ok = m[name]
	return checksum, ok
}

// Equal reports whether p and o pin the same.
func (p Pins) Equal(o Pins) bool {
	if !maps.Equal(p.Default, o.Default) {
		return false
	}
	envs := func(x Pins) []string {
		var out []string
		for env, m := range x.Environments {
			if len(m) > 0 {
				out = append(out, env)
			}
		}
		slices.Sort(out)
		return out
	}
	if !slices.Equal(envs(p), envs(o)) {
		return false
	}
	for env, m := range p.Environments {
		if !maps.Equal(m, o.Environments[env]) {
			return false
		}
	}
	return true
}

// PinStatus is one pin as status, versions and lint show it.
type PinStatus struct {
	Name string `json:"name"`
	// Checksum is the pinned version's, "" when the prompt is pinned as
	// not served.
	Checksum string `json:"checksum,omitempty"`
	Version  int    `json:"version,omitempty"`
	// Hidden: the prompt is not served (a draft of a new prompt).
	Hidden bool `json:"hidden,omitempty"`
	// Error says why the pin cannot be honoured (the checksum is no
	// version of the prompt); the selection serves its own content.
	Error string `json:"error,omitempty"`
}

// PinsStatus is the pins file at the head as served.
type PinsStatus struct {
	// Commit is the commit the pins were read at.
	Commit       string                 `json:"commit"`
	Default      []PinStatus            `json:"default"`
	Environments map[string][]PinStatus `json:"environments"`
	// Problem says why the head's pins file is not used (it does not
	// parse); the pins read before stay in force.
	Problem *Problem `json:"problem,omitempty"`
}
