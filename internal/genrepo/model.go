package genrepo

import (
	"fmt"
	"math/rand/v2"
	"path"
	"strconv"
	"strings"
)

// stateVersion is the format version of the persisted state; Append refuses
// a state of another version.
const stateVersion = 1

// state is everything the generator knows about a repository it made. It is
// persisted (see store.go) so that Append continues where the last run
// stopped, with the same random stream.
type state struct {
	Version  int
	Seed     uint64
	RNG      []byte // the PCG's state, from MarshalBinary
	Commits  int    // commits on main
	Time     int64  // unix time of the last commit (and of the last tag move)
	Head     string // sha of main after the last run
	Prompts  []*prompt
	Busiest  int      // index in Prompts
	Stems    []string // every path without extension ever used, for fresh paths
	Partials []string // names of the partial prompts
	Tags     []*tag   // staging, production
	Ops      Ops      // totals over the repository's life
	Teams    int      // number of team-N folders
	BusyRate float64  // odds that a commit touches the busiest prompt
	TagRate  float64  // odds that the tags move after a commit
}

// prompt is one prompt's identity across edits, renames and deletions.
type prompt struct {
	Name    string // stays the same across renames
	Path    string // current (or last, when deleted) path
	Topic   string
	Partial bool
	Busy    bool // the busiest prompt
	Live    bool // present at the head
	Content string
	// Broken is set while Content is invalid on purpose; LastGood is then the
	// content before the break and FixAt the commit number that fixes it.
	Broken   bool
	LastGood string
	FixAt    int
	// History lists the distinct valid contents in order of first appearance.
	History []string
	Touches int
}

// tag is an environment tag's position.
type tag struct {
	Name      string
	Commit    int    // commit number (1-based position on main)
	SHA       string // commit sha, "" until resolved after the run
	Annotated bool
	Moves     int
	Moved     bool  // moved during the current run: must be written
	At        int64 // time of the last move, the tagger date of an annotated tag
	Prev      int   // previous commit number, for rollbacks
	PrevSHA   string
}

// Ops counts what the generator did.
type Ops struct {
	Created   int `json:"created"` // new prompts, including the initial ones
	Edits     int `json:"edits"`
	Reverts   int `json:"reverts"`
	Renames   int `json:"renames"`
	Deletes   int `json:"deletes"`
	Recreates int `json:"recreates"`
	Breaks    int `json:"breaks"`
	Fixes     int `json:"fixes"`
	TagMoves  int `json:"tag_moves"`
}

func (o *Ops) add(p Ops) {
	o.Created += p.Created
	o.Edits += p.Edits
	o.Reverts += p.Reverts
	o.Renames += p.Renames
	o.Deletes += p.Deletes
	o.Recreates += p.Recreates
	o.Breaks += p.Breaks
	o.Fixes += p.Fixes
	o.TagMoves += p.TagMoves
}

// Rates of the kinds of changes, per touched prompt unless said otherwise.
const (
	revertRate       = 0.04
	busyRevertRate   = 0.15
	renameRate       = 0.01
	deleteRate       = 0.01
	breakRate        = 0.005
	recreateRate     = 0.01      // per commit, when some prompt is deleted
	newPromptRate    = 0.008     // per commit
	tagMoveRate      = 1.0 / 250 // at least; see initial
	maxFixDelay      = 12        // commits between a break and its fix
	busiestShareBase = 0.10
)

// touchWeights are the relative odds of a commit touching 1, 2, … 5 prompts.
var touchWeights = []int{45, 25, 15, 10, 5}

var authors = []struct{ name, email string }{
	{"Alex Kim", "alex.kim@example.com"},
	{"Priya Raman", "priya.raman@example.com"},
	{"Jonas Weber", "jonas.weber@example.com"},
	{"María García", "maria.garcia@example.com"},
	{"Chen Wei", "chen.wei@example.com"},
	{"Fatima Diallo", "fatima.diallo@example.com"},
	{"Liam O'Brien", "liam.obrien@example.com"},
	{"Sofia Rossi", "sofia.rossi@example.com"},
}

const (
	taggerName  = "Release Bot"
	taggerEmail = "release-bot@example.com"
)

// epoch is the date of a generated repository's first commit.
const epoch = 1704067200 // 2024-01-01T00:00:00Z

// gen generates commits from a state.
type gen struct {
	st  *state
	pcg *rand.PCG
	r   *rand.Rand
	w   writer

	live    []int // indexes of live prompts, in no particular order
	livePos map[int]int
	dead    []int // indexes of deleted prompts
	deadPos map[int]int
	names   map[string]bool // stems in use, for fresh paths

	runStart int // st.Commits when the run started
	ops      Ops // this run
}

func newGen(st *state) (*gen, error) {
	pcg := &rand.PCG{}
	if st.RNG != nil {
		if err := pcg.UnmarshalBinary(st.RNG); err != nil {
			return nil, fmt.Errorf("random state: %w", err)
		}
	} else {
		pcg.Seed(st.Seed, st.Seed^0x9e3779b97f4a7c15)
	}
	g := &gen{
		st: st, pcg: pcg, r: rand.New(pcg),
		livePos: map[int]int{}, deadPos: map[int]int{}, names: map[string]bool{},
		runStart: st.Commits,
	}
	g.w = writer{g.r}
	for i, p := range st.Prompts {
		if p.Live {
			g.addLive(i)
		} else {
			g.addDead(i)
		}
	}
	for _, s := range st.Stems {
		g.names[s] = true
	}
	return g, nil
}

// busyRate returns how often the busiest prompt of a repository of nPrompts
// regular prompts is touched: 10% of commits, or more in a small
// repository, so that it is always the busiest by far (about three times a
// typical prompt's share).
func busyRate(nPrompts int) float64 {
	mean := 0.0
	total := 0
	for i, w := range touchWeights {
		mean += float64((i + 1) * w)
		total += w
	}
	mean /= float64(total)
	share := 3 * mean / float64(max(1, nPrompts))
	return min(0.5, max(busiestShareBase, share))
}

func (g *gen) addLive(i int) { g.livePos[i] = len(g.live); g.live = append(g.live, i) }
func (g *gen) addDead(i int) { g.deadPos[i] = len(g.dead); g.dead = append(g.dead, i) }

func removeAt(s []int, pos map[int]int, i int) []int {
	k := pos[i]
	last := s[len(s)-1]
	s[k] = last
	pos[last] = k
	delete(pos, i)
	return s[:len(s)-1]
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

// stem returns path without its extension.
func stem(p string) string { return strings.TrimSuffix(p, path.Ext(p)) }

// freshPath returns an unused path for a prompt of topic in team folder
// team, with extension ext.
func (g *gen) freshPath(team int, topic, ext string) string {
	base := fmt.Sprintf("team-%d/%s-%s", team, topic, g.w.pick(actions))
	if g.chance(0.25) {
		base = fmt.Sprintf("team-%d/%s/%s", team, topic, g.w.pick(actions))
	}
	s := base
	for n := 2; g.names[s]; n++ {
		s = base + "-" + strconv.Itoa(n)
	}
	g.names[s] = true
	g.st.Stems = append(g.st.Stems, s)
	return s + ext
}

func (g *gen) pickExt() string {
	switch k := g.r.IntN(100); {
	case k < 80:
		return ".prompt"
	case k < 92:
		return ".jinja"
	default:
		return ".j2"
	}
}

// newPrompt creates a prompt (not yet live) and returns its index.
func (g *gen) newPrompt() int {
	topic := g.w.pick(topics)
	ext := g.pickExt()
	p := &prompt{Topic: topic}
	p.Path = g.freshPath(1+g.r.IntN(g.st.Teams), topic, ext)
	p.Name = stem(p.Path)
	spec := promptSpec{
		name:         p.Name,
		topic:        topic,
		explicitName: g.chance(0.25),
		frontMatter:  ext != ".j2" || g.chance(0.5),
		chat:         g.chance(0.65),
		partials:     g.st.Partials,
	}
	if !spec.frontMatter {
		spec.explicitName = false
	}
	p.Content = g.w.newContent(spec)
	p.History = []string{p.Content}
	g.st.Prompts = append(g.st.Prompts, p)
	return len(g.st.Prompts) - 1
}

// change is one file change of a commit.
type change struct {
	del     string // path to delete, or ""
	path    string // path to write, or ""
	content string
}

// commit is one generated commit.
type commit struct {
	n       int // commit number
	author  int
	time    int64
	msg     string
	changes []change
}

// initial builds the first commit of a history of commits: the repository
// config, a README, the partials and nPrompts prompts in all, and it creates
// the environment tags.
func (g *gen) initial(nPrompts, commits int) commit {
	st := g.st
	nPartials := 0
	if nPrompts >= 10 {
		nPartials = min(len(partialNames), nPrompts/10)
	}
	c := commit{n: 1, time: st.Time, msg: fmt.Sprintf("Import the prompt library (%d prompts)", nPrompts)}
	c.changes = append(c.changes,
		change{path: "promptreg.yaml", content: configFile},
		change{path: "README.md", content: readmeFile},
	)
	for _, name := range partialNames[:nPartials] {
		st.Partials = append(st.Partials, "partials/"+name)
	}
	for _, name := range st.Partials {
		p := &prompt{Name: name, Path: name + ".prompt", Topic: "platform", Partial: true}
		p.Content = g.w.newPartial(path.Base(name))
		p.History = []string{p.Content}
		g.names[name] = true
		st.Stems = append(st.Stems, name)
		st.Prompts = append(st.Prompts, p)
	}
	st.Teams = max(2, min(20, nPrompts/100))
	for len(st.Prompts) < nPrompts {
		g.newPrompt()
	}
	// The busiest prompt: a chat prompt with front matter, so that every kind
	// of edit applies to it.
	st.Busiest = -1
	for _, i := range g.r.Perm(len(st.Prompts)) {
		p := st.Prompts[i]
		if !p.Partial && strings.HasPrefix(p.Content, "---\n") && nameLine(p.Content) == "" && strings.Contains(p.Content, "\nsystem:\n") {
			st.Busiest = i
			break
		}
	}
	if st.Busiest < 0 { // tiny repositories: any non-partial
		for i, p := range st.Prompts {
			if !p.Partial {
				st.Busiest = i
				break
			}
		}
	}
	st.Prompts[st.Busiest].Busy = true
	st.BusyRate = busyRate(len(st.Prompts) - len(st.Partials))
	for i, p := range st.Prompts {
		p.Live = true
		p.Touches = 1
		g.addLive(i)
		c.changes = append(c.changes, change{path: p.Path, content: p.Content})
	}
	g.ops.Created += len(st.Prompts)
	st.Commits = 1
	// Tags move about every 250 commits, but at least about five times in
	// a short history.
	st.TagRate = max(tagMoveRate, min(0.1, 5/float64(max(1, commits))))
	for _, name := range []string{"staging", "production"} {
		st.Tags = append(st.Tags, &tag{Name: name, Commit: 1, Annotated: name == "production", Moved: true, At: st.Time, Prev: 1})
	}
	return c
}

const configFile = `# promptreg configuration (generated by genrepo)
environments:
  production: refs/tags/production
  staging: refs/tags/staging
`

const readmeFile = `# Synthetic prompt library

Generated by promptreg's genrepo tool for benchmarks and tests. Every prompt
file (.prompt, .jinja, .j2) is a YAML-fronted Jinja template; partials live
under partials/. The tags staging and production are the environments.
`

// next generates the next commit on top of the state.
func (g *gen) next(runEnd int) commit {
	st := g.st
	st.Commits++
	n := st.Commits
	st.Time += 60 * int64(1+g.r.IntN(90))
	c := commit{n: n, time: st.Time, author: g.r.IntN(len(authors))}
	touched := map[int]bool{}
	var notes []string
	note := func(p *prompt, what string) { notes = append(notes, p.Name+": "+what) }

	// Fixes that are due come first.
	for i, p := range st.Prompts {
		if p.Broken && p.FixAt <= n {
			touched[i] = true
			g.fix(p, &c, note)
		}
	}
	want := pickWeighted(g.r, touchWeights) + 1
	if g.chance(st.BusyRate) && !touched[st.Busiest] {
		touched[st.Busiest] = true
		g.touch(st.Busiest, &c, note, runEnd)
	}
	if len(g.dead) > 0 && g.chance(recreateRate) {
		i := g.dead[g.r.IntN(len(g.dead))]
		touched[i] = true
		g.recreate(i, &c, note)
	}
	if g.chance(newPromptRate) {
		i := g.newPrompt()
		p := st.Prompts[i]
		touched[i] = true
		p.Live, p.Touches = true, 1
		g.addLive(i)
		g.ops.Created++
		c.changes = append(c.changes, change{path: p.Path, content: p.Content})
		note(p, "new prompt")
	}
	for tries := 0; len(touched) < want && tries < 4*want && len(g.live) > 0; tries++ {
		i := g.live[g.r.IntN(len(g.live))]
		if touched[i] || st.Prompts[i].Broken {
			continue
		}
		touched[i] = true
		g.touch(i, &c, note, runEnd)
	}
	// Deleted prompts become candidates for re-creation from the next commit
	// on, so a commit never deletes and writes the same path.
	for i, p := range st.Prompts {
		if touched[i] && !p.Live {
			if _, ok := g.deadPos[i]; !ok {
				g.addDead(i)
			}
		}
	}
	c.msg = message(notes)
	g.moveTags(n)
	return c
}

// touch applies one random change to the live prompt i.
func (g *gen) touch(i int, c *commit, note func(*prompt, string), runEnd int) {
	p := g.st.Prompts[i]
	p.Touches++
	k := g.r.Float64()
	revert := revertRate
	if p.Busy {
		revert = busyRevertRate
	}
	simple := p.Busy || p.Partial // only edits and reverts
	switch {
	case k < revert:
		if g.revert(p, c, note) {
			return
		}
	case simple:
	case k < revert+renameRate:
		g.rename(p, c, note)
		return
	case k < revert+renameRate+deleteRate:
		g.ops.Deletes++
		p.Live = false
		g.live = removeAt(g.live, g.livePos, i)
		c.changes = append(c.changes, change{del: p.Path})
		note(p, "remove")
		return
	case k < revert+renameRate+deleteRate+breakRate && c.n+1 <= runEnd:
		// Break only when the fix still fits in this run, so that a run
		// never ends with a broken prompt.
		g.ops.Breaks++
		p.LastGood = p.Content
		var kind string
		p.Content, kind = g.w.breakContent(p.Content)
		p.Broken = true
		p.FixAt = c.n + 1 + g.r.IntN(min(maxFixDelay, runEnd-c.n))
		c.changes = append(c.changes, change{path: p.Path, content: p.Content})
		note(p, "work in progress ("+kind+")")
		return
	}
	g.ops.Edits++
	var what string
	p.Content, what = g.w.edit(p.Content, p.Topic, g.includable(p), p.Partial)
	g.remember(p)
	c.changes = append(c.changes, change{path: p.Path, content: p.Content})
	note(p, what)
}

// includable returns the partials p may include: none for a partial, so
// that includes never form cycles.
func (g *gen) includable(p *prompt) []string {
	if p.Partial {
		return nil
	}
	return g.st.Partials
}

// remember adds p's content to its history if it is new.
func (g *gen) remember(p *prompt) {
	if !contains(p.History, p.Content) {
		p.History = append(p.History, p.Content)
	}
}

// serves reports whether content, written at p's current path, is still
// prompt p: either the path gives p's name or the content's name line does.
func serves(p *prompt, content string) bool {
	if p.Partial {
		return true
	}
	if n := nameLine(content); n != "" {
		return n == p.Name
	}
	return stem(p.Path) == p.Name
}

// revert restores an earlier content of p, byte for byte: usually a recent
// one. It reports false when p has no earlier content to go back to.
func (g *gen) revert(p *prompt, c *commit, note func(*prompt, string)) bool {
	var cands []int
	for k := len(p.History) - 1; k >= 0 && len(cands) < 64; k-- {
		if h := p.History[k]; h != p.Content && serves(p, h) {
			cands = append(cands, k)
		}
	}
	if len(cands) == 0 {
		return false
	}
	k := cands[g.r.IntN(min(len(cands), 5))]
	if g.chance(0.2) {
		k = cands[g.r.IntN(len(cands))]
	}
	g.ops.Reverts++
	p.Content = p.History[k]
	c.changes = append(c.changes, change{path: p.Path, content: p.Content})
	note(p, fmt.Sprintf("revert to revision %d", k+1))
	return true
}

// rename moves p to a fresh path. Its name stays: a prompt whose front
// matter already names it moves byte for byte; any other prompt gets a
// `name:` line with its old name, which changes its bytes.
func (g *gen) rename(p *prompt, c *commit, note func(*prompt, string)) {
	g.ops.Renames++
	old := p.Path
	ext := path.Ext(old)
	if g.chance(0.1) {
		ext = g.pickExt()
	}
	team := 1 + g.r.IntN(g.st.Teams)
	if g.chance(0.5) && strings.HasPrefix(old, "team-") {
		team, _ = strconv.Atoi(strings.TrimPrefix(old[:strings.Index(old, "/")], "team-"))
	}
	p.Path = g.freshPath(team, p.Topic, ext)
	if nameLine(p.Content) == "" {
		p.Content = withName(p.Content, p.Name)
		g.remember(p)
	}
	c.changes = append(c.changes, change{del: old}, change{path: p.Path, content: p.Content})
	note(p, "move from "+old+" to "+p.Path)
}

// recreate brings back the deleted prompt i at its last path: mostly with
// its last content, byte for byte, sometimes edited.
func (g *gen) recreate(i int, c *commit, note func(*prompt, string)) {
	p := g.st.Prompts[i]
	g.ops.Recreates++
	g.dead = removeAt(g.dead, g.deadPos, i)
	p.Live = true
	p.Touches++
	g.addLive(i)
	what := "restore"
	if g.chance(0.3) {
		p.Content, _ = g.w.edit(p.Content, p.Topic, g.includable(p), false)
		g.remember(p)
		what = "restore and update"
	}
	c.changes = append(c.changes, change{path: p.Path, content: p.Content})
	note(p, what)
}

// fix repairs the broken prompt p: back to its last good content, or that
// content edited.
func (g *gen) fix(p *prompt, c *commit, note func(*prompt, string)) {
	g.ops.Fixes++
	p.Touches++
	p.Broken = false
	p.Content = p.LastGood
	p.LastGood = ""
	what := "fix the broken template (revert)"
	if g.chance(0.5) {
		p.Content, _ = g.w.edit(p.Content, p.Topic, g.includable(p), false)
		g.remember(p)
		what = "fix the broken template"
	}
	c.changes = append(c.changes, change{path: p.Path, content: p.Content})
	note(p, what)
}

// moveTags moves the environment tags after commit n, now and then:
// staging to the commit before n (so it always trails the head), and
// production, half the time, to where staging was; rarely production rolls
// back to its previous position.
func (g *gen) moveTags(n int) {
	if n < 2 || !g.chance(g.st.TagRate) {
		return
	}
	staging, prod := g.st.Tags[0], g.st.Tags[1]
	oldC, oldSHA := staging.Commit, staging.SHA
	g.moveTag(staging, n-1, "", g.chance(0.2))
	if g.chance(0.1) && prod.Prev < prod.Commit {
		g.moveTag(prod, prod.Prev, prod.PrevSHA, g.chance(0.8))
	} else if g.chance(0.5) && oldC > prod.Commit {
		g.moveTag(prod, oldC, oldSHA, g.chance(0.8))
	}
}

func (g *gen) moveTag(t *tag, to int, sha string, annotated bool) {
	if to == t.Commit {
		return
	}
	t.Prev, t.PrevSHA = t.Commit, t.SHA
	t.Commit, t.SHA = to, sha
	if to == g.runStart && to > 0 {
		t.SHA = g.st.Head
	}
	t.Annotated = annotated
	t.Moves++
	t.Moved = true
	t.At = g.st.Time
	g.ops.TagMoves++
}

// message writes a commit message from the notes of its changes.
func message(notes []string) string {
	if len(notes) == 1 {
		return notes[0]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Update %d prompts\n\n", len(notes))
	for _, n := range notes {
		b.WriteString("- " + n + "\n")
	}
	return b.String()
}

func pickWeighted(r *rand.Rand, w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	k := r.IntN(total)
	for i, x := range w {
		if k < x {
			return i
		}
		k -= x
	}
	return len(w) - 1
}
