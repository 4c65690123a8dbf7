// Package repoconfig owns promptreg.yaml, the optional configuration at a
// prompt repository's root: its format, defaults, validation, reading it.
package repoconfig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/promptreg/promptreg/internal/yamlerr"
	"github.com/promptreg/promptreg/registry"
)

// Parse parses promptreg.yaml. A broken or invalid file is a
// *registry.Problem about it, with the line where known.
func Parse(data []byte) (registry.RepoConfig, error) {
	var raw struct {
		Root               string            `yaml:"root"`
		Extensions         []string          `yaml:"extensions"`
		Environments       map[string]string `yaml:"environments"`
		DefaultEnvironment string            `yaml:"default_environment"`
		Tracking           string            `yaml:"tracking_dir"`
	}
	prob := func(line int, format string, args ...any) error {
		return &registry.Problem{Path: registry.ConfigFile, Line: line, Message: fmt.Sprintf(format, args...)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && !errors.Is(err, io.EOF) {
		line, msg := yamlerr.Split(err)
		return registry.RepoConfig{}, prob(line, "%s", msg)
	}
	cfg := registry.RepoConfig{
		Root:               strings.Trim(raw.Root, "/"),
		Extensions:         raw.Extensions,
		Environments:       raw.Environments,
		DefaultEnvironment: raw.DefaultEnvironment,
		Tracking:           strings.Trim(raw.Tracking, "/"),
	}
	if cfg.Root == "." {
		cfg.Root = ""
	}
	for _, seg := range strings.Split(cfg.Root, "/") {
		if seg == ".." {
			return cfg, prob(0, "root %q leaves the repository", raw.Root)
		}
	}
	for i, ext := range cfg.Extensions {
		norm := "." + strings.TrimPrefix(ext, ".")
		if len(norm) < 2 || strings.ContainsAny(norm, "/\\ \t") {
			return cfg, prob(0, "extension %q is not a file extension", ext)
		}
		cfg.Extensions[i] = norm
	}
	for env, ref := range cfg.Environments {
		if err := registry.ValidateName(env); err != nil || strings.Contains(env, "/") {
			return cfg, prob(0, "environment name %q: use letters, digits, '.', '_' and '-'", env)
		}
		if strings.TrimSpace(ref) == "" {
			return cfg, prob(0, "environment %q has no ref", env)
		}
	}
	if de := cfg.DefaultEnvironment; de != "" {
		if _, ok := cfg.Environments[de]; !ok {
			return cfg, prob(0, "default_environment %q is not one of the environments", de)
		}
	}
	if cfg.Tracking == "" {
		cfg.Tracking = registry.DefaultTracking
	}
	if err := registry.ValidateName(cfg.Tracking); err != nil {
		return cfg, prob(0, "tracking_dir %q: %s", raw.Tracking, registry.ErrorMessage(err))
	}
	if len(cfg.Extensions) == 0 {
		cfg.Extensions = append([]string(nil), registry.DefaultExtensions...)
	}
	return cfg, nil
}

// Read reads promptreg.yaml at commit sha of src: the default configuration
// when there is none; fallback and the problem when it is broken. The error
// is for a file that could not be read.
func Read(ctx context.Context, src registry.Source, sha string, fallback registry.RepoConfig) (registry.RepoConfig, *registry.Problem, error) {
	data, err := src.ReadFile(ctx, sha, registry.ConfigFile)
	switch {
	case registry.ErrorCode(err) == registry.ENOTFOUND:
		return registry.DefaultConfig(), nil, nil
	case err != nil:
		return fallback, nil, fmt.Errorf("read %s at %s: %w", registry.ConfigFile, sha, err)
	}
	cfg, err := Parse(data)
	if err != nil {
		var p *registry.Problem
		if !errors.As(err, &p) {
			p = &registry.Problem{Path: registry.ConfigFile, Message: registry.ErrorMessage(err)}
		}
		return fallback, p, nil
	}
	return cfg, nil, nil
}
