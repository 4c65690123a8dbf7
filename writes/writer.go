// Package writes turns API writes into commits on the served repository's
// tracked branch: what each write changes, its checks (content, If-Match,
// conflicts), and the loop that pushes it before it is acknowledged.
//
// A write runs one at a time per repository (Writer serialises them). It
// reads the served head, computes the file changes, commits and pushes them
// (registry.Committer) with the head as the expected parent; a push refused
// because the remote moved is retried on the new head after a fetch, a
// bounded number of times. Once pushed, the Keeper publishes the clone's new
// head, so the version is served before the write is answered
// (read-your-writes).
package writes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/promptreg/promptreg/registry"
)

// Keeper is what writes need of the served state (snapshots.Keeper).
type Keeper interface {
	Served() (*registry.Served, error)
	// SyncFor fetches the remote and publishes what it brought.
	SyncFor(ctx context.Context, cause registry.Cause) error
	// Publish publishes what the clone has, without a fetch.
	Publish(ctx context.Context, cause registry.Cause) error
}

// Versions is what writes need of the version history (history.Queries).
type Versions interface {
	// VersionBytes returns a version's file content.
	VersionBytes(ctx context.Context, name string, version int) ([]byte, registry.Version, error)
	// Versions lists a prompt's versions, newest first.
	Versions(ctx context.Context, name string) ([]registry.VersionEntry, error)
	// EnvironmentHistory lists an environment's recorded moves, newest
	// first.
	EnvironmentHistory(ctx context.Context, env string, before int64, limit int) ([]registry.RefMove, error)
}

// DefaultAttempts bounds the pushes one write tries when the remote keeps
// moving under it.
const DefaultAttempts = 8

// Options configures a Writer.
type Options struct {
	Keeper    Keeper
	Committer registry.Committer
	// Source reads the files at the head a write starts from.
	Source   registry.Source
	Parser   registry.Parser
	Versions Versions
	// Mover moves environments' refs on the remote (promotions).
	Mover registry.RefMover
	// Attempts bounds the pushes of one write; 0 is DefaultAttempts.
	Attempts int
	Logger   *slog.Logger
}

// Writer makes API writes, one at a time. It is safe for concurrent use.
type Writer struct {
	keeper    Keeper
	committer registry.Committer
	src       registry.Source
	parser    registry.Parser
	versions  Versions
	mover     registry.RefMover
	attempts  int
	log       *slog.Logger

	turn chan struct{} // a token: the write holding it runs
}

// New returns a Writer.
func New(opts Options) *Writer {
	w := &Writer{
		keeper: opts.Keeper, committer: opts.Committer, src: opts.Source, parser: opts.Parser,
		versions: opts.Versions, mover: opts.Mover, attempts: opts.Attempts, log: opts.Logger,
		turn: make(chan struct{}, 1),
	}
	if w.attempts <= 0 {
		w.attempts = DefaultAttempts
	}
	if w.log == nil {
		w.log = slog.New(slog.DiscardHandler)
	}
	return w
}

// Actor is who asks for a write.
type Actor struct {
	// Name and Email are the commit's author.
	Name, Email string
	// KeyID names the API key the write came with, for the commit trailer
	// and the audit log ("admin" for the admin key).
	KeyID string
}

// who names a for the promotion ledger: "Name <email>", or the name.
func (a Actor) who() string {
	sig := a.signature()
	if sig.Email == "" {
		return sig.Name
	}
	return sig.Name + " <" + sig.Email + ">"
}

// signature returns the commit author for a.
func (a Actor) signature() registry.Signature {
	name := strings.TrimSpace(a.Name)
	if name == "" {
		name = a.KeyID
	}
	if name == "" {
		name = "promptreg API"
	}
	return registry.Signature{Name: name, Email: a.Email}
}

// ParseAuthor splits "Name <email>" (PromptLedger's created_by, or a Git
// identity) into an actor's name and email; a bare name has no email.
func ParseAuthor(s string) (name, email string) {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '<'); i >= 0 && strings.HasSuffix(s, ">") {
		return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1 : len(s)-1])
	}
	return s, ""
}

// change is what one write does: the files it changes, on top of the head
// it was computed from, and the commit message.
type change struct {
	files   []registry.FileChange
	subject string // the commit message's first line
	action  string // the Promptreg-Write trailer's value
	// trailers are more "Key: value" lines for the message.
	trailers []string
}

// plan computes the change a write makes on top of st.Head, the tracked
// branch's served head (st is what is served with it). It runs again, on
// the new head, when a push is retried, so it must check its preconditions
// (If-Match) every time.
type plan func(ctx context.Context, st *registry.Served) (*change, error)

// outcome is the end of a write: the commit it pushed (nil when it changed
// nothing) and the state served once it was published.
type outcome struct {
	commit *registry.Commit
	served *registry.Served
}

// run makes the write p: plan, commit, push, publish, retrying on a remote
// that moved. message and actor describe the commit.
func (w *Writer) run(ctx context.Context, actor Actor, message string, p plan) (*outcome, error) {
	if err := w.wait(ctx); err != nil {
		return nil, err
	}
	defer w.done()

	var first map[string]string // checksums of the changed files at the first head
	for attempt := 1; ; attempt++ {
		st, err := w.keeper.Served()
		if err != nil {
			return nil, err
		}
		base := st.Head
		ch, err := p(ctx, st)
		if err != nil {
			return nil, err
		}
		if ch == nil || len(ch.files) == 0 {
			return &outcome{served: st}, nil
		}
		sums, err := w.checksums(ctx, base.Commit.SHA, ch.files)
		if err != nil {
			return nil, err
		}
		if first == nil {
			first = sums
		} else if err := conflicts(first, sums); err != nil {
			return nil, err
		}
		c, err := w.committer.CommitAndPush(ctx, registry.CommitRequest{
			Parent:  base.Commit.SHA,
			Changes: ch.files,
			Message: commitMessage(message, ch, actor),
			Author:  actor.signature(),
		})
		if registry.ErrorCode(err) == registry.ECONFLICT && attempt < w.attempts && ctx.Err() == nil {
			// The remote moved: fetch it and apply the write again on
			// its head.
			w.log.Info("push refused, the remote moved: fetching and retrying", "attempt", attempt, "parent", base.Commit.SHA)
			if serr := w.keeper.SyncFor(ctx, registry.Cause{Via: "api"}); serr != nil && ctx.Err() != nil {
				return nil, serr
			}
			continue
		}
		if err != nil {
			if registry.ErrorCode(err) == registry.ECONFLICT {
				return nil, &registry.Error{Code: registry.ECONFLICT, Message: fmt.Sprintf("the repository kept moving: the write was refused %d times; try again", attempt), Err: err}
			}
			return nil, err
		}
		// Pushed: the write is durable. Publish it before answering; if
		// that fails the next sync publishes it, and the answer says what
		// was pushed.
		if perr := w.keeper.Publish(ctx, registry.Cause{Via: "api"}); perr != nil {
			w.log.Error("write pushed but not yet served; the next sync serves it", "commit", c.SHA, "err", perr)
		}
		out := &outcome{commit: &c}
		if out.served, err = w.keeper.Served(); err != nil {
			out.served = st
		}
		return out, nil
	}
}

// wait waits for the write's turn; done ends it.
func (w *Writer) wait(ctx context.Context) error {
	select {
	case w.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return registry.Errorf(registry.ETIMEOUT, "write: timed out waiting for the writes before it")
	}
}

func (w *Writer) done() { <-w.turn }

// checksums returns the sha256 of each changed file at commit sha ("" for a
// file that does not exist there).
func (w *Writer) checksums(ctx context.Context, sha string, files []registry.FileChange) (map[string]string, error) {
	out := make(map[string]string, len(files))
	for _, f := range files {
		data, err := w.src.ReadFile(ctx, sha, f.Path)
		switch {
		case registry.ErrorCode(err) == registry.ENOTFOUND:
			out[f.Path] = ""
		case err != nil:
			return nil, err
		default:
			out[f.Path] = checksum(data)
		}
	}
	return out, nil
}

// Conflict is the detail of a 409: a file the write changes that changed
// on the remote since the write began.
type Conflict struct {
	Path string `json:"path"`
	// Expected is the checksum the write was based on, Current the one
	// the remote has ("" when the file does not exist).
	Expected string `json:"expected_checksum"`
	Current  string `json:"current_checksum"`
}

// conflicts returns ECONFLICT when a file changed between the heads the
// checksums were taken at.
func conflicts(first, now map[string]string) error {
	var out []Conflict
	for path, cur := range now {
		if was, ok := first[path]; ok && was != cur {
			out = append(out, Conflict{Path: path, Expected: was, Current: cur})
		}
	}
	if len(out) == 0 {
		return nil
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return &registry.Error{Code: registry.ECONFLICT, Details: out,
		Message: fmt.Sprintf("%s changed on the remote while this write was being made; fetch it and try again", out[0].Path)}
}

// commitMessage is message (or the change's subject) with the trailers
// that mark an API write.
func commitMessage(message string, ch *change, actor Actor) string {
	m := strings.TrimSpace(message)
	if m == "" {
		m = ch.subject
	}
	var b strings.Builder
	b.WriteString(m)
	b.WriteString("\n\n")
	b.WriteString(registry.WriteTrailer + ": " + ch.action + "\n")
	for _, t := range ch.trailers {
		b.WriteString(t + "\n")
	}
	if actor.KeyID != "" {
		b.WriteString("Promptreg-Key: " + oneLine(actor.KeyID) + "\n")
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func checksum(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
