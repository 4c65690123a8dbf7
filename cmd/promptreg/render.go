package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/promptreg/promptreg/gitstore"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
)

// runRender renders one prompt offline: from a folder's files as they are
// on disk, or, with --ref, from a commit of the Git repository there.
func runRender(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("render", flag.ContinueOnError)
	fl.SetOutput(stderr)
	repo := fl.String("repo", ".", "prompt repository: a folder (its files as they are on disk) or, with --ref, a Git repository")
	ref := fl.String("ref", "", "render at this branch, tag or commit of the repository instead of the files on disk")
	varsFile := fl.String("vars", "", "JSON object of variables: a file, or - for standard input")
	undefined := fl.String("undefined", "", "missing variables: strict (an error listing them) or lenient (empty); default: the prompt's own")
	asJSON := fl.Bool("json", false, "print the result as JSON ({\"text\"} or {\"messages\"}, with version and checksum)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: promptreg render NAME [--repo DIR] [--ref REF] [--vars FILE|-] [--undefined strict|lenient] [--json]")
		fl.PrintDefaults()
	}
	// Accept the name before or after the flags.
	var name string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if err := parseFlags(fl, args, getenv); err != nil {
		return usageError(stderr, err)
	}
	if name == "" && fl.NArg() > 0 {
		name = fl.Arg(0)
	} else if fl.NArg() > 0 {
		fmt.Fprintf(stderr, "promptreg render: unexpected argument %q\n", fl.Arg(0))
		return exitUsage
	}
	if name == "" {
		fl.Usage()
		return exitUsage
	}
	var vars []byte
	switch *varsFile {
	case "":
	case "-":
		b, err := io.ReadAll(io.LimitReader(stdin, 16<<20))
		if err != nil {
			fmt.Fprintf(stderr, "promptreg render: read variables: %v\n", err)
			return exitUsage
		}
		vars = b
	default:
		b, err := os.ReadFile(*varsFile)
		if err != nil {
			fmt.Fprintf(stderr, "promptreg render: %v\n", err)
			return exitUsage
		}
		vars = b
	}

	snap, err := loadSnapshot(ctx, *repo, *ref)
	if err != nil {
		fmt.Fprintf(stderr, "promptreg render: %s\n", registry.ErrorMessage(err))
		return exitProblems
	}
	e, ok := snap.Get(name)
	if !ok {
		for _, p := range snap.Problems {
			if p.Name == name {
				fmt.Fprintf(stderr, "promptreg render: %s\n", p.Error())
				return exitProblems
			}
		}
		fmt.Fprintf(stderr, "promptreg render: no prompt %q in %s\n", name, *repo)
		return exitProblems
	}
	out, err := render.NewRenderer(render.Options{}).Render(ctx, snap, e, registry.RenderRequest{Variables: vars, Undefined: *undefined})
	if err != nil {
		fmt.Fprintf(stderr, "promptreg render: %s\n", registry.ErrorMessage(err))
		if registry.ErrorCode(err) == registry.EINVALID {
			return exitUsage
		}
		return exitProblems
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
		return exitOK
	}
	if out.Text != nil {
		fmt.Fprint(stdout, *out.Text)
		if len(*out.Text) == 0 || (*out.Text)[len(*out.Text)-1] != '\n' {
			fmt.Fprintln(stdout)
		}
		return exitOK
	}
	for i, m := range out.Messages {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "%s:\n%s\n", m.Role, m.Content)
	}
	return exitOK
}

// loadSnapshot builds the snapshot of a folder's files, or of a commit of
// the Git repository at repo (cloned into a temporary directory: the
// repository itself is never written).
func loadSnapshot(ctx context.Context, repo, ref string) (*registry.Snapshot, error) {
	if ref == "" {
		return snapshots.Build(ctx, &dirSource{root: repo}, render.Parser{}, worktree, worktree)
	}
	tmp, err := os.MkdirTemp("", "promptreg-render-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	store, err := gitstore.Open(gitstore.Options{URL: repo, Dir: tmp})
	if err != nil {
		return nil, err
	}
	defer store.Close()
	if err := store.Fetch(ctx); err != nil {
		return nil, err
	}
	refs, err := store.Refs(ctx)
	if err != nil {
		return nil, err
	}
	_, sha, ok := registry.LookupRef(refs, ref)
	if !ok {
		if sha, err = store.ResolveCommit(ctx, ref); err != nil {
			return nil, registry.Errorf(registry.ENOTFOUND, "ref %q not found in %s", ref, repo)
		}
	}
	return snapshots.Build(ctx, store, render.Parser{}, sha, ref)
}
