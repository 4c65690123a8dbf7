package gitstore

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/promptreg/promptreg/registry"
)

var _ registry.Source = (*Store)(nil)

// Defaults of the Options fields left zero.
const (
	DefaultBranch           = "main"
	DefaultTokenUser        = "x-access-token"
	DefaultObjectCacheBytes = 16 << 20 // decoded objects kept in memory
	DefaultMaxPacks         = 50       // packfiles in the clone before Fetch repacks
	DefaultMaxFileBytes     = 10 << 20 // largest file ReadFile and ReadBlob return
)

// largeObjectBytes is the size above which go-git reads an object from disk
// when asked instead of inflating it into memory (and into the cache).
const largeObjectBytes = 1 << 20

// cloneName is the name of the clone inside Options.Dir.
const cloneName = "repo.git"

// refSpecs are what Fetch brings: every branch and every tag, to the same
// names, forced (the "+"), so moved tags and force-pushed branches follow.
var refSpecs = []config.RefSpec{
	"+refs/heads/*:refs/heads/*",
	"+refs/tags/*:refs/tags/*",
}

// Options configure a Store. Only URL and Dir are required.
type Options struct {
	// URL is the repository to serve: a local working or bare repository
	// path (made absolute), or a file://, https://, http://, ssh:// or
	// scp-style (git@host:org/repo.git) URL.
	URL string
	// Branch is the tracked branch; the clone's HEAD points at it. Default
	// "main". Fetch brings every branch regardless.
	Branch string
	// Dir is the data directory. The clone lives in Dir/repo.git; nothing
	// else in Dir is touched.
	Dir string

	// Token authenticates https:// URLs (HTTP basic auth with the token as
	// the password and TokenUser as the user name, which GitHub, GitLab and
	// Gitea all accept). It never appears in errors or logs.
	Token string
	// TokenUser is the basic-auth user name sent with Token. Default
	// "x-access-token".
	TokenUser string
	// SSHKeyPath is the private key file for ssh URLs (unencrypted).
	SSHKeyPath string
	// SSHKnownHosts is the known_hosts file ssh host keys are checked
	// against. Without it the ssh defaults apply ($SSH_KNOWN_HOSTS,
	// ~/.ssh/known_hosts, /etc/ssh/ssh_known_hosts); Open refuses an ssh URL
	// when none of them exists, unless SSHInsecureIgnoreHostKey is set.
	SSHKnownHosts string
	// SSHInsecureIgnoreHostKey accepts any ssh host key. For tests and
	// throwaway setups only: it allows a man in the middle.
	SSHInsecureIgnoreHostKey bool

	// Committer is who commits on behalf of the API (CommitAndPush), and
	// the author of a commit whose request names none; default
	// DefaultCommitter.
	Committer registry.Signature

	// Logger receives the Store's logs; nil discards them.
	Logger *slog.Logger
	// ObjectCacheBytes bounds the cache of decoded objects (and delta
	// bases) that history walks and blob reads share; go-git's own cache
	// gets a quarter of it. Default 16 MiB.
	ObjectCacheBytes int
	// MaxPacks is the number of packfiles above which Fetch repacks the
	// clone into one (every fetch that brings objects adds a pack). Default
	// 50.
	MaxPacks int
	// MaxFileBytes is the size of the largest file or blob ReadFile and
	// ReadBlob return; larger ones are ETOOLARGE. Default 10 MiB.
	MaxFileBytes int64
}

// Store is a bare clone of the prompt repository, read and updated with
// go-git. It implements registry.Source and is safe for concurrent use.
type Store struct {
	// mu guards every use of repo and st, which go-git does not make safe
	// for concurrent use: reads hold it shared; publishing what a transfer
	// fetched (transfer.go), Keep, repacking, replacing a damaged clone
	// (and, to come, commits and ref moves made on behalf of the API, and
	// pushes) hold it exclusively, briefly: no network I/O happens under
	// it. Whatever holds it exclusively calls warm(st) before releasing it.
	mu     sync.RWMutex
	repo   *git.Repository
	st     *filesystem.Storage
	closed bool

	// fetching serializes Fetch (a one-slot semaphore, so a waiting
	// fetch still honours its context) and guards the fields below.
	// Readers and FetchRef never take it.
	fetching chan struct{}
	// transfers has a slot for each transfer writing into the clone
	// (Fetch's, FetchRef's, a salvage's): each holds one while it writes,
	// so a FetchRef that hangs on its remote holds back neither Fetch nor
	// another FetchRef. What deletes files a transfer may be reading or
	// writing (a repack, removing temporary packs, checking and replacing
	// a damaged clone) takes every slot; only Fetch does that, so two
	// takers never hold part of the slots each. Readers never take it.
	transfers chan struct{}
	// salvageFrom is the set-aside clone whose kept commits the next
	// successful Fetch salvages (salvage.go); "" when there is none.
	salvageFrom string
	// verified holds the packs whose whole content checkClone hashed and
	// found sound.
	verified map[string]bool
	// reclone, when not nil, is why checkClone found the clone damaged
	// and then failed to replace it; the next Fetch tries again.
	reclone error
	// tidyPostponed counts the Fetches in a row whose tidy (repack,
	// removal of temporary packs) found transfers running.
	tidyPostponed int

	// suspect says that a read or a fetch failed in a way a damaged clone
	// can cause since checkClone last looked.
	suspect atomic.Bool

	path         string // the clone: Dir/repo.git
	url          string // the remote URL fetched from (a local path made absolute)
	display      string // url without any password, for messages and logs
	branch       plumbing.ReferenceName
	auth         transport.AuthMethod
	secrets      []string // scrubbed from every error message
	log          *slog.Logger
	committer    registry.Signature
	maxPacks     int
	maxFileBytes int64
	cacheBytes   int

	// poolOnce creates pool, the packfiles the history walk keeps open
	// (see objects in history.go); Close closes them.
	poolOnce sync.Once
	pool     *packPool
}

// Open opens the clone in opts.Dir, creating an empty one whose origin is
// opts.URL if there is none. It does no network I/O: the first Fetch is the
// initial clone. Before serving an existing clone it removes what an
// interrupted run may have left behind. Errors: EINVALID for bad options, a
// local path that is not a Git repository, or a Dir holding a clone of
// another URL; EINTERNAL when the clone cannot be created or read.
func Open(opts Options) (*Store, error) {
	if opts.URL == "" {
		return nil, registry.Errorf(registry.EINVALID, "open repository: no repository URL or path")
	}
	if opts.Dir == "" {
		return nil, registry.Errorf(registry.EINVALID, "open repository: no data directory")
	}
	if opts.Branch == "" {
		opts.Branch = DefaultBranch
	}
	branch := plumbing.NewBranchReferenceName(opts.Branch)
	if err := branch.Validate(); err != nil {
		return nil, &registry.Error{Code: registry.EINVALID, Message: fmt.Sprintf("open repository: invalid branch name %q", opts.Branch), Err: err}
	}
	if opts.TokenUser == "" {
		opts.TokenUser = DefaultTokenUser
	}
	if opts.Committer.Name == "" {
		opts.Committer = DefaultCommitter
	}
	if opts.ObjectCacheBytes <= 0 {
		opts.ObjectCacheBytes = DefaultObjectCacheBytes
	}
	if opts.MaxPacks <= 0 {
		opts.MaxPacks = DefaultMaxPacks
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	url, ep, err := normalizeURL(opts.URL)
	if err != nil {
		return nil, err
	}
	s := &Store{
		fetching:     make(chan struct{}, 1),
		transfers:    make(chan struct{}, maxTransfers),
		verified:     map[string]bool{},
		url:          url,
		display:      redactURL(url),
		branch:       branch,
		log:          log.With("repo", redactURL(url)),
		committer:    opts.Committer,
		maxPacks:     opts.MaxPacks,
		maxFileBytes: opts.MaxFileBytes,
		cacheBytes:   opts.ObjectCacheBytes,
	}
	if opts.Token != "" {
		s.secrets = append(s.secrets, opts.Token)
	}
	if ep.Password != "" {
		s.secrets = append(s.secrets, ep.Password)
	}
	if s.auth, err = authMethod(opts, ep); err != nil {
		return nil, err
	}
	if ep.Protocol == "http" && opts.Token != "" {
		s.log.Warn("sending the git token over plain http; use https")
	}

	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, &registry.Error{Code: registry.EINVALID, Message: "open repository: invalid data directory", Err: err}
	}
	s.path = filepath.Join(dir, cloneName)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, internal("open repository: create data directory", err)
	}
	removeStaleInits(dir, s.log)

	if _, err := os.Stat(s.path); err == nil {
		err = s.openExisting()
		if err == nil {
			s.findSalvage()
			return s, nil
		}
		if registry.ErrorCode(err) == registry.EINVALID || errors.Is(err, fs.ErrPermission) {
			return nil, err
		}
		// The clone is ours. What it holds is on the remote, except the
		// commits kept with Keep, which only it has: rather than refusing
		// to start, set it aside and start over from an empty clone, which
		// the next Fetch fills and then salvages the kept commits into
		// from the set-aside one (salvage.go).
		if err := s.setAside(err); err != nil {
			return nil, internal("open repository: move unusable clone aside", err)
		}
	} else if !os.IsNotExist(err) {
		return nil, internal("open repository", err)
	}

	if ep.Protocol == "file" {
		if err := checkLocalRepo(ep.Path); err != nil {
			return nil, err
		}
	}
	if err := s.initClone(dir); err != nil {
		return nil, err
	}
	if err := s.openExisting(); err != nil {
		return nil, err
	}
	s.log.Info("git clone created", "path", s.path)
	s.findSalvage()
	return s, nil
}

// openExisting repairs and opens the clone at s.path and checks that it is a
// clone of s.url.
func (s *Store) openExisting() error {
	repair(s.path, s.log)
	if err := checkPacks(s.path, false, nil); err != nil {
		return internal("open clone: damaged pack", err)
	}
	// go-git's own cache serves only the few reads that do not go through
	// the pool of open packs (history.go), which has the larger one.
	st := newStorage(s.path, s.cacheBytes/4)
	repo, err := git.Open(st, nil)
	if err != nil {
		st.Close()
		return internal("open clone", err)
	}
	cfg, err := repo.Config()
	if err != nil {
		st.Close()
		return internal("open clone: read config", err)
	}
	origin, ok := cfg.Remotes[git.DefaultRemoteName]
	switch {
	case !ok || len(origin.URLs) == 0:
		// Only an interrupted initialization leaves a clone without
		// origin, and initClone makes that impossible; repair it anyway.
		if _, err := repo.CreateRemote(remoteConfig(s.url)); err != nil {
			st.Close()
			return internal("open clone: add origin", err)
		}
	case !sameRemote(origin.URLs[0], s.url):
		st.Close()
		return registry.Errorf(registry.EINVALID,
			"open repository: %s holds a clone of %s, not of %s; use another data directory or remove it",
			s.path, redactURL(origin.URLs[0]), s.display)
	}
	if err := warm(st); err != nil {
		st.Close()
		return internal("open clone: read pack indexes", err)
	}
	if err := removeDanglingRefs(st, s.log); err != nil {
		st.Close()
		return internal("open clone: read refs", err)
	}
	// Point HEAD at the tracked branch (it may have changed since the
	// clone was made); the clone has no worktree, so this is all it takes.
	if head, err := st.Reference(plumbing.HEAD); err != nil || head.Target() != s.branch {
		if err := st.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, s.branch)); err != nil {
			st.Close()
			return internal("open clone: set HEAD", err)
		}
	}
	s.repo, s.st = repo, st
	return nil
}

// initClone creates an empty bare clone with origin set, in a temporary
// directory renamed into place, so that a crash never leaves half of one.
func (s *Store) initClone(dir string) error {
	tmp, err := os.MkdirTemp(dir, cloneName+initSuffix)
	if err != nil {
		return internal("create clone", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	st := newStorage(tmp, 0)
	repo, err := git.InitWithOptions(st, nil, git.InitOptions{DefaultBranch: s.branch})
	if err != nil {
		return internal("create clone", err)
	}
	if _, err := repo.CreateRemote(remoteConfig(s.url)); err != nil {
		return internal("create clone: add origin", err)
	}
	if err := st.Close(); err != nil {
		return internal("create clone", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return internal("create clone", err)
	}
	return nil
}

// Close releases the clone. Methods called after Close return EUNAVAILABLE.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.pool != nil {
		s.pool.close()
	}
	if err := s.st.Close(); err != nil {
		return internal("close clone", err)
	}
	return nil
}

// Path returns the clone's directory, Dir/repo.git.
func (s *Store) Path() string { return s.path }

// Branch returns the tracked branch's full ref name, e.g. refs/heads/main.
func (s *Store) Branch() string { return s.branch.String() }

func newStorage(path string, cacheBytes int) *filesystem.Storage {
	if cacheBytes <= 0 {
		cacheBytes = DefaultObjectCacheBytes
	}
	// Neither KeepDescriptors nor MaxOpenDescriptors: both make go-git
	// share open packfiles (and their read offsets) between calls, which
	// concurrent readers would race on. Each read opens the pack instead.
	return filesystem.NewStorageWithOptions(
		osfs.New(path),
		cache.NewObjectLRU(cache.FileSize(cacheBytes)),
		filesystem.Options{LargeObjectThreshold: largeObjectBytes},
	)
}

// warm makes go-git load what it otherwise loads lazily, and racily, on the
// first read: the pack indexes (ObjectStorage.requireIndex fills a map
// in place) and the check for an incoming-objects directory. It must run
// under the write lock after anything that changes the set of packs st
// knows (Open, a repack, publishing a transfer, which calls st.Reindex
// first; and any future write), so that readers sharing the read lock only
// ever read go-git's state: without it, -race reports races between readers
// after a repack, and a reader can see a half-filled index ("object not
// found").
func warm(st *filesystem.Storage) error {
	err := st.HasEncodedObject(plumbing.ZeroHash)
	if err != nil && !errors.Is(err, plumbing.ErrObjectNotFound) {
		return err
	}
	return nil
}

func remoteConfig(url string) *config.RemoteConfig {
	return &config.RemoteConfig{Name: git.DefaultRemoteName, URLs: []string{url}, Fetch: refSpecs}
}

// normalizeURL checks raw and returns the URL to fetch from (a local path
// made absolute) and its parsed endpoint.
func normalizeURL(raw string) (string, *transport.Endpoint, error) {
	ep, err := transport.NewEndpoint(raw)
	if err != nil {
		return "", nil, &registry.Error{Code: registry.EINVALID, Message: fmt.Sprintf("open repository: invalid repository URL %q", redactURL(raw)), Err: scrub(err, nil)}
	}
	switch ep.Protocol {
	case "file":
		if !strings.Contains(raw, "://") {
			return ep.Path, ep, nil // a local path, now absolute
		}
		if ep.Host != "" && ep.Host != "localhost" {
			return "", nil, registry.Errorf(registry.EINVALID, "open repository: file URL %q names a host", raw)
		}
	case "https", "http", "ssh", "git":
	default:
		return "", nil, registry.Errorf(registry.EINVALID, "open repository: unsupported URL scheme %q (want a path, file, https, http, ssh or git)", ep.Protocol)
	}
	return raw, ep, nil
}

// sameRemote reports whether two remote URLs name the same repository: the
// same protocol, host, port and path (user names and passwords aside).
func sameRemote(a, b string) bool {
	if a == b {
		return true
	}
	ea, err1 := transport.NewEndpoint(a)
	eb, err2 := transport.NewEndpoint(b)
	if err1 != nil || err2 != nil {
		return false
	}
	clean := func(p string) string {
		if ea.Protocol == "file" {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real
			}
		}
		return strings.TrimSuffix(filepath.ToSlash(filepath.Clean(p)), "/")
	}
	return ea.Protocol == eb.Protocol &&
		strings.EqualFold(ea.Host, eb.Host) &&
		port(ea) == port(eb) &&
		clean(ea.Path) == clean(eb.Path)
}

func port(ep *transport.Endpoint) int {
	if ep.Port != 0 {
		return ep.Port
	}
	return map[string]int{"https": 443, "http": 80, "ssh": 22, "git": 9418}[ep.Protocol]
}

// checkLocalRepo checks that path holds a Git repository, working or bare.
func checkLocalRepo(path string) error {
	if _, err := os.Stat(path); err != nil {
		return &registry.Error{Code: registry.EINVALID, Message: fmt.Sprintf("open repository: %s does not exist", path), Err: err}
	}
	r, err := git.PlainOpen(path)
	if err != nil {
		return &registry.Error{Code: registry.EINVALID, Message: fmt.Sprintf("open repository: %s is not a git repository", path), Err: err}
	}
	if st, ok := r.Storer.(*filesystem.Storage); ok {
		st.Close()
	}
	return nil
}
