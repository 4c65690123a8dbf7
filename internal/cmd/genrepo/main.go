// Command genrepo builds a synthetic prompt repository for benchmarks and
// tests (see package internal/genrepo for what it contains).
//
// Usage:
//
//	go run ./internal/cmd/genrepo -out DIR -prompts 2000 -commits 10000 [-seed 1]
//	go run ./internal/cmd/genrepo -out DIR -append 100
//
// The first form creates a Git repository at DIR (which must not exist or be
// empty): a working repository on branch main with P prompts and C commits,
// and the environment tags staging and production. The second adds N commits
// of the same kind on top of a repository genrepo made, continuing its
// random stream (-prompts, -commits and -seed are then ignored; -append 0
// adds nothing and prints the summary).
//
// Either way it prints a one-line JSON summary on standard output: commits,
// prompts at the head, the busiest prompt's name, the head sha, the tags'
// commits, the counts of each kind of change, and the elapsed time.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/promptreg/promptreg/internal/genrepo"
)

func main() {
	out := flag.String("out", "", "repository `directory` (required)")
	prompts := flag.Int("prompts", 2000, "number of prompt files in the first commit, partials included")
	commits := flag.Int("commits", 10000, "number of commits on main, the first one included")
	seed := flag.Uint64("seed", 1, "random seed: the same seed gives the same commit shas")
	appendN := flag.Int("append", 0, "add `N` commits to the existing repository at -out instead of creating one")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: genrepo -out DIR [-prompts P] [-commits C] [-seed S]\n       genrepo -out DIR -append N\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	var (
		s   genrepo.Summary
		err error
	)
	appending := false
	flag.Visit(func(f *flag.Flag) { appending = appending || f.Name == "append" })
	if appending {
		s, err = genrepo.Append(ctx, *out, *appendN)
	} else {
		s, err = genrepo.Generate(ctx, genrepo.Options{Dir: *out, Prompts: *prompts, Commits: *commits, Seed: *seed})
	}
	if err != nil {
		msg := err.Error()
		if !strings.HasPrefix(msg, "genrepo:") {
			msg = "genrepo: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(1)
	}
	b, err := json.Marshal(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "genrepo:", err)
		os.Exit(1)
	}
	fmt.Println(string(b))
}
