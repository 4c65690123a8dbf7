package registry

import "context"

// FileRef is a regular file in a commit's tree.
type FileRef struct {
	Path string // slash-separated, relative to the repository root
	Blob string // the Git blob id (hex)
	Size int64
}

// Source is the Git repository prompts are served from (gitstore.Store). All
// methods are safe for concurrent use.
type Source interface {
	// Fetch brings the local clone up to date with the remote: the tracked
	// branch, the other branches and the tags, moved tags included. Errors:
	// EUNAVAILABLE when the remote cannot be reached (the clone keeps what
	// it had), ETIMEOUT when ctx expires.
	Fetch(ctx context.Context) error
	// Refs returns the branches and tags of the local clone as full ref
	// names (refs/heads/main, refs/tags/production) mapped to the commit
	// they point at; annotated tags are peeled to their commit.
	Refs(ctx context.Context) (map[string]string, error)
	// ResolveCommit expands a full or abbreviated (at least 4 hex digits)
	// commit sha. Errors: ENOTFOUND, EINVALID when the prefix is ambiguous.
	ResolveCommit(ctx context.Context, prefix string) (string, error)
	// Commit returns the commit with the full sha. Errors: ENOTFOUND.
	Commit(ctx context.Context, sha string) (Commit, error)
	// ListFiles lists, recursively, the regular files under dir ("" for
	// the root) in the tree of commit sha. A missing dir lists nothing.
	ListFiles(ctx context.Context, sha, dir string) ([]FileRef, error)
	// ReadFile returns the content of the file at path in commit sha.
	// Errors: ENOTFOUND.
	ReadFile(ctx context.Context, sha, path string) ([]byte, error)
	// ReadBlob returns the content of a blob. Errors: ENOTFOUND.
	ReadBlob(ctx context.Context, blob string) ([]byte, error)
}

// Parser turns prompt files into domain values (render.Parser).
type Parser interface {
	// ParsePrompt parses the prompt file at path whose default name (from
	// the path) is name. It fills every field but Checksum, Version,
	// Commit, Includes (it fills References) and Raw. Invalid content is a
	// *Problem.
	ParsePrompt(path, name string, data []byte) (*Prompt, error)
}

// SnapshotCache keeps snapshots built on demand, for refs the server does not
// track, keyed by commit sha. Implementations bound their size and are safe
// for concurrent use.
type SnapshotCache interface {
	Get(sha string) (*Snapshot, bool)
	// Add adds s and reports whether an older snapshot was evicted.
	Add(sha string, s *Snapshot) (evicted bool)
}

// RenderRequest is what a render is asked for.
type RenderRequest struct {
	// Variables is a JSON object; nil is {}.
	Variables []byte
	// Undefined overrides the prompt's handling of missing variables:
	// "strict", "lenient", or "" for the prompt's own (default strict).
	Undefined string
}

// Rendered is a rendered prompt version.
type Rendered struct {
	Name     string    `json:"name"`
	Version  int       `json:"version,omitempty"`
	Checksum string    `json:"checksum"`
	Format   string    `json:"format"`
	Text     *string   `json:"text,omitempty"`     // text prompts
	Messages []Message `json:"messages,omitempty"` // chat prompts
}

// Renderer renders prompt versions (render.Renderer).
type Renderer interface {
	// Render renders entry e of snapshot s, whose prompts its partials
	// resolve to. Errors: EINVALID for variables that are not a JSON
	// object; EUNPROCESSABLE for variables the input schema rejects,
	// missing variables under strict rendering (Details lists them) and
	// templates that fail or exceed a limit while rendering; ETIMEOUT when
	// ctx ends first.
	Render(ctx context.Context, s *Snapshot, e *Entry, req RenderRequest) (*Rendered, error)
}

// FileChange is a file a commit writes, or deletes (Content nil).
type FileChange struct {
	Path    string // slash-separated, relative to the repository root
	Content []byte
}

// CommitRequest is a commit to make on the tracked branch.
type CommitRequest struct {
	// Parent is the commit the branch must be at, on the remote too:
	// the commit is built on it and the push moves the branch only from
	// it.
	Parent  string
	Changes []FileChange
	Message string
	// Author wrote the change; a zero Time is the moment of the commit.
	Author Signature
}

// Committer commits changes to the tracked branch and pushes them to the
// remote (gitstore.Store): the write path's Git side.
type Committer interface {
	// CommitAndPush builds a commit of req.Changes on top of req.Parent,
	// pushes it to the remote's tracked branch only if that is still at
	// req.Parent, then moves the clone's branch to it and returns it. The
	// remote holds either the whole commit or nothing. Errors: EINVALID
	// for a bad path or an empty change, ECONFLICT when the remote's
	// branch is not at req.Parent (fetch, re-apply, retry), EUNAVAILABLE
	// when the remote cannot be reached or refuses the push (the message
	// says why), ETIMEOUT when ctx ends first.
	CommitAndPush(ctx context.Context, req CommitRequest) (Commit, error)
}

// RefUpdate is the move of an environment's ref on the remote.
type RefUpdate struct {
	// Ref is the full ref name: refs/tags/… or refs/heads/….
	Ref string
	// From is the commit the ref points at now (peeled); "" when it must
	// not exist yet.
	From string
	// To is the commit it is to point at.
	To string
	// Force allows a branch to move to a commit that does not descend
	// from From.
	Force bool
	// Tagger and Message make the annotated tag a tag ref gets.
	Tagger  Signature
	Message string
}

// RefMover moves refs on the remote (gitstore.Store).
type RefMover interface {
	// MoveRef pushes the move of req.Ref, only if the remote's ref is
	// still where the clone has it, then records it in the clone. A tag
	// becomes an annotated tag of req.To made by req.Tagger. Errors:
	// EINVALID (not a tag or a branch, or the tracked branch), ENOTFOUND
	// (To is not a commit of the clone), ECONFLICT (the ref is not at From,
	// or a branch move is not a fast-forward and Force is false),
	// EUNAVAILABLE (the remote cannot be reached or refuses), ETIMEOUT.
	MoveRef(ctx context.Context, req RefUpdate) error
}
