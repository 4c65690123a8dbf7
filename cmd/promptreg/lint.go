package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/repoconfig"
	"github.com/promptreg/promptreg/snapshots"
)

// runLint checks the prompt repository in a folder (default ".") the way
// the server would load it: promptreg.yaml, every prompt file, names claimed
// twice, partials. It prints one problem per line as path:line:col: message.
func runLint(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("lint", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: promptreg lint [DIR]\n\nExit status: 0 clean, 1 problems found, 2 usage error.")
	}
	if err := parseFlags(fl, args, getenv); err != nil {
		return usageError(stderr, err)
	}
	if fl.NArg() > 1 {
		fmt.Fprintln(stderr, "promptreg lint: at most one folder")
		return exitUsage
	}
	dir := "."
	if fl.NArg() == 1 {
		dir = fl.Arg(0)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "promptreg lint: %s is not a folder\n", dir)
		return exitUsage
	}
	snap, err := snapshots.Build(ctx, &dirSource{root: dir}, render.NewParser(), worktree, worktree)
	if err != nil {
		// An unreadable file is a problem of the tree, not of the command line.
		fmt.Fprintf(stderr, "promptreg lint: %v\n", err)
		return exitProblems
	}
	problems := append(snap.Problems, lintPins(ctx, dir, snap, stderr)...)
	for _, p := range problems {
		fmt.Fprintln(stdout, p.Error())
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "%d problem(s) in %d file(s) checked\n", len(problems), snap.Len()+len(snap.Problems))
		return exitProblems
	}
	fmt.Fprintf(stderr, "%d prompt(s), no problems\n", snap.Len())
	return exitOK
}

// lintPins checks promptreg.pins.yaml in dir against the prompts and the
// environments of snap, and lists the pins on w: it parses, its environments
// are configured, and it pins only prompts the folder has. Whether a pinned
// checksum is a version is a question for the history the server keeps.
func lintPins(ctx context.Context, dir string, snap *registry.Snapshot, w io.Writer) []registry.Problem {
	pins, problem, err := repoconfig.ReadPins(ctx, &dirSource{root: dir}, worktree)
	if err != nil {
		return []registry.Problem{{Path: registry.PinsFile, Message: registry.ErrorMessage(err)}}
	}
	if problem != nil {
		return []registry.Problem{*problem}
	}
	var out []registry.Problem
	check := func(sel string, m map[string]string) {
		for _, name := range slices.Sorted(maps.Keys(m)) {
			sum := m[name]
			e, ok := snap.Get(name)
			switch {
			case !ok:
				out = append(out, registry.Problem{Path: registry.PinsFile, Name: name, Message: fmt.Sprintf("%s pins %q, which is not a prompt here", sel, name)})
				continue
			case sum == "":
				fmt.Fprintf(w, "pin: %s serves no %s (a draft)\n", sel, name)
			case sum == e.Prompt.Checksum:
				fmt.Fprintf(w, "pin: %s serves %s at %s, the content here\n", sel, name, sum[:12])
			default:
				fmt.Fprintf(w, "pin: %s serves %s at %s, not the content here (%s)\n", sel, name, sum[:12], e.Prompt.Checksum[:12])
			}
		}
	}
	check("default", pins.Default)
	for _, env := range slices.Sorted(maps.Keys(pins.Environments)) {
		if _, ok := snap.Config.Environments[env]; !ok {
			out = append(out, registry.Problem{Path: registry.PinsFile, Message: fmt.Sprintf("pins of environment %q, which %s does not configure", env, registry.ConfigFile)})
			continue
		}
		check(env, pins.Environments[env])
	}
	return out
}

// worktree is the pseudo commit of a folder's current content.
const worktree = "worktree"

// dirSource is a registry.Source over a plain folder: one pseudo commit, the
// files as they are on disk. Symbolic links and .git are skipped, and no
// path outside the folder is ever read.
type dirSource struct{ root string }

var _ registry.Source = (*dirSource)(nil)

func (d *dirSource) Fetch(context.Context) error { return nil }

func (d *dirSource) Refs(context.Context) (map[string]string, error) {
	return map[string]string{"refs/heads/worktree": worktree}, nil
}

func (d *dirSource) ResolveCommit(_ context.Context, prefix string) (string, error) {
	if prefix == worktree {
		return worktree, nil
	}
	return "", registry.Errorf(registry.ENOTFOUND, "no commit %s in a folder", prefix)
}

func (d *dirSource) Commit(_ context.Context, sha string) (registry.Commit, error) {
	return registry.Commit{SHA: sha, Message: "working tree of " + d.root}, nil
}

func (d *dirSource) ListFiles(_ context.Context, _, dir string) ([]registry.FileRef, error) {
	base := filepath.Join(d.root, filepath.FromSlash(dir))
	var out []registry.FileRef
	err := filepath.WalkDir(base, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == base {
				return fs.SkipAll
			}
			return err
		}
		if e.IsDir() && e.Name() == ".git" {
			return fs.SkipDir
		}
		if !e.Type().IsRegular() {
			return nil
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		out = append(out, registry.FileRef{Path: rel, Blob: rel, Size: info.Size()})
		return nil
	})
	return out, err
}

func (d *dirSource) ReadFile(_ context.Context, _, p string) ([]byte, error) {
	return d.read(p)
}

// ReadBlob reads a file: the folder's blob ids are paths.
func (d *dirSource) ReadBlob(_ context.Context, blob string) ([]byte, error) {
	return d.read(blob)
}

func (d *dirSource) read(p string) ([]byte, error) {
	clean := path.Clean("/" + p)[1:]
	if clean == "" || strings.HasPrefix(clean, "../") {
		return nil, registry.Errorf(registry.EINVALID, "path %q leaves the folder", p)
	}
	full := filepath.Join(d.root, filepath.FromSlash(clean))
	if st, err := os.Lstat(full); err != nil || !st.Mode().IsRegular() {
		return nil, registry.Errorf(registry.ENOTFOUND, "no file %s", p)
	}
	return os.ReadFile(full)
}
