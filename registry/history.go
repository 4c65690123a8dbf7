package registry

import (
	"context"
	"time"
)

// Change is a file that differs between a commit and its first parent.
type Change struct {
	Path string
	Blob string // "" when the file was deleted
	Size int64
}

// HistorySource is what the history index reads from Git (gitstore.Store).
type HistorySource interface {
	// FirstParents returns the first-parent chain that starts at head,
	// newest first, stopping before the first commit for which stop
	// returns true; base is that commit, or "" when the walk reached the
	// root commit (a nil stop always walks to the root).
	FirstParents(ctx context.Context, head string, stop func(sha string) bool) (chain []string, base string, err error)
	// Diff returns the files under dir ("" for the whole tree) that differ
	// between the trees of commits from and to, comparing subtrees by hash
	// and descending only into those that changed; from "" is the empty
	// tree. Errors: ENOTFOUND for an unknown commit.
	Diff(ctx context.Context, from, to, dir string) ([]Change, error)
	// Tagger returns who made the annotated tag ref (a full ref name), and
	// nil for a lightweight tag or a branch.
	Tagger(ctx context.Context, ref string) (*Signature, error)
	// FetchRef fetches one ref the remote has but the clone does not
	// (refs/pull/123/head, a branch created since the last fetch) and
	// returns its commit. Errors: ENOTFOUND when the remote does not have
	// it, EUNAVAILABLE when the remote cannot be reached.
	FetchRef(ctx context.Context, ref string) (string, error)
	// Keep keeps commit sha in the clone although no branch or tag
	// reaches it any more (a force-push dropped it), so the versions it
	// introduced stay readable. Errors: ENOTFOUND.
	Keep(ctx context.Context, sha string) error
}

// Signature is a Git identity at a time.
type Signature struct {
	Name  string    `json:"name"`
	Email string    `json:"email"`
	Time  time.Time `json:"time"`
}

// Version is one distinct content a prompt had on the tracked branch's
// first-parent history. Numbers start at 1 in order of first appearance; a
// revert to earlier bytes is that earlier version again.
type Version struct {
	Name     string `json:"-"`
	Version  int    `json:"version"`
	Checksum string `json:"checksum"`
	Path     string `json:"path"`
	// Commit is the commit that introduced the content.
	Commit Commit `json:"commit"`
}

// Span says that prompt Name served Version from the indexed commit with
// sequence number From up to (not including) To; To is 0 while it is
// current at the indexed head.
type Span struct {
	Name    string
	Version int
	From    int
	To      int
}

// IndexedCommit is a commit of the tracked branch's first-parent history
// with its sequence number (1 for the root commit).
type IndexedCommit struct {
	Seq int
	Commit
}

// IndexState is what a HistoryStore holds: enough to resume indexing and to
// answer version lookups from memory.
type IndexState struct {
	// Commits are the indexed commits' shas; Commits[i] has sequence
	// number i+1.
	Commits  []string
	Versions []Version
	// Open are the spans current at the indexed head.
	Open []Span
}

// IndexBatch is one step of indexing, applied atomically.
type IndexBatch struct {
	// Base is the sequence number the batch continues from. Commits above
	// it that the store holds belong to history that was rewritten: the
	// store drops them, drops the spans that start above Base and reopens
	// the spans that ended above it. Versions are never dropped.
	Base     int
	Commits  []IndexedCommit
	Versions []Version // new versions
	Spans    []Span    // spans that started in this batch, To 0 if still open
	// Closed are spans open before the batch that it closed: Name,
	// Version and From identify them, To is where they ended.
	Closed []Span
}

// RefMove is an observed move of an environment's ref.
type RefMove struct {
	ID          int64      `json:"id"`
	Environment string     `json:"environment"`
	Ref         string     `json:"ref"`
	From        string     `json:"from"` // "" when the ref appeared
	To          string     `json:"to"`   // "" when the ref was deleted
	ObservedAt  time.Time  `json:"observed_at"`
	Via         string     `json:"via"`                // poll, webhook, api, start
	Delivery    string     `json:"delivery,omitempty"` // the webhook delivery id
	Tagger      *Signature `json:"tagger,omitempty"`
	// By names who moved the ref through the API; "" for a move observed
	// in the repository.
	By string `json:"by,omitempty"`
}

// RefMoveQuery selects recorded moves, newest first.
type RefMoveQuery struct {
	Environment string // "" for all
	Before      int64  // moves with ID below it; 0 for the newest
	Limit       int
}

// HistoryStore persists the version index and the promotion ledger
// (sqlite.Store). Methods return EINTERNAL on storage failures.
type HistoryStore interface {
	// LoadIndex returns the index of branch; an empty state if none.
	LoadIndex(ctx context.Context, branch string) (*IndexState, error)
	// ApplyIndex applies a batch to the index of branch in one transaction.
	ApplyIndex(ctx context.Context, branch string, b *IndexBatch) error
	// Spans returns every span of the named prompt, in order of From.
	Spans(ctx context.Context, branch, name string) ([]Span, error)
	// Commits returns the indexed commits with the given sequence numbers.
	Commits(ctx context.Context, branch string, seqs []int) (map[int]Commit, error)
	// ResetIndex drops the index of branch (versions included).
	ResetIndex(ctx context.Context, branch string) error

	// RecordRefMove appends a move to the ledger and returns its ID.
	RecordRefMove(ctx context.Context, m RefMove) (int64, error)
	// RefMoves returns recorded moves, newest first.
	RefMoves(ctx context.Context, q RefMoveQuery) ([]RefMove, error)
	// LastRefs returns, for each environment, the commit its ref pointed at
	// in the newest recorded move ("" if deleted).
	LastRefs(ctx context.Context) (map[string]string, error)

	// SaveSyncTimes records when the last fetch and the last sync
	// succeeded, so that after a restart with the remote unreachable
	// /v1/status still says how stale the served state is.
	SaveSyncTimes(ctx context.Context, t SyncTimes) error
	// LoadSyncTimes returns what SaveSyncTimes recorded last; zero times
	// if nothing was.
	LoadSyncTimes(ctx context.Context) (SyncTimes, error)
}

// StoreHealth is implemented by a HistoryStore that can tell whether it is
// usable (sqlite.Store): Health returns nil, or why writes fail for now
// (EUNAVAILABLE: a read-only or full disk) or why nothing it holds can be
// trusted any more (EINTERNAL: a damaged database).
type StoreHealth interface {
	Health() error
}

// SyncTimes are the times of the last successful fetch and sync. A zero
// time means never.
type SyncTimes struct {
	LastFetchSuccess time.Time
	LastSync         time.Time
}
