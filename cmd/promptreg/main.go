// Command promptreg serves prompts from a Git repository, lints prompt
// repositories and renders prompts offline.
//
//	promptreg serve  --repo PATH|URL [--branch main] [--data DIR] [--addr 127.0.0.1:8080] …
//	promptreg lint   [DIR]
//	promptreg render NAME [--repo DIR] [--ref REF] [--vars FILE|-] [--json]
//	promptreg version
//
// Every flag can also be set with an environment variable PROMPTREG_<FLAG>
// (upper case, dashes as underscores); a flag on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// version is stamped at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes, a contract with scripts and CI pipelines.
const (
	exitOK       = 0
	exitProblems = 1 // lint found problems; a command failed
	exitUsage    = 2 // bad flags or arguments
)

const usage = `usage: promptreg <command> [flags]

commands:
  serve    serve prompts from a Git repository over HTTP
  lint     check a prompt repository (exit 0 clean, 1 problems, 2 usage)
  render   render a prompt offline
  keys     create, list and revoke API keys
  version  print the version

Run 'promptreg <command> -h' for a command's flags. Every flag can be set
with PROMPTREG_<FLAG> (e.g. PROMPTREG_REPO, PROMPTREG_ADMIN_KEY).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs one command and returns the process exit code.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		m := &Serve{Stderr: stderr}
		if err := m.ParseFlags(args[1:], getenv); err != nil {
			return usageError(stderr, err)
		}
		if err := m.Run(ctx); err != nil {
			fmt.Fprintf(stderr, "promptreg serve: %v\n", err)
			m.Close()
			return exitProblems
		}
		<-ctx.Done()
		if err := m.Close(); err != nil {
			fmt.Fprintf(stderr, "promptreg serve: shutdown: %v\n", err)
			return exitProblems
		}
		return exitOK
	case "lint":
		return runLint(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		return runKeys(ctx, args[1:], getenv, stdout, stderr)
	case "render":
		return runRender(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "promptreg %s\n", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "promptreg: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

func usageError(stderr io.Writer, err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	fmt.Fprintf(stderr, "promptreg: %v\n", err)
	return exitUsage
}

// parseFlags parses args into fs, then sets every flag not given on the
// command line from its PROMPTREG_<FLAG> environment variable.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		env := envName(f.Name)
		if v := getenv(env); v != "" {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return err
}

// envName is the environment variable of a flag: PROMPTREG_ADMIN_KEY for
// --admin-key.
func envName(flagName string) string {
	return "PROMPTREG_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
