// Package genrepo generates synthetic prompt repositories for benchmarks and
// tests: P prompt files edited over C commits, streamed into git fast-import.
//
// # The repository
//
// A normal working repository on branch main (point a server at it with
// --repo DIR) holding:
//
//   - promptreg.yaml, mapping the environments production and staging to
//     refs/tags/production and refs/tags/staging, and a README.md;
//   - a handful of partial prompts, partials/<name>.prompt (one per ten
//     prompts, at most eight), which other prompts include with
//     {% include "partials/<name>" %};
//   - prompts under team-N/ (2 to 20 folders, some nested one level deeper):
//     80% .prompt, 12% .jinja, 8% .j2, half of the .j2 without front matter.
//     Front matter has description, tags, metadata, model and params, and
//     45% of the time an input_schema; a quarter of the prompts also state
//     their name. Bodies are chat (65%: system:/user: role lines) or text
//     Jinja templates with variables, filters, {% if %} blocks and includes.
//
// The first commit adds all P prompts (partials included) and the config.
// Each later commit touches 1 to 5 prompts (2 on average). Per touched
// prompt: 4% a revert to an earlier content of that prompt, byte for byte
// (usually one of the last five), 1% a rename, 1% a deletion, 0.5% a break
// (invalid YAML front matter or an {% if %} without {% endif %}) that a
// commit 1 to 12 commits later fixes, either by restoring the last good
// bytes or with an edit; everything else is an edit of one to three lines.
// Per commit, 1% re-creates a deleted prompt at its last path (70% with its
// last bytes, so the same version comes back) and 0.8% adds a new prompt.
// A run never ends with a broken prompt: breaks whose fix would fall after
// the run's last commit are not made.
//
// Renames keep the prompt's name. A prompt whose front matter already has
// `name:` moves byte for byte (same blob, new path: not a new version). Any
// other prompt cannot: its name came from its path, so the rename adds
// `name: <old name>` as the first front matter line (adding a front matter
// to a file without one), which changes its bytes and makes one new version;
// later renames of it are byte for byte. Reverts of a renamed prompt only
// go back to contents that carry the name line, so that a revert never
// changes the prompt's name.
//
// One prompt, the busiest (a chat prompt with front matter under team-N/),
// is touched in 10% of the commits (more in repositories under about 200
// prompts, so that it stays three times busier than any other), with edits
// and 15% reverts; it is never renamed, deleted or broken.
//
// The tags: staging and production both start at the first commit,
// production annotated. After each commit, with odds 1/250 (more in short
// histories, so that they move about five times), staging moves
// to the commit before it (so it always trails the head), and production
// half of the time follows to where staging was, or one time in ten rolls
// back to its previous position. Staging is lightweight 80% of the time and
// production annotated 80% of the time (tagger "Release Bot"). Git only
// records where a tag ends a run; the moves within one run are invisible.
//
// # Determinism
//
// Everything comes from one PCG random stream seeded by Options.Seed:
// authors (a pool of eight), dates (from 2024-01-01T00:00:00Z, 1 to 90
// minutes between commits), contents and messages. The same seed gives the
// same commit shas on every machine; git runs without the user's global or
// system configuration. Append continues the stream saved by the previous
// run in .git/genrepo/state.gob.gz (inside the .git directory: no commit
// holds it and clones do not have it), so the same repository appended the
// same way gives the same shas too.
package genrepo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Options says what Generate makes.
type Options struct {
	// Dir is the repository's directory. It must not exist or be empty.
	Dir string
	// Prompts is the number of prompt files of the first commit, partials
	// included (P, at least 1).
	Prompts int
	// Commits is the number of commits on main, the first one included
	// (C, at least 1).
	Commits int
	// Seed selects the random stream.
	Seed uint64
}

// Summary describes a repository after Generate or Append.
type Summary struct {
	Dir     string `json:"dir"`
	Seed    uint64 `json:"seed"`
	Commits int    `json:"commits"` // on main
	Added   int    `json:"added"`   // by this run
	// Prompts is the number of prompt files at the head, partials included.
	Prompts int `json:"prompts"`
	// Busiest is the name of the busiest prompt, BusiestTouches the number
	// of commits that changed it (its first one included), over the
	// repository's life.
	Busiest        string `json:"busiest"`
	BusiestTouches int    `json:"busiest_touches"`
	BusiestPath    string `json:"busiest_path"`
	Head           string `json:"head"`       // sha of main
	Staging        string `json:"staging"`    // commit sha the staging tag points to
	Production     string `json:"production"` // commit sha the production tag points to
	// Ops counts the changes of this run; TotalOps those of the
	// repository's life.
	Ops      Ops `json:"ops"`
	TotalOps Ops `json:"total_ops"`
	// Elapsed is the run's wall time, ElapsedMS the same in milliseconds.
	Elapsed   time.Duration `json:"-"`
	ElapsedMS int64         `json:"elapsed_ms"`
}

// Generate creates a repository as described in the package documentation.
// On error the directory is left as it is, for inspection.
func Generate(ctx context.Context, opts Options) (Summary, error) {
	start := time.Now()
	if opts.Dir == "" {
		return Summary{}, errors.New("genrepo: no directory")
	}
	if opts.Prompts < 1 || opts.Commits < 1 {
		return Summary{}, fmt.Errorf("genrepo: want at least 1 prompt and 1 commit, got %d and %d", opts.Prompts, opts.Commits)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return Summary{}, err
	}
	if entries, err := os.ReadDir(opts.Dir); err != nil {
		return Summary{}, err
	} else if len(entries) > 0 {
		return Summary{}, fmt.Errorf("genrepo: %s is not empty (use Append to add commits to a generated repository)", opts.Dir)
	}
	if _, err := git(ctx, opts.Dir, "init", "-q", "-b", "main"); err != nil {
		return Summary{}, err
	}
	st := &state{Version: stateVersion, Seed: opts.Seed, Time: epoch}
	g, err := newGen(st)
	if err != nil {
		return Summary{}, err
	}
	first := g.initial(opts.Prompts, opts.Commits)
	return run(ctx, opts.Dir, g, &first, opts.Commits-1, start)
}

// Append adds n commits of the same kind on top of the head of a repository
// Generate made, continuing its random stream. The repository's main must
// not have moved since the last run, and its working tree must be clean.
func Append(ctx context.Context, dir string, n int) (Summary, error) {
	start := time.Now()
	if n < 0 {
		return Summary{}, fmt.Errorf("genrepo: cannot append %d commits", n)
	}
	st, err := loadState(dir)
	if err != nil {
		return Summary{}, err
	}
	head, err := git(ctx, dir, "rev-parse", "--verify", "-q", "refs/heads/main")
	if err != nil {
		return Summary{}, fmt.Errorf("genrepo: %s has no main branch: %w", dir, err)
	}
	if head != st.Head {
		return Summary{}, fmt.Errorf("genrepo: main is at %s, the generator left it at %s: it cannot continue a history it did not write", head, st.Head)
	}
	if out, err := git(ctx, dir, "status", "--porcelain", "--untracked-files=no"); err != nil {
		return Summary{}, err
	} else if out != "" {
		return Summary{}, fmt.Errorf("genrepo: the working tree of %s has changes:\n%s", dir, out)
	}
	g, err := newGen(st)
	if err != nil {
		return Summary{}, err
	}
	for _, t := range st.Tags {
		t.Moved = false
	}
	return run(ctx, dir, g, nil, n, start)
}

// run streams first (if any) and n generated commits into fast-import,
// checks the result out and saves the state.
func run(ctx context.Context, dir string, g *gen, first *commit, n int, start time.Time) (Summary, error) {
	st := g.st
	im, err := startImport(ctx, dir)
	if err != nil {
		return Summary{}, err
	}
	from := st.Head // continue the existing branch
	if first != nil {
		im.commit(*first, "")
		from = ""
	}
	runEnd := st.Commits + n
	for i := range n {
		if i%512 == 0 && ctx.Err() != nil {
			im.abort()
			return Summary{}, ctx.Err()
		}
		c := g.next(runEnd)
		im.commit(c, from)
		from = ""
	}
	for _, t := range st.Tags {
		if !t.Moved {
			continue
		}
		ref := t.SHA
		if ref == "" {
			ref = mark(t.Commit)
		}
		im.tag(t, ref)
	}
	if err := im.finish(); err != nil {
		return Summary{}, err
	}
	if _, err := git(ctx, dir, "reset", "-q", "--hard", "refs/heads/main"); err != nil {
		return Summary{}, err
	}

	// Resolve what the run left as marks: the head and tag positions.
	args := []string{"rev-parse", "refs/heads/main"}
	for _, t := range st.Tags {
		args = append(args, "refs/heads/main~"+strconv.Itoa(st.Commits-t.Commit))
		args = append(args, "refs/heads/main~"+strconv.Itoa(st.Commits-max(1, t.Prev)))
	}
	out, err := git(ctx, dir, args...)
	if err != nil {
		return Summary{}, err
	}
	shas := strings.Fields(out)
	if len(shas) != 1+2*len(st.Tags) {
		return Summary{}, fmt.Errorf("genrepo: git rev-parse: unexpected output %q", out)
	}
	st.Head = shas[0]
	for i, t := range st.Tags {
		t.SHA, t.PrevSHA = shas[1+2*i], shas[2+2*i]
		t.Moved = false
	}

	st.Ops.add(g.ops)
	st.RNG, err = g.pcg.MarshalBinary()
	if err != nil {
		return Summary{}, err
	}
	if err := saveState(dir, st); err != nil {
		return Summary{}, err
	}
	busy := st.Prompts[st.Busiest]
	s := Summary{
		Dir:            dir,
		Seed:           st.Seed,
		Commits:        st.Commits,
		Added:          n,
		Prompts:        len(g.live),
		Busiest:        busy.Name,
		BusiestTouches: busy.Touches,
		BusiestPath:    busy.Path,
		Head:           st.Head,
		Staging:        st.Tags[0].SHA,
		Production:     st.Tags[1].SHA,
		Ops:            g.ops,
		TotalOps:       st.Ops,
	}
	if first != nil {
		s.Added++
	}
	if abs, err := filepath.Abs(dir); err == nil {
		s.Dir = abs
	}
	s.Elapsed = time.Since(start)
	s.ElapsedMS = s.Elapsed.Milliseconds()
	return s, nil
}
