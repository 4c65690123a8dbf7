package genrepo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// gitEnv returns the environment git runs with: the process environment
// without GIT_* variables (a caller inside a hook must not redirect us to
// another repository) and without the user's global or system
// configuration, so that the result is the same on every machine.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "LC_ALL=") {
			env = append(env, kv)
		}
	}
	return append(env,
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
	)
}

// git runs git with args in dir and returns its trimmed standard output.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// importer streams commits into `git fast-import`.
type importer struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	w      *bufio.Writer
	stderr bytes.Buffer
	err    error // first write error
}

func startImport(ctx context.Context, dir string) (*importer, error) {
	im := &importer{}
	// --force: a later run moves tags backwards or from an annotated tag to
	// a commit, which fast-import otherwise refuses.
	im.cmd = exec.CommandContext(ctx, "git", "fast-import", "--quiet", "--force")
	im.cmd.Dir = dir
	im.cmd.Env = gitEnv()
	im.cmd.Stderr = &im.stderr
	var err error
	if im.stdin, err = im.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := im.cmd.Start(); err != nil {
		return nil, fmt.Errorf("git fast-import: %w", err)
	}
	im.w = bufio.NewWriterSize(im.stdin, 1<<20)
	im.printf("feature done\n")
	return im, nil
}

func (im *importer) printf(format string, args ...any) {
	if im.err == nil {
		_, im.err = fmt.Fprintf(im.w, format, args...)
	}
}

func (im *importer) data(s string) {
	im.printf("data %d\n%s\n", len(s), s)
}

// commit writes c on refs/heads/main as mark :c.n. from is the parent (a
// mark or a sha) for the first commit of a run on an existing branch, "" to
// continue the branch (or start it).
func (im *importer) commit(c commit, from string) {
	a := authors[c.author]
	im.printf("commit refs/heads/main\nmark :%d\n", c.n)
	im.printf("author %s <%s> %d +0000\n", a.name, a.email, c.time)
	im.printf("committer %s <%s> %d +0000\n", a.name, a.email, c.time)
	im.data(c.msg)
	if from != "" {
		im.printf("from %s\n", from)
	}
	for _, ch := range c.changes {
		if ch.del != "" {
			im.printf("D %s\n", ch.del)
		}
	}
	for _, ch := range c.changes {
		if ch.path != "" {
			im.printf("M 100644 inline %s\n", ch.path)
			im.data(ch.content)
		}
	}
	im.printf("\n")
}

// tag writes t at ref (a mark or a sha): a lightweight tag is a plain ref,
// an annotated one a tag object by the release bot.
func (im *importer) tag(t *tag, ref string) {
	if !t.Annotated {
		im.printf("reset refs/tags/%s\nfrom %s\n\n", t.Name, ref)
		return
	}
	im.printf("tag %s\nfrom %s\n", t.Name, ref)
	im.printf("tagger %s <%s> %d +0000\n", taggerName, taggerEmail, t.At)
	im.data(fmt.Sprintf("Promote %s (move %d)", t.Name, t.Moves))
}

// finish ends the stream and waits for fast-import.
func (im *importer) finish() error {
	im.printf("done\n")
	if im.err == nil {
		im.err = im.w.Flush()
	}
	cerr := im.stdin.Close()
	werr := im.cmd.Wait()
	switch {
	case werr != nil:
		return fmt.Errorf("git fast-import: %w: %s", werr, strings.TrimSpace(im.stderr.String()))
	case im.err != nil:
		return fmt.Errorf("git fast-import: %w", im.err)
	case cerr != nil && !errors.Is(cerr, os.ErrClosed):
		return fmt.Errorf("git fast-import: %w", cerr)
	}
	return nil
}

// abort kills fast-import after an error on our side.
func (im *importer) abort() {
	_ = im.stdin.Close()
	if im.cmd.Process != nil {
		_ = im.cmd.Process.Kill()
	}
	_ = im.cmd.Wait()
}

func mark(n int) string { return ":" + strconv.Itoa(n) }
