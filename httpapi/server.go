package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/promptreg/promptreg/executions"
	"github.com/promptreg/promptreg/keys"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/writes"
)

// Snapshots is what the HTTP API needs of the served snapshots
// (snapshots.Keeper).
type Snapshots interface {
	// Resolve returns the snapshot a selection serves and the ref it
	// resolved to. Errors: EUNAVAILABLE, ENOTFOUND, EINVALID, ETIMEOUT.
	Resolve(ctx context.Context, sel registry.Selector) (*registry.Snapshot, string, error)
	Status() registry.Status
	Ready() bool
	// Sync syncs now and waits for it.
	Sync(ctx context.Context) error
	// Trigger asks for a sync soon, without waiting.
	Trigger(cause registry.Cause)
	// Served returns what is served now. Errors: EUNAVAILABLE.
	Served() (*registry.Served, error)
}

// History is what the HTTP API needs of the version history
// (history.Queries).
type History interface {
	// ResolveVersion returns a prompt at a version picked by number or
	// checksum. Errors: ENOTFOUND, EINVALID without history.
	ResolveVersion(ctx context.Context, name string, version int, checksum string) (*registry.Entry, *registry.Snapshot, error)
	// Versions lists a prompt's versions, newest first.
	Versions(ctx context.Context, name string) ([]registry.VersionEntry, error)
	// VersionBytes returns a version's file content.
	VersionBytes(ctx context.Context, name string, version int) ([]byte, registry.Version, error)
	// CurrentVersion is the version number the default selection serves.
	CurrentVersion(name string) int
	Environments(ctx context.Context) ([]registry.Environment, error)
	EnvironmentHistory(ctx context.Context, env string, before int64, limit int) ([]registry.RefMove, error)
	// LookupVersion returns a version from the index alone.
	LookupVersion(name string, version int, checksum string) (registry.Version, error)
}

// Options configures a Server.
type Options struct {
	Snapshots Snapshots
	History   History
	// Renderer renders prompts for POST /v1/prompts/{name}/render; nil
	// disables the route.
	Renderer registry.Renderer
	// Keys are the stored API keys; nil: only the admin key.
	Keys *keys.Ring
	// TrustedProxies are the networks of the reverse proxies whose
	// X-Forwarded-For names the client (rate limits, allowed_cidrs); none:
	// the connection's address is the client's.
	TrustedProxies []*net.IPNet
	// CORSOrigins are the origins browsers may call the API from; none:
	// CORS is off.
	CORSOrigins []string
	// RateLimits limit requests per key and scope, and per client IP
	// without a key; nil: no limit.
	RateLimits RateLimits
	// MaxStreams bounds the event streams (SSE) open at once; 0 is
	// DefaultMaxStreams.
	MaxStreams int
	// PublicRead lets prompt reads go without a key when keys exist;
	// PublicMetrics does the same for /healthz, /readyz and /metrics.
	PublicRead, PublicMetrics bool
	// AdminKey is a key holding every scope (see routes.go), also the
	// webhook's credential when no WebhookSecret is set. With neither it
	// nor stored keys, prompt reads and probes are open and every other
	// route answers 401.
	AdminKey string
	// WebhookSecret verifies push webhooks (GitHub and Gitea HMAC, GitLab
	// token).
	WebhookSecret string
	Logger        *slog.Logger
	// Writer makes the API's writes (PUT /v1/prompts/{name}…); nil answers
	// them 404.
	Writer *writes.Writer
	// Audit keeps the audit log of writes, served at GET /v1/audit; nil
	// keeps none.
	Audit registry.AuditLog
	// Executions runs prompts against LLM providers and records them
	// (POST /v1/prompts/{name}/execute, /v1/executions…); ExecutionStore
	// answers the analytics. nil answers those routes 404.
	Executions     *executions.Service
	ExecutionStore registry.ExecutionStore
	// Parser parses playground templates; nil disables the playground.
	Parser registry.Parser
	// Models lists the model catalogue for GET /v1/models; nil: 404.
	Models func() any
	// Metrics is where the server registers its Prometheus collectors;
	// nil uses a new registry of its own, served at /metrics.
	Metrics *prometheus.Registry
}

// Server is the HTTP API server.
type Server struct {
	snaps         Snapshots
	hist          History
	renderer      registry.Renderer
	adminKey      string
	webhookSecret string
	log           *slog.Logger
	writer        *writes.Writer
	auditLog      registry.AuditLog
	executions    *executions.Service
	execStore     registry.ExecutionStore
	parser        registry.Parser
	models        func() any
	ingestSlots   chan struct{} // a token per ingest running
	keys          *keys.Ring
	streamSlots   chan struct{} // a token per event stream open
	limiter       *limiter      // nil without rate limits
	publicRead    bool
	publicMetrics bool

	echo     *echo.Echo
	http     *http.Server
	ln       net.Listener
	served   chan struct{} // closed when Serve returns
	metrics  *metrics
	promReg  *prometheus.Registry
	delivery *deliveries
}

// DefaultMaxStreams bounds the event streams open at once by default.
const DefaultMaxStreams = 256

// New returns a server with its routes registered; Start listens.
func New(opts Options) *Server {
	s := &Server{
		snaps:         opts.Snapshots,
		hist:          opts.History,
		renderer:      opts.Renderer,
		adminKey:      opts.AdminKey,
		webhookSecret: opts.WebhookSecret,
		log:           opts.Logger,
		writer:        opts.Writer,
		auditLog:      opts.Audit,
		executions:    opts.Executions,
		execStore:     opts.ExecutionStore,
		parser:        opts.Parser,
		models:        opts.Models,
		ingestSlots:   make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
		keys:          opts.Keys,
		limiter:       newLimiter(opts.RateLimits, time.Now),
		streamSlots:   make(chan struct{}, cmp.Or(opts.MaxStreams, DefaultMaxStreams)),
		publicRead:    opts.PublicRead,
		publicMetrics: opts.PublicMetrics,
		promReg:       opts.Metrics,
		delivery:      newDeliveries(4096),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.promReg == nil {
		s.promReg = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(s.promReg, opts.Snapshots)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	// Never trust forwarding headers unless a proxy setup says so.
	e.IPExtractor = echo.ExtractIPDirect()
	if len(opts.TrustedProxies) > 0 {
		trust := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range opts.TrustedProxies {
			trust = append(trust, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(trust...)
	}
	e.Use(s.recoverPanics, s.metrics.middleware)
	if len(opts.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  opts.CORSOrigins,
			AllowMethods:  []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete},
			AllowHeaders:  []string{"Authorization", "X-API-Key", "Content-Type", "If-None-Match", "If-Match"},
			ExposeHeaders: []string{"ETag", headerCommit, headerRef, headerStale, "Retry-After"},
			MaxAge:        600,
		}))
	}
	s.echo = e

	s.register(e)

	s.http = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	return s
}

// Handler returns the server's HTTP handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves in the
// background until Shutdown, which waits for it. The error of a listener
// that fails later is logged.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	s.ln = ln
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	s.log.Info("listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the address the server listens on, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting connections and waits for requests in flight,
// until ctx is done; then it closes the connections left.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.http.Shutdown(ctx)
	if err != nil {
		s.http.Close()
	}
	if s.served != nil {
		<-s.served
	}
	return err
}

// recoverPanics turns a panic in a handler into a logged internal error, so
// no input can take the process down.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				err = &registry.Error{Code: registry.EINTERNAL, Message: "internal error", Err: fmt.Errorf("panic: %v", r)}
			}
		}()
		return next(c)
	}
}
