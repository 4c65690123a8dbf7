package repoconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/promptreg/promptreg/internal/yamlerr"
	"github.com/promptreg/promptreg/registry"
)

// pinsFile is promptreg.pins.yaml as written: a null value pins a prompt as
// not served.
type pinsFile struct {
	Default      map[string]*string            `yaml:"default"`
	Environments map[string]map[string]*string `yaml:"environments"`
}

// ParsePins parses promptreg.pins.yaml. A broken or invalid file is a
// *registry.Problem about it, with the line where known.
func ParsePins(data []byte) (registry.Pins, error) {
	var raw pinsFile
	prob := func(line int, format string, args ...any) error {
		return &registry.Problem{Path: registry.PinsFile, Line: line, Message: fmt.Sprintf(format, args...)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		line, msg := yamlerr.Split(err)
		return registry.Pins{}, prob(line, "%s", msg)
	}
	out := registry.Pins{Default: map[string]string{}, Environments: map[string]map[string]string{}}
	section := func(where string, in map[string]*string, dst map[string]string) error {
		for name, sum := range in {
			if err := registry.ValidateName(name); err != nil {
				return prob(0, "%s: %s", where, registry.ErrorMessage(err))
			}
			if sum == nil {
				dst[name] = ""
				continue
			}
			c := strings.ToLower(strings.TrimSpace(*sum))
			if len(c) != 64 || !registry.IsHex(c) {
				return prob(0, "%s: the pin of %q must be a version's sha256 checksum (64 hex digits) or null, not %q", where, name, *sum)
			}
			dst[name] = c
		}
		return nil
	}
	if err := section("default", raw.Default, out.Default); err != nil {
		return registry.Pins{}, err
	}
	for env, in := range raw.Environments {
		if err := registry.ValidateName(env); err != nil || strings.Contains(env, "/") {
			return registry.Pins{}, prob(0, "environment name %q: use letters, digits, '.', '_' and '-'", env)
		}
		dst := map[string]string{}
		if err := section("environments."+env, in, dst); err != nil {
			return registry.Pins{}, err
		}
		if len(dst) > 0 {
			out.Environments[env] = dst
		}
	}
	return out, nil
}

// pinsHeader heads the file EncodePins writes.
const pinsHeader = `# Pinned prompt versions: what requests without a selection ("default") and
# each environment serve instead of the content at their commit. A value is a
# version's sha256 checksum, or null for "not served" (a draft of a new
# prompt). promptreg writes this file for drafts and single-prompt
# promotions; it may be edited by hand (comments are not kept).
`

// EncodePins returns the pins file that holds p: sorted, with a header
// saying what it is; nil when p pins nothing (the file is removed).
func EncodePins(p registry.Pins) []byte {
	if p.Empty() {
		return nil
	}
	var b strings.Builder
	b.WriteString(pinsHeader)
	section := func(indent string, m map[string]string) {
		for _, name := range slices.Sorted(maps.Keys(m)) {
			v := "null"
			if m[name] != "" {
				v = m[name]
			}
			fmt.Fprintf(&b, "%s%s: %s\n", indent, yamlKey(name), v)
		}
	}
	if len(p.Default) > 0 {
		b.WriteString("default:\n")
		section("  ", p.Default)
	}
	var envs []string
	for env, m := range p.Environments {
		if len(m) > 0 {
			envs = append(envs, env)
		}
	}
	if len(envs) > 0 {
		b.WriteString("environments:\n")
		for _, env := range slices.Sorted(slices.Values(envs)) {
			fmt.Fprintf(&b, "  %s:\n", yamlKey(env))
			section("    ", p.Environments[env])
		}
	}
	return []byte(b.String())
}

// yamlKey quotes a key that YAML would not read back as the same string.
func yamlKey(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Sprintf("%q", s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// ReadPins reads promptreg.pins.yaml at commit sha of src: no pins when
// there is none; the problem when it is broken. The error is for a file that
// could not be read.
func ReadPins(ctx context.Context, src registry.Source, sha string) (registry.Pins, *registry.Problem, error) {
	data, err := src.ReadFile(ctx, sha, registry.PinsFile)
	switch {
	case registry.ErrorCode(err) == registry.ENOTFOUND:
		return registry.Pins{}, nil, nil
	case err != nil:
		return registry.Pins{}, nil, fmt.Errorf("read %s at %s: %w", registry.PinsFile, sha, err)
	}
	p, err := ParsePins(data)
	if err != nil {
		var pr *registry.Problem
		if !errors.As(err, &pr) {
			pr = &registry.Problem{Path: registry.PinsFile, Message: registry.ErrorMessage(err)}
		}
		return registry.Pins{}, pr, nil
	}
	return p, nil, nil
}
