package gittest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// AuthorName and AuthorEmail are the author and committer of every commit
// and annotated tag gittest makes.
const (
	AuthorName  = "Test Author"
	AuthorEmail = "author@example.com"
)

// Epoch is the date of a repository's first commit; each later commit is one
// minute later.
var Epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// Repo is a non-bare Git repository in a temporary directory. Its methods
// fail the test on any error. A Repo is not safe for concurrent use.
type Repo struct {
	t    testing.TB
	dir  string
	tick int // commits and annotated tags made so far, for dates
}

// New creates an empty working repository on branch main in t.TempDir(). It
// skips the test when the git binary is missing, and fails it instead under
// CI (see MissingTool).
func New(t testing.TB) *Repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		MissingTool(t, "git", err)
	}
	r := &Repo{t: t, dir: t.TempDir()}
	r.Git("init", "-q", "-b", "main")
	return r
}

// MissingTool ends a test that cannot run because a tool it needs (a binary
// such as git) is missing: it skips the test on a developer's machine, and
// fails it when the CI environment variable is "true", because a suite that
// passes by skipping its tests proves nothing there.
func MissingTool(t testing.TB, tool string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true but is missing: %v (install it; tests that need it are not skipped on CI)", tool, err)
		return
	}
	t.Skipf("%s not found, skipping (under CI=true this fails): %v", tool, err)
}

// Path returns the repository's working directory.
func (r *Repo) Path() string { return r.dir }

// URL returns the repository's file:// URL.
func (r *Repo) URL() string { return "file://" + filepath.ToSlash(r.dir) }

// Write writes content to the slash-separated path in the working tree,
// creating parent directories. It does not stage or commit.
func (r *Repo) Write(path, content string) {
	r.t.Helper()
	full := filepath.Join(r.dir, filepath.FromSlash(path))
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// Remove deletes the slash-separated path (a file or a directory) from the
// working tree. It does not commit.
func (r *Repo) Remove(path string) {
	r.t.Helper()
	if err := os.RemoveAll(filepath.Join(r.dir, filepath.FromSlash(path))); err != nil {
		r.t.Fatal(err)
	}
}

// Commit stages every change in the working tree, commits it on the current
// branch with msg (an empty commit if nothing changed) and returns the new
// commit's sha.
func (r *Repo) Commit(msg string) string {
	r.t.Helper()
	r.Git("add", "-A")
	r.tick++
	r.Git("commit", "-q", "--allow-empty", "--no-verify", "-m", msg)
	return r.Git("rev-parse", "HEAD")
}

// Tag creates or moves the lightweight tag name to sha.
func (r *Repo) Tag(name, sha string) {
	r.t.Helper()
	r.Git("tag", "-f", name, sha)
}

// TagAnnotated creates or moves the annotated tag name to sha, with msg, and
// returns the sha of the tag object.
func (r *Repo) TagAnnotated(name, sha, msg string) string {
	r.t.Helper()
	r.tick++
	r.Git("tag", "-f", "-a", "-m", msg, name, sha)
	return r.Git("rev-parse", "refs/tags/"+name)
}

// ForceBranch creates or moves branch name to sha. Moving the checked-out
// branch also resets the working tree to sha.
func (r *Repo) ForceBranch(name, sha string) {
	r.t.Helper()
	if r.Git("rev-parse", "--abbrev-ref", "HEAD") == name {
		r.Git("reset", "-q", "--hard", sha)
		return
	}
	r.Git("branch", "-f", name, sha)
}

// DeleteBranch deletes branch name (not the checked-out one).
func (r *Repo) DeleteBranch(name string) {
	r.t.Helper()
	r.Git("branch", "-q", "-D", name)
}

// DeleteTag deletes tag name.
func (r *Repo) DeleteTag(name string) {
	r.t.Helper()
	r.Git("tag", "-d", name)
}

// Serve serves the repository over Git's smart HTTP protocol (git
// http-backend behind net/http/cgi) on 127.0.0.1 until the test ends, and
// returns its URL. wrap, when not nil, wraps the handler, for a test to
// watch, hold or fail requests. Read access only.
func (r *Repo) Serve(wrap func(http.Handler) http.Handler) string {
	r.t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		MissingTool(r.t, "git", err)
	}
	execPath, err := Run(r.dir, r.date(), "", "--exec-path")
	if err == nil {
		_, err = os.Stat(filepath.Join(execPath, "git-http-backend"))
	}
	if err != nil {
		MissingTool(r.t, "git http-backend", err)
	}
	var h http.Handler = &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Env: append(Env(r.date()),
			"GIT_PROJECT_ROOT="+filepath.Dir(r.dir),
			"GIT_HTTP_EXPORT_ALL=1",
		),
	}
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	r.t.Cleanup(srv.Close)
	return srv.URL + "/" + filepath.Base(r.dir)
}

// Git runs git with args in the repository and returns its trimmed standard
// output.
func (r *Repo) Git(args ...string) string {
	r.t.Helper()
	return r.GitInput("", args...)
}

// GitInput runs git with args in the repository, input on its standard input
// (for example a git fast-import stream), and returns its trimmed standard
// output.
func (r *Repo) GitInput(input string, args ...string) string {
	r.t.Helper()
	out, err := Run(r.dir, r.date(), input, args...)
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

func (r *Repo) date() time.Time { return Epoch.Add(time.Duration(r.tick) * time.Minute) }

// Run runs git with args in dir, input on its standard input, with gittest's
// environment and author and committer dated date, and returns its trimmed
// standard output. It is what Repo uses; tests call it for repositories
// Repo did not make (a bare clone, the code under test's own clone).
func Run(dir string, date time.Time, input string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = Env(date)
	cmd.Stdin = strings.NewReader(input)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Env returns the environment gittest runs git with: the process environment
// without GIT_* variables, no global or system configuration, and a fixed
// author and committer dated date.
func Env(date time.Time) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			env = append(env, kv)
		}
	}
	d := date.Format(time.RFC3339)
	return append(env,
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME="+AuthorName,
		"GIT_AUTHOR_EMAIL="+AuthorEmail,
		"GIT_AUTHOR_DATE="+d,
		"GIT_COMMITTER_NAME="+AuthorName,
		"GIT_COMMITTER_EMAIL="+AuthorEmail,
		"GIT_COMMITTER_DATE="+d,
	)
}
