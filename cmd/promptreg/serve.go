package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/promptreg/promptreg/executions"
	"github.com/promptreg/promptreg/gitstore"
	"github.com/promptreg/promptreg/httpapi"
	"github.com/promptreg/promptreg/keys"
	"github.com/promptreg/promptreg/llm"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
	"github.com/promptreg/promptreg/sqlite"
	"github.com/promptreg/promptreg/writes"
)

// Serve is the serve command: it wires the Git store, the registry, its
// watcher and the HTTP server, and closes them in reverse order.
type Serve struct {
	Repo, Branch, Data, Addr, Seed   string
	AdminKey, WebhookSecret          string
	GitToken, GitSSHKey, KnownHosts  string
	LogLevel, LogFormat              string
	GitAuthor                        string
	Poll, FetchTimeout, ShutdownWait time.Duration
	SnapshotCache                    int
	SnapshotCacheMB                  int
	FetchUnknownRefs                 bool
	ProviderTimeout                  time.Duration
	RecordInputs, ModelsFile         string
	ProvidersFile                    string
	PublicRead, PublicMetrics        bool
	CORSOrigins, RateLimits          string
	TrustedProxies                   string
	trustedProxies                   []*net.IPNet
	rateLimits                       httpapi.RateLimits
	MaxStreams                       int
	ExecWorkers                      int

	Stderr io.Writer

	log    *slog.Logger
	getenv func(string) string
	execs  *executions.Service
	keys   *keys.Ring
	store  *gitstore.Store
	db     *sqlite.Store
	reg    *snapshots.Keeper
	srv    *httpapi.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// ParseFlags reads the serve flags, then PROMPTREG_* variables for the flags
// not given.
func (m *Serve) ParseFlags(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	fs.StringVar(&m.Repo, "repo", "", "prompt repository: a local working or bare repository path, or a file://, https:// or ssh:// URL (required)")
	fs.StringVar(&m.Branch, "branch", "main", "tracked branch")
	fs.StringVar(&m.Data, "data", "promptreg-data", "data directory: the clone and the database live here")
	fs.StringVar(&m.Addr, "addr", "127.0.0.1:8080", "listen address")
	fs.DurationVar(&m.Poll, "poll", 10*time.Second, "poll interval for new commits (0 disables polling; webhooks still sync)")
	fs.StringVar(&m.AdminKey, "admin-key", "", "key for the admin routes (prefer PROMPTREG_ADMIN_KEY: flags show in ps)")
	fs.StringVar(&m.WebhookSecret, "webhook-secret", "", "secret that signs push webhooks (prefer PROMPTREG_WEBHOOK_SECRET)")
	fs.StringVar(&m.Seed, "seed", "", "if --repo is a local path that does not exist yet, create a Git repository there from this folder")
	fs.StringVar(&m.GitToken, "git-token", "", "token for https remotes (prefer PROMPTREG_GIT_TOKEN)")
	fs.StringVar(&m.GitSSHKey, "git-ssh-key", "", "private key file for ssh remotes")
	fs.StringVar(&m.KnownHosts, "git-known-hosts", "", "known_hosts file for ssh remotes")
	fs.DurationVar(&m.FetchTimeout, "fetch-timeout", time.Minute, "time limit of one fetch")
	fs.DurationVar(&m.ShutdownWait, "shutdown-timeout", 15*time.Second, "how long shutdown waits for requests in flight")
	fs.IntVar(&m.SnapshotCache, "snapshot-cache", snapshots.DefaultCacheSnapshots, "snapshots of other commits (?ref=, ?version=) kept in memory")
	fs.IntVar(&m.SnapshotCacheMB, "snapshot-cache-mb", snapshots.DefaultCacheBytes>>20, "memory those snapshots may take, in MiB")
	fs.BoolVar(&m.FetchUnknownRefs, "fetch-unknown-refs", true, "look up on the remote, and fetch, a ?ref= the clone does not have (refs/pull/N/head, a branch pushed since the last fetch)")
	fs.StringVar(&m.GitAuthor, "git-author", "promptreg <promptreg@localhost>", "committer of the commits API writes make, as \"Name <email>\" (the author is the writer)")
	fs.DurationVar(&m.ProviderTimeout, "provider-timeout", llm.DefaultTimeout, "time limit of one LLM provider call, retries included")
	fs.StringVar(&m.RecordInputs, "record-inputs", executions.RecordFull, "what executions keep of their rendered input: full, or hash (only its sha256)")
	fs.StringVar(&m.ProvidersFile, "providers", "", "YAML file of LLM providers: more OpenAI-compatible servers by name, other endpoints or key variables (see README)")
	fs.StringVar(&m.ModelsFile, "models-file", "", "YAML file of models and prices that adds to or replaces the built-in catalogue")
	fs.IntVar(&m.ExecWorkers, "exec-workers", executions.DefaultWorkers, "queued (async) executions running at once")
	fs.BoolVar(&m.PublicRead, "public-read", false, "let prompt reads go without a key even when keys exist (and listen beyond loopback without any key)")
	fs.StringVar(&m.RateLimits, "rate-limits", "", "requests per second per key by scope, and per client IP without a key: \"prompts:read=200,prompts:execute=5,anonymous=20\" (default: none)")
	fs.StringVar(&m.TrustedProxies, "trusted-proxies", "", "comma-separated networks of reverse proxies whose X-Forwarded-For names the client (default: none; the connection's address is the client's)")
	fs.StringVar(&m.CORSOrigins, "cors-origins", "", "comma-separated origins browsers may call the API from (default: none, CORS off)")
	fs.IntVar(&m.MaxStreams, "max-streams", httpapi.DefaultMaxStreams, "event streams (SSE) open at once")
	fs.BoolVar(&m.PublicMetrics, "public-metrics", false, "let /healthz, /readyz and /metrics go without a key when keys exist")
	fs.StringVar(&m.LogLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&m.LogFormat, "log-format", "json", "json or text")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	if m.Repo == "" {
		return errors.New("serve: --repo (or PROMPTREG_REPO) is required")
	}
	if name, email := writes.ParseAuthor(m.GitAuthor); name == "" || email == "" || strings.ContainsAny(m.GitAuthor, "\n\r") {
		return fmt.Errorf("serve: --git-author %q: want \"Name <email>\"", m.GitAuthor)
	}
	if m.Poll < 0 || m.FetchTimeout <= 0 || m.SnapshotCache < 1 || m.SnapshotCacheMB < 1 {
		return errors.New("serve: --poll must be >= 0, --fetch-timeout > 0, --snapshot-cache and --snapshot-cache-mb >= 1")
	}
	if m.ProviderTimeout <= 0 || m.ExecWorkers < 1 || m.MaxStreams < 1 {
		return errors.New("serve: --provider-timeout must be > 0, --exec-workers and --max-streams >= 1")
	}
	var err error
	if m.rateLimits, err = httpapi.ParseRateLimits(m.RateLimits); err != nil {
		return fmt.Errorf("serve: --rate-limits: %w", err)
	}
	for _, c := range strings.Split(m.TrustedProxies, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		_, n, err := net.ParseCIDR(c)
		if err != nil {
			return fmt.Errorf("serve: --trusted-proxies %q: want networks such as 10.0.0.0/8", c)
		}
		m.trustedProxies = append(m.trustedProxies, n)
	}
	for _, o := range m.corsOrigins() {
		if !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
			return fmt.Errorf("serve: --cors-origins %q: want origins such as https://app.example.com", o)
		}
	}
	if m.RecordInputs != executions.RecordFull && m.RecordInputs != executions.RecordHash {
		return fmt.Errorf("serve: --record-inputs %q: want full or hash", m.RecordInputs)
	}
	m.getenv = getenv
	m.log, err = newLogger(m.Stderr, m.LogLevel, m.LogFormat)
	return err
}

// Run opens the repository, starts the HTTP server and the watcher, and
// returns once the server listens. The first sync runs in the background:
// /readyz answers 503 until it has loaded a snapshot.
func (m *Serve) Run(ctx context.Context) error {
	if m.Seed != "" {
		created, err := gitstore.Seed(m.Repo, m.Seed, m.Branch)
		if err != nil {
			return fmt.Errorf("seed %s from %s: %w", m.Repo, m.Seed, err)
		}
		if created {
			m.log.Info("created a prompt repository from the seed folder", "repo", m.Repo, "seed", m.Seed)
		}
	}
	if err := os.MkdirAll(m.Data, 0o755); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	var err error
	m.store, err = gitstore.Open(gitstore.Options{
		URL: m.Repo, Branch: m.Branch, Dir: m.Data,
		Token: m.GitToken, SSHKeyPath: m.GitSSHKey, SSHKnownHosts: m.KnownHosts,
		Committer: committer(m.GitAuthor), Logger: m.log.With("component", "gitstore"),
	})
	if err != nil {
		return err
	}
	m.db, err = sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(m.Data, "promptreg.db"), Logger: m.log.With("component", "sqlite")})
	if err != nil {
		return err
	}
	m.keys = keys.New(keys.Options{Store: m.db, Logger: m.log.With("component", "keys")})
	if err := m.keys.Load(ctx); err != nil {
		return fmt.Errorf("load API keys: %w", err)
	}
	if m.AdminKey == "" && m.keys.Len() == 0 && !m.PublicRead && !loopback(m.Addr) {
		return fmt.Errorf("--addr %s is not a loopback address and no key is configured: every route would be open to the network; set --admin-key (or create keys with promptreg keys create), or pass --public-read to serve prompts to anyone", m.Addr)
	}
	m.keys.Start()
	parser := render.NewParser()
	m.reg = snapshots.New(snapshots.Options{
		Source: m.store, Parser: parser, Branch: m.Branch,
		History: m.db, Git: m.store, FetchUnknownRefs: m.FetchUnknownRefs,
		CacheSnapshots: m.SnapshotCache, CacheBytes: int64(m.SnapshotCacheMB) << 20,
		FetchTimeout: m.FetchTimeout, Logger: m.log.With("component", "snapshots"),
	})
	writer := writes.New(writes.Options{
		Keeper: m.reg, Committer: m.store, Mover: m.store, Source: m.store, Parser: parser, Versions: m.reg.History(),
		Logger: m.log.With("component", "writes"),
	})
	catalog, err := llm.LoadCatalog(m.ModelsFile)
	if err != nil {
		return fmt.Errorf("--models-file: %w", err)
	}
	llmCfg := llm.ConfigFromEnv(m.getenv)
	if m.ProvidersFile != "" {
		if err := llm.LoadProviders(&llmCfg, m.ProvidersFile, m.getenv); err != nil {
			return fmt.Errorf("--providers: %w", err)
		}
	}
	llmCfg.Timeout, llmCfg.Logger = m.ProviderTimeout, m.log.With("component", "llm")
	client, err := llm.New(llmCfg)
	if err != nil {
		return err
	}
	renderer := render.NewRenderer(render.Options{})
	m.execs = executions.New(executions.Options{
		Renderer: renderer, LLM: client, Store: m.db, Cost: catalog.Cost, Workers: m.ExecWorkers,
		RecordInputs: m.RecordInputs, Logger: m.log.With("component", "executions"),
	})
	if err := m.execs.Start(ctx); err != nil {
		return fmt.Errorf("start the execution queue: %w", err)
	}
	m.srv = httpapi.New(httpapi.Options{
		Snapshots: m.reg, History: m.reg.History(), Renderer: renderer, AdminKey: m.AdminKey, WebhookSecret: m.WebhookSecret,
		Writer: writer, Audit: m.db, Executions: m.execs, ExecutionStore: m.db, Parser: parser,
		Models: func() any { return catalog.Models() }, Logger: m.log.With("component", "http"),
		Keys: m.keys, PublicRead: m.PublicRead, PublicMetrics: m.PublicMetrics,
		CORSOrigins: m.corsOrigins(), MaxStreams: m.MaxStreams, RateLimits: m.rateLimits, TrustedProxies: m.trustedProxies,
	})
	if err := m.srv.Start(m.Addr); err != nil {
		return err
	}
	wctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.reg.Watch(wctx, snapshots.WatchOptions{Poll: m.Poll})
	}()
	m.log.Info("serving", "repo", redact(m.Repo), "branch", m.Branch, "addr", m.srv.Addr(), "version", version)
	return nil
}

// corsOrigins are the origins --cors-origins lists.
func (m *Serve) corsOrigins() []string {
	var out []string
	for _, o := range strings.Split(m.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// loopback reports whether addr listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// committer is the signature --git-author names (validated by ParseFlags).
func committer(s string) registry.Signature {
	name, email := writes.ParseAuthor(s)
	return registry.Signature{Name: name, Email: email}
}

// ListenAddr returns the address the HTTP server listens on.
func (m *Serve) ListenAddr() string { return m.srv.Addr() }

// Keeper returns the running snapshot keeper (for tests that sync on demand).
func (m *Serve) Keeper() *snapshots.Keeper { return m.reg }

// Close shuts down in reverse order: HTTP (waiting for requests in flight),
// then the watcher and the on-demand work, then the database and the Git
// store.
func (m *Serve) Close() error {
	var errs []error
	if m.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.ShutdownWait)
		errs = append(errs, m.srv.Shutdown(ctx))
		cancel()
	}
	if m.cancel != nil {
		m.cancel()
		m.wg.Wait()
	}
	if m.execs != nil {
		m.execs.Close(m.ShutdownWait)
	}
	if m.reg != nil {
		m.reg.Close()
	}
	if m.keys != nil {
		m.keys.Close()
	}
	if m.db != nil {
		errs = append(errs, m.db.Close())
	}
	if m.store != nil {
		errs = append(errs, m.store.Close())
	}
	if m.log != nil {
		m.log.Info("stopped")
	}
	return errors.Join(errs...)
}

// newLogger returns the structured logger the server writes to stderr.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}

// redact drops a password from a URL for logging.
func redact(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		if colon := strings.Index(rest[:at], ":"); colon >= 0 {
			return scheme + "://" + rest[:colon] + ":***" + rest[at:]
		}
	}
	return u
}
