package httpapi

import (
	"crypto/subtle"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
)

// Scope is what a route asks of the credential a request carries. Every
// route has one, in the table below, the day it is written.
type Scope string

// Scopes. A route's scope is what a key needs to call it (registry's
// scopes); public routes need none, probes and prompt reads need none while
// no key is configured or when --public-metrics / --public-read say so, and
// webhooks check their own signature (or an admin key).
const (
	ScopePublic   Scope = "public"                      // never a credential
	ScopeProbe    Scope = "probe"                       // /healthz, /readyz, /metrics
	ScopeRead     Scope = registry.ScopePromptsRead     // reading and rendering prompts
	ScopeWrite    Scope = registry.ScopePromptsWrite    // API writes: each is a commit
	ScopeExecute  Scope = registry.ScopePromptsExecute  // running prompts: it costs money
	ScopeExecRead Scope = registry.ScopeExecutionsRead  // executions (inputs, outputs) and analytics
	ScopeIngest   Scope = registry.ScopeExecutionsWrite // reporting executions
	ScopePromote  Scope = registry.ScopePromote         // moving environments
	ScopeAdmin    Scope = registry.ScopeAdmin           // keys, the audit log, sync now
	ScopeWebhook  Scope = "webhook"                     // push webhooks: signed, or an admin key
)

// route is one route of the API: its method, its path as the API documents
// it ({name} is a prompt name, which may contain slashes), the scope it
// needs, and its handler.
type route struct {
	method, path string
	scope        Scope
	// handle serves routes with fixed segments; prompt serves the routes
	// under /v1/prompts/{name}, given the name.
	handle echo.HandlerFunc
	prompt func(c echo.Context, name string) error
}

// promptPrefix starts the paths of the routes about one prompt.
const promptPrefix = "/v1/prompts/{name}"

// routes is the route table: every route the server answers (a GET also
// answers HEAD), with its scope.
func (s *Server) routes() []route {
	return []route{
		{method: http.MethodGet, path: "/healthz", scope: ScopeProbe, handle: s.healthz},
		{method: http.MethodGet, path: "/readyz", scope: ScopeProbe, handle: s.readyz},
		{method: http.MethodGet, path: "/metrics", scope: ScopeProbe, handle: echo.WrapHandler(s.metrics.handler)},
		{method: http.MethodGet, path: "/v1/status", scope: ScopeRead, handle: s.status},

		{method: http.MethodGet, path: "/v1/prompts", scope: ScopeRead, handle: s.listPrompts},
		{method: http.MethodPost, path: "/v1/prompts/register-code", scope: ScopeWrite, handle: s.registerCode},
		{method: http.MethodGet, path: promptPrefix, scope: ScopeRead, prompt: s.getPrompt},
		{method: http.MethodGet, path: promptPrefix + "/raw", scope: ScopeRead, prompt: s.getRaw},
		{method: http.MethodGet, path: promptPrefix + "/versions", scope: ScopeRead, prompt: s.listVersions},
		{method: http.MethodGet, path: promptPrefix + "/diff", scope: ScopeRead, prompt: s.diffVersions},
		{method: http.MethodPost, path: promptPrefix + "/render", scope: ScopeRead, prompt: s.renderPrompt},
		{method: http.MethodPut, path: promptPrefix, scope: ScopeWrite, prompt: s.savePrompt},
		{method: http.MethodDelete, path: promptPrefix, scope: ScopeWrite, prompt: s.deletePrompt},
		{method: http.MethodPost, path: promptPrefix + "/rename", scope: ScopeWrite, prompt: s.renamePrompt},
		{method: http.MethodPost, path: promptPrefix + "/revert", scope: ScopeWrite, prompt: s.revertPrompt},
		{method: http.MethodPut, path: promptPrefix + "/tags", scope: ScopeWrite, prompt: s.setTags},
		{method: http.MethodDelete, path: promptPrefix + "/tags", scope: ScopeWrite, prompt: s.removeTags},

		{method: http.MethodPost, path: promptPrefix + "/execute", scope: ScopeExecute, prompt: s.executePrompt},
		{method: http.MethodPost, path: "/v1/executions/run", scope: ScopeExecute, handle: s.runExecution},
		{method: http.MethodPost, path: "/v1/executions/submit", scope: ScopeExecute, handle: s.submitExecution},
		{method: http.MethodPost, path: "/v1/executions/ingest", scope: ScopeIngest, handle: s.ingestExecutions},
		{method: http.MethodGet, path: "/v1/executions", scope: ScopeExecRead, handle: s.listExecutions},
		{method: http.MethodGet, path: "/v1/executions/", scope: ScopeExecRead, handle: s.listExecutions},
		{method: http.MethodGet, path: "/v1/executions/{id}", scope: ScopeExecRead, handle: s.getExecution},
		{method: http.MethodGet, path: "/v1/executions/{id}/stream", scope: ScopeExecRead, handle: s.followExecution},
		{method: http.MethodPost, path: "/v1/executions/{id}/cancel", scope: ScopeExecute, handle: s.cancelExecution},
		{method: http.MethodPost, path: "/v1/playground/render", scope: ScopeRead, handle: s.playgroundRender},
		{method: http.MethodPost, path: "/v1/playground/execute", scope: ScopeExecute, handle: s.playgroundExecute},
		{method: http.MethodGet, path: "/v1/models", scope: ScopeRead, handle: s.listModels},
		{method: http.MethodGet, path: "/v1/analytics/prompts", scope: ScopeExecRead, handle: s.promptsAnalytics},
		{method: http.MethodGet, path: "/v1/analytics/prompts/*", scope: ScopeExecRead, handle: s.promptAnalytics},

		{method: http.MethodGet, path: "/v1/environments", scope: ScopeRead, handle: s.listEnvironments},
		{method: http.MethodGet, path: "/v1/environments/{env}/history", scope: ScopeRead, handle: s.environmentHistory},
		{method: http.MethodPost, path: "/v1/environments/{env}/promote", scope: ScopePromote, handle: s.promoteEnvironment},
		{method: http.MethodPost, path: "/v1/environments/{env}/rollback", scope: ScopePromote, handle: s.rollbackEnvironment},

		{method: http.MethodPost, path: "/v1/hooks/git", scope: ScopeWebhook, handle: s.gitHook},
		{method: http.MethodPost, path: "/v1/admin/sync", scope: ScopeAdmin, handle: s.adminSync},
		{method: http.MethodGet, path: "/v1/audit", scope: ScopeAdmin, handle: s.listAudit},
		{method: http.MethodPost, path: "/v1/admin/keys", scope: ScopeAdmin, handle: s.createKey},
		{method: http.MethodGet, path: "/v1/admin/keys", scope: ScopeAdmin, handle: s.listKeys},
		{method: http.MethodDelete, path: "/v1/admin/keys/{id}", scope: ScopeAdmin, handle: s.deleteKey},
	}
}

// register adds the route table to e. The routes under /v1/prompts/{name}
// share one wildcard per method (a name may contain slashes) that splits
// off the sub-resource and dispatches to the table's route.
func (s *Server) register(e *echo.Echo) {
	byMethod := map[string]map[string]route{} // method → sub-resource → route
	for _, r := range s.routes() {
		if (r.scope == ScopeWrite || r.scope == ScopePromote) && s.writer == nil {
			r.handle, r.prompt = writesDisabled, func(c echo.Context, _ string) error { return writesDisabled(c) }
		}
		methods := []string{r.method}
		if r.method == http.MethodGet {
			methods = append(methods, http.MethodHead)
		}
		for _, m := range methods {
			if rest, ok := strings.CutPrefix(r.path, promptPrefix); ok {
				if byMethod[m] == nil {
					byMethod[m] = map[string]route{}
					e.Add(m, "/v1/prompts/*", s.dispatchPrompt(m, byMethod))
				}
				byMethod[m][strings.TrimPrefix(rest, "/")] = r
				continue
			}
			e.Add(m, echoPath(r.path), s.authorize(r.scope, s.limit(r.scope, r.handle)))
		}
	}
}

// dispatchPrompt serves method on /v1/prompts/*: the route of the table
// for the sub-resource, 405 if only another method has it, else 404.
func (s *Server) dispatchPrompt(method string, byMethod map[string]map[string]route) echo.HandlerFunc {
	return func(c echo.Context) error {
		name, sub, err := promptPath(c.Param("*"))
		if err != nil {
			return err
		}
		r, ok := byMethod[method][sub]
		if !ok {
			for _, other := range byMethod {
				if _, ok := other[sub]; ok {
					return echo.ErrMethodNotAllowed
				}
			}
			return echo.ErrNotFound
		}
		return s.authorize(r.scope, s.limit(r.scope, func(c echo.Context) error { return r.prompt(c, name) }))(c)
	}
}

// writesDisabled answers the write routes of a server without a Writer.
func writesDisabled(echo.Context) error {
	return registry.Errorf(registry.ENOTFOUND, "this server does not accept writes")
}

// echoPath turns the table's {param} segments into echo's :param.
func echoPath(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			segs[i] = ":" + seg[1:len(seg)-1]
		}
	}
	return strings.Join(segs, "/")
}

// ctxKeyID is the echo context key of the id of the key a request was
// authorised with.
const ctxKeyID = "promptreg.key_id"

// authorize runs next if the request's credential has scope: a key that
// holds it (the admin key holds every scope), or none where the route is
// open (see open).
func (s *Server) authorize(scope Scope, next echo.HandlerFunc) echo.HandlerFunc {
	switch scope {
	case ScopePublic, ScopeWebhook:
		return next
	case ScopeProbe, ScopeRead, ScopeWrite, ScopeExecute, ScopeExecRead, ScopeIngest, ScopePromote, ScopeAdmin:
		return func(c echo.Context) error {
			raw := apiKey(c.Request())
			if raw == "" && s.open(scope) {
				return next(c)
			}
			id, err := s.authenticate(c, raw, scope)
			if err != nil {
				return err
			}
			c.Set(ctxKeyID, id)
			return next(c)
		}
	}
	// A scope the switch does not know is a bug in the table: refuse.
	return func(echo.Context) error {
		return registry.Errorf(registry.EINTERNAL, "route has an unknown scope %q", scope)
	}
}

// keysConfigured reports whether the server has any key: the admin key or
// stored ones. Without any, prompt reads and probes are open (and the
// server listens only on loopback unless --public-read says otherwise).
func (s *Server) keysConfigured() bool {
	return s.adminKey != "" || (s.keys != nil && s.keys.Len() > 0)
}

// open reports whether a request without a key may call a route of scope.
func (s *Server) open(scope Scope) bool {
	switch scope {
	case ScopeProbe:
		return s.publicMetrics || !s.keysConfigured()
	case ScopeRead:
		return s.publicRead || !s.keysConfigured()
	}
	return false
}

// authenticate returns the id of the key raw ("admin" for the admin key) if
// it holds scope (a probe needs any valid key). Errors: EUNAUTHORIZED for a
// missing, unknown or expired key; EFORBIDDEN for a key without the scope
// or used from a network it is not allowed from.
func (s *Server) authenticate(c echo.Context, raw string, scope Scope) (string, error) {
	if raw == "" {
		if !s.keysConfigured() {
			return "", &registry.Error{Code: registry.EUNAUTHORIZED, Message: "this server has no key configured (--admin-key, or promptreg keys create)", Err: errNoAdminKey}
		}
		return "", registry.Errorf(registry.EUNAUTHORIZED, "missing API key: send Authorization: Bearer KEY or X-API-Key: KEY")
	}
	if s.adminKey != "" && subtle.ConstantTimeCompare([]byte(raw), []byte(s.adminKey)) == 1 {
		return "admin", nil
	}
	if s.keys == nil {
		return "", registry.Errorf(registry.EUNAUTHORIZED, "invalid API key")
	}
	ip, _ := netip.ParseAddr(c.RealIP())
	k, err := s.keys.Check(raw, ip)
	if err != nil {
		return "", err
	}
	if scope != ScopeProbe && !k.Has(string(scope)) {
		return "", registry.Errorf(registry.EFORBIDDEN, "API key %s (%s) does not have the scope %s", k.ID, k.Name, scope)
	}
	return k.ID, nil
}

// localOnly reports whether c's refs resolve from the clone only: a
// request without a key on a server that has keys (public reads) does not
// get to make the server look refs up on the remote.
func (s *Server) localOnly(c echo.Context) bool {
	return keyID(c) == "" && s.keysConfigured()
}

// keyID returns the id of the key the request was authorised with.
func keyID(c echo.Context) string {
	id, _ := c.Get(ctxKeyID).(string)
	return id
}
