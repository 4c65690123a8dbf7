package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/executions"
	"github.com/promptreg/promptreg/registry"
)

// Limits of the execution routes' bodies.
const (
	maxExecuteBody = 1 << 20
	maxIngestBody  = 32 << 20
)

// Execution modes of POST /v1/prompts/{name}/execute.
const (
	runSync   = "sync"
	runAsync  = "async"
	runStream = "stream"
)

// runFields are the fields of every execute body that say how to run:
// the variables, the model and the record's labels.
type runFields struct {
	Variables     json.RawMessage `json:"variables"`
	Undefined     string          `json:"undefined"`
	Model         json.RawMessage `json:"model"`
	ModelName     string          `json:"model_name"`
	Params        map[string]any  `json:"params"`
	Mode          string          `json:"mode"`
	Metadata      map[string]any  `json:"metadata"`
	CorrelationID string          `json:"correlation_id"`
}

// run returns the run these fields ask for, for key keyID. model is
// {provider, name | model_name} or a bare model name.
func (f *runFields) run(keyID string) (executions.Run, error) {
	run := executions.Run{Variables: f.Variables, Undefined: f.Undefined, ModelName: f.ModelName, Params: f.Params,
		Metadata: f.Metadata, CorrelationID: f.CorrelationID, KeyID: keyID}
	if len(f.Model) == 0 || string(f.Model) == "null" {
		return run, nil
	}
	switch f.Model[0] {
	case '"':
		if err := json.Unmarshal(f.Model, &run.ModelName); err != nil {
			return run, jsonError(err)
		}
	case '{':
		if err := json.Unmarshal(f.Model, &run.Model); err != nil {
			return run, jsonError(err)
		}
	default:
		return run, registry.Errorf(registry.EINVALID, "model must be an object {provider, model_name} or a model name")
	}
	return run, nil
}

// executeBody is the body of the execute routes, under our names and
// PromptLedger's (prompt_name, version_number, model {provider,
// model_name}, environment).
type executeBody struct {
	PromptName    string `json:"prompt_name"`
	Env           string `json:"env"`
	Environment   string `json:"environment"`
	Ref           string `json:"ref"`
	Version       int    `json:"version"`
	VersionNumber int    `json:"version_number"`
	Checksum      string `json:"checksum"`
	runFields
}

// run turns the body into the execution to make of prompt name: the
// version it selects (the query's selection first, then the body's) and
// the execution's environment, which is the one selected, or a label when
// environment is not a configured environment or another selection is
// given (PromptLedger's "environment": "dev" with a version_number).
func (s *Server) run(c echo.Context, name string, b *executeBody) (executions.Run, error) {
	if s.executions == nil {
		return executions.Run{}, registry.Errorf(registry.ENOTFOUND, "executions are not enabled on this server")
	}
	sel, err := parseSelection(c, true)
	if err != nil {
		return executions.Run{}, err
	}
	label := b.Environment
	if !sel.pinned() && sel.Env == "" && sel.Ref == "" {
		sel = selection{Selector: registry.Selector{Env: b.Env, Ref: b.Ref}, Version: firstInt(b.Version, b.VersionNumber), Checksum: b.Checksum}
		if sel.Env == "" && sel.Ref == "" && !sel.pinned() && b.Environment != "" {
			if st, err := s.snaps.Served(); err == nil {
				if _, ok := st.Environments()[b.Environment]; ok {
					sel.Env = b.Environment
				}
			}
		}
		if err := sel.check(); err != nil {
			return executions.Run{}, err
		}
	}
	run, err := b.run(keyID(c))
	if err != nil {
		return run, err
	}
	run.Environment = firstOf(sel.Env, label)
	e, snap, _, err := s.resolvePrompt(c, name, sel)
	if err != nil {
		return run, err
	}
	run.Snapshot, run.Entry = snap, e
	if run.Environment == "" && !sel.pinned() && sel.Ref == "" {
		if st, err := s.snaps.Served(); err == nil {
			run.Environment = st.DefaultEnv
		}
	}
	return run, nil
}

func firstInt(vals ...int) int {
	for _, v := range vals {
		if v != 0 {
			return v
		}
	}
	return 0
}

// executePrompt serves POST /v1/prompts/{name}/execute: mode sync (the
// default) answers the finished execution, async queues it (202), stream
// answers Server-Sent Events.
func (s *Server) executePrompt(c echo.Context, name string) error {
	var b executeBody
	if err := decodeStrict(c, &b, maxExecuteBody); err != nil {
		return err
	}
	if b.PromptName != "" && b.PromptName != name {
		return registry.Errorf(registry.EINVALID, "prompt_name %q is not the prompt %q of the path", b.PromptName, name)
	}
	return s.execute(c, name, &b, b.Mode)
}

// runExecution serves PromptLedger's POST /v1/executions/run (sync).
func (s *Server) runExecution(c echo.Context) error { return s.executeNamed(c, runSync) }

// submitExecution serves PromptLedger's POST /v1/executions/submit
// (async).
func (s *Server) submitExecution(c echo.Context) error { return s.executeNamed(c, runAsync) }

func (s *Server) executeNamed(c echo.Context, mode string) error {
	var b executeBody
	if err := decodeStrict(c, &b, maxExecuteBody); err != nil {
		return err
	}
	if b.PromptName == "" {
		return registry.Errorf(registry.EINVALID, "prompt_name is required")
	}
	if b.Mode != "" && b.Mode != mode {
		return registry.Errorf(registry.EINVALID, "mode %q: this route runs %s; use POST /v1/prompts/{name}/execute to choose", b.Mode, mode)
	}
	if err := registry.ValidateName(b.PromptName); err != nil {
		return err
	}
	return s.execute(c, b.PromptName, &b, mode)
}

// execute runs prompt name as mode asks.
func (s *Server) execute(c echo.Context, name string, b *executeBody, mode string) error {
	switch mode {
	case "", runSync, runAsync, runStream:
	default:
		return registry.Errorf(registry.EINVALID, "mode must be sync, async or stream, not %q", mode)
	}
	run, err := s.run(c, name, b)
	if err != nil {
		return err
	}
	return s.start(c, run, mode)
}

// start runs run as mode asks and answers.
func (s *Server) start(c echo.Context, run executions.Run, mode string) error {
	ctx := c.Request().Context()
	switch mode {
	case runAsync:
		e, err := s.executions.Submit(ctx, run)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusAccepted, view(e))
	case runStream:
		p, err := s.executions.Prepare(ctx, run)
		if err != nil {
			return err
		}
		return s.stream(c, func(onDelta func(string) error) (registry.Execution, error) {
			return s.executions.Run(ctx, p, onDelta)
		})
	}
	e, err := s.executions.Execute(ctx, run, nil)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view(e))
}

// executionView is an execution as the API shows it: ours, plus the
// fields PromptLedger's clients read (execution_id, response_text,
// telemetry, error_type, error_message).
type executionView struct {
	registry.Execution
	ExecutionID  string     `json:"execution_id"`
	ResponseText string     `json:"response_text,omitempty"`
	ErrorType    string     `json:"error_type,omitempty"`
	ErrorMessage string     `json:"error_message,omitempty"`
	Telemetry    *telemetry `json:"telemetry,omitempty"`
}

type telemetry struct {
	PromptTokens   int      `json:"prompt_tokens"`
	ResponseTokens int      `json:"response_tokens"`
	LatencyMS      int64    `json:"latency_ms"`
	ModelName      string   `json:"model_name"`
	Provider       string   `json:"provider"`
	TotalCost      *float64 `json:"total_cost"`
}

func view(e registry.Execution) executionView {
	v := executionView{Execution: e, ExecutionID: e.ID, ResponseText: e.Output, ErrorType: e.ErrorClass, ErrorMessage: e.Error}
	if registry.Terminal(e.Status) {
		v.Telemetry = &telemetry{PromptTokens: e.Usage.PromptTokens, ResponseTokens: e.Usage.CompletionTokens, LatencyMS: e.LatencyMS,
			ModelName: e.Model, Provider: e.Provider, TotalCost: e.CostUSD}
	}
	return v
}

// getExecution serves GET /v1/executions/{id}.
func (s *Server) getExecution(c echo.Context) error {
	return s.executionAction(c, func(ctx context.Context, id string) (registry.Execution, error) { return s.executions.Get(ctx, id) })
}

// cancelExecution serves POST /v1/executions/{id}/cancel.
func (s *Server) cancelExecution(c echo.Context) error {
	return s.executionAction(c, func(ctx context.Context, id string) (registry.Execution, error) { return s.executions.Cancel(ctx, id) })
}

// executionAction answers the execution do returns for the path's id.
func (s *Server) executionAction(c echo.Context, do func(ctx context.Context, id string) (registry.Execution, error)) error {
	id, err := s.executionID(c)
	if err != nil {
		return err
	}
	e, err := do(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view(e))
}

// followExecution serves GET /v1/executions/{id}/stream: the text of a
// running execution as it is produced (what it produced so far first),
// then done; a finished one answers done at once, its output in it.
func (s *Server) followExecution(c echo.Context) error {
	id, err := s.executionID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := s.executions.Get(ctx, id); err != nil {
		return err
	}
	return s.stream(c, func(onDelta func(string) error) (registry.Execution, error) {
		return s.executions.Follow(ctx, id, onDelta)
	})
}

func (s *Server) executionID(c echo.Context) (string, error) {
	if s.executions == nil {
		return "", registry.Errorf(registry.ENOTFOUND, "executions are not enabled on this server")
	}
	id := c.Param("id")
	if !executions.ValidID(id) {
		return "", registry.Errorf(registry.EINVALID, "%q is not an execution id", id)
	}
	return id, nil
}

// listExecutions serves GET /v1/executions: newest first, filtered by
// prompt_name, version, status, environment, model, mode and a time range
// (since, until: RFC 3339), paged by cursor (next_cursor) and limit.
func (s *Server) listExecutions(c echo.Context) error {
	if s.executions == nil {
		return registry.Errorf(registry.ENOTFOUND, "executions are not enabled on this server")
	}
	q := c.QueryParams()
	for k := range q {
		switch k {
		case "prompt_name", "version", "status", "environment", "model", "mode", "since", "until", "cursor", "limit":
		default:
			return registry.Errorf(registry.EINVALID, "unknown query parameter %q", k)
		}
	}
	eq := registry.ExecutionQuery{PromptName: q.Get("prompt_name"), Status: q.Get("status"), Environment: q.Get("environment"),
		Model: q.Get("model"), Mode: q.Get("mode"), Cursor: q.Get("cursor")}
	var err error
	if eq.Version, err = intParam(c, "version", 0, 1, 1<<31); err != nil {
		return err
	}
	if eq.Limit, err = intParam(c, "limit", defaultLimit, 1, maxLimit); err != nil {
		return err
	}
	if eq.Status != "" && !registry.Terminal(eq.Status) && eq.Status != registry.StatusQueued && eq.Status != registry.StatusRunning {
		return registry.Errorf(registry.EINVALID, "status must be queued, running, succeeded, failed or cancelled")
	}
	if eq.Since, eq.Until, err = timeRange(c); err != nil {
		return err
	}
	page, err := s.executions.List(c.Request().Context(), eq)
	if err != nil {
		return err
	}
	out := struct {
		Executions []executionView `json:"executions"`
		Next       string          `json:"next_cursor,omitempty"`
	}{Executions: make([]executionView, len(page.Executions)), Next: page.Next}
	for i, e := range page.Executions {
		out.Executions[i] = view(e)
	}
	return c.JSON(http.StatusOK, out)
}

// timeRange reads since and until (RFC 3339) from the query.
func timeRange(c echo.Context) (since, until time.Time, err error) {
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &since}, {"until", &until}} {
		v := c.QueryParam(p.name)
		if v == "" {
			continue
		}
		if *p.dst, err = time.Parse(time.RFC3339, v); err != nil {
			return since, until, registry.Errorf(registry.EINVALID, "%s must be an RFC 3339 time (2026-01-02T15:04:05Z), not %q", p.name, v)
		}
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return since, until, registry.Errorf(registry.EINVALID, "since must be before until")
	}
	return since, until, nil
}

// ingestExecutions serves POST /v1/executions/ingest: a batch of
// executions applications ran themselves; bad items are reported by index,
// good ones stored.
func (s *Server) ingestExecutions(c echo.Context) error {
	if s.executions == nil {
		return registry.Errorf(registry.ENOTFOUND, "executions are not enabled on this server")
	}
	// Ingest is CPU-bound (decoding, validating) and ends in the one
	// SQLite writer: running more at once than half the CPUs adds no
	// throughput and takes the CPUs the reads need.
	select {
	case s.ingestSlots <- struct{}{}:
		defer func() { <-s.ingestSlots }()
	case <-c.Request().Context().Done():
		return registry.Errorf(registry.ETIMEOUT, "ingest: gave up waiting for the ingests before it")
	}
	var b struct {
		Executions []executions.IngestItem `json:"executions"`
	}
	if err := decodeStrict(c, &b, maxIngestBody); err != nil {
		return err
	}
	st, err := s.snaps.Served()
	if err != nil {
		return err
	}
	res, err := s.executions.Ingest(c.Request().Context(), s.hist, st.Head.Config, keyID(c), b.Executions)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if res.Rejected > 0 && res.Accepted > 0 {
		status = http.StatusMultiStatus
	} else if res.Accepted == 0 {
		status = http.StatusUnprocessableEntity
	}
	return c.JSON(status, res)
}

// stream answers with an event stream of what run produces: its pieces of
// text, then done with the execution, or error.
func (s *Server) stream(c echo.Context, run func(onDelta func(string) error) (registry.Execution, error)) error {
	release, err := s.streamSlot()
	if err != nil {
		return err
	}
	defer release()
	sse := startSSE(c)
	e, err := run(sse.delta)
	return sse.end(e, err)
}

// streamSlot takes one of the event streams that may be open at once, or
// fails with EUNAVAILABLE when all are taken.
func (s *Server) streamSlot() (release func(), err error) {
	select {
	case s.streamSlots <- struct{}{}:
		return func() { <-s.streamSlots }, nil
	default:
		return nil, registry.Errorf(registry.EUNAVAILABLE, "%d event streams are open, the most this server keeps: try again", cap(s.streamSlots))
	}
}

// sseHeartbeat is how often an event stream with nothing to say sends a
// comment, so that proxies and clients do not take a long model call (or a
// queued execution) for a dead connection.
const sseHeartbeat = 15 * time.Second

// sse writes a Server-Sent Events answer: delta events, then one done or
// error event, with heartbeat comments while nothing else is sent.
type sse struct {
	w      *echo.Response
	mu     sync.Mutex // serialises writes: the events and the heartbeat
	stop   chan struct{}
	exited chan struct{} // closed when the heartbeat returned
}

// startSSE starts the event stream and its heartbeat; end stops it.
func startSSE(c echo.Context) *sse {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	c.Response().WriteHeader(http.StatusOK)
	c.Response().Flush()
	s := &sse{w: c.Response(), stop: make(chan struct{}), exited: make(chan struct{})}
	go s.heartbeat(c.Request().Context().Done(), sseHeartbeat)
	return s
}

// heartbeat sends a comment every while until end, or the client leaves.
// It touches only the response writer, never the echo context (pooled
// once the handler returns: end waits for it to exit).
func (s *sse) heartbeat(gone <-chan struct{}, every time.Duration) {
	defer close(s.exited)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-gone:
			return
		case <-t.C:
			s.write(": ping\n\n")
		}
	}
}

func (s *sse) write(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.stop:
		return nil // ended: the handler has returned
	default:
	}
	if _, err := io.WriteString(s.w, text); err != nil {
		return err
	}
	s.w.Flush()
	return nil
}

func (s *sse) event(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.write(fmt.Sprintf("event: %s\ndata: %s\n\n", name, data))
}

// delta sends a piece of text.
func (s *sse) delta(text string) error {
	return s.event("delta", map[string]string{"text": text})
}

// end sends done with the execution, or error with what failed (and the
// execution's id when it was recorded).
func (s *sse) end(e registry.Execution, err error) error {
	name, body := "done", any(view(e))
	if err != nil {
		b := map[string]any{"error": map[string]string{"code": registry.ErrorCode(err), "message": registry.ErrorMessage(err)}}
		if e.ID != "" {
			b["execution_id"] = e.ID
			b["execution"] = view(e)
		}
		name, body = "error", b
	}
	werr := s.event(name, body)
	s.mu.Lock()
	close(s.stop)
	s.mu.Unlock()
	<-s.exited
	return werr
}

// playgroundBody is the body of the playground routes: a template that is
// not in the repository.
type playgroundBody struct {
	Template string `json:"template"`
	runFields
}

// playgroundName is the name a playground template is recorded under when
// its front matter names none.
const playgroundName = "playground"

// playgroundRun parses b's template (a whole prompt file or a bare body)
// into a run against the default selection's prompts (its partials).
func (s *Server) playgroundRun(c echo.Context, b *playgroundBody) (executions.Run, error) {
	if strings.TrimSpace(b.Template) == "" {
		return executions.Run{}, registry.Errorf(registry.EINVALID, "template is required: a prompt file or a Jinja body")
	}
	if s.parser == nil {
		return executions.Run{}, registry.Errorf(registry.ENOTFOUND, "the playground is not enabled on this server")
	}
	p, err := s.parser.ParsePrompt("playground.prompt", playgroundName, []byte(b.Template))
	if err != nil {
		if pr, ok := err.(*registry.Problem); ok {
			return executions.Run{}, &registry.Error{Code: registry.EUNPROCESSABLE, Message: "the template is not valid: " + pr.Error(), Details: []registry.Problem{*pr}}
		}
		return executions.Run{}, err
	}
	snap, _, err := s.snaps.Resolve(c.Request().Context(), registry.Selector{})
	if err != nil {
		return executions.Run{}, err
	}
	for _, ref := range p.References {
		inc, ok := snap.Get(ref)
		if !ok {
			return executions.Run{}, registry.Errorf(registry.EUNPROCESSABLE, "the template includes %q, which is not a prompt here", ref)
		}
		p.Includes = append(p.Includes, registry.Include{Name: ref, Checksum: inc.Prompt.Checksum})
		p.Includes = append(p.Includes, inc.Prompt.Includes...)
	}
	p.Raw = []byte(b.Template)
	p.Checksum = registry.Checksum(p.Raw)
	p.Mode = registry.ModePlayground
	e, err := registry.NewEntry(p, false)
	if err != nil {
		return executions.Run{}, err
	}
	run, err := b.run(keyID(c))
	run.Snapshot, run.Entry, run.Mode = snap, e, registry.ModePlayground
	return run, err
}

// playgroundRender serves POST /v1/playground/render.
func (s *Server) playgroundRender(c echo.Context) error {
	var b playgroundBody
	if err := decodeStrict(c, &b, maxExecuteBody); err != nil {
		return err
	}
	if s.renderer == nil {
		return registry.Errorf(registry.ENOTFOUND, "rendering is not enabled on this server")
	}
	run, err := s.playgroundRun(c, &b)
	if err != nil {
		return err
	}
	out, err := s.renderer.Render(c.Request().Context(), run.Snapshot, run.Entry, registry.RenderRequest{Variables: b.Variables, Undefined: b.Undefined})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

// playgroundExecute serves POST /v1/playground/execute: recorded with mode
// playground, no commit.
func (s *Server) playgroundExecute(c echo.Context) error {
	var b playgroundBody
	if err := decodeStrict(c, &b, maxExecuteBody); err != nil {
		return err
	}
	if s.executions == nil {
		return registry.Errorf(registry.ENOTFOUND, "executions are not enabled on this server")
	}
	switch b.Mode {
	case "", runSync, runAsync, runStream:
	default:
		return registry.Errorf(registry.EINVALID, "mode must be sync, async or stream, not %q", b.Mode)
	}
	run, err := s.playgroundRun(c, &b)
	if err != nil {
		return err
	}
	return s.start(c, run, b.Mode)
}

// listModels serves GET /v1/models: the model catalogue and its prices.
func (s *Server) listModels(c echo.Context) error {
	if s.models == nil {
		return registry.Errorf(registry.ENOTFOUND, "this server has no model catalogue")
	}
	return c.JSON(http.StatusOK, map[string]any{"models": s.models()})
}

// analyticsQuery reads the analytics filters: mode (all, full, tracking,
// git, playground), environment, since, until, bucket.
func analyticsQuery(c echo.Context, allowed ...string) (registry.AnalyticsQuery, error) {
	q := c.QueryParams()
	for k := range q {
		ok := false
		for _, a := range append([]string{"mode", "environment", "since", "until", "bucket"}, allowed...) {
			ok = ok || k == a
		}
		if !ok {
			return registry.AnalyticsQuery{}, registry.Errorf(registry.EINVALID, "unknown query parameter %q", k)
		}
	}
	aq := registry.AnalyticsQuery{Mode: q.Get("mode"), Environment: q.Get("environment"), Bucket: q.Get("bucket")}
	switch aq.Mode {
	case "all":
		aq.Mode = ""
	case "", registry.ModeFull, registry.ModeTracking, registry.ModeGit, registry.ModePlayground:
	default:
		return aq, registry.Errorf(registry.EINVALID, "mode must be all, full, tracking, git or playground")
	}
	switch aq.Bucket {
	case "", "hour", "day":
	default:
		return aq, registry.Errorf(registry.EINVALID, "bucket must be hour or day")
	}
	var err error
	aq.Since, aq.Until, err = timeRange(c)
	return aq, err
}

// promptsAnalytics serves GET /v1/analytics/prompts.
func (s *Server) promptsAnalytics(c echo.Context) error {
	if s.execStore == nil {
		return registry.Errorf(registry.ENOTFOUND, "executions are not enabled on this server")
	}
	aq, err := analyticsQuery(c)
	if err != nil {
		return err
	}
	if aq.Bucket != "" {
		return registry.Errorf(registry.EINVALID, "bucket goes with one prompt: GET /v1/analytics/prompts/{name}")
	}
	out, err := s.execStore.PromptsAnalytics(c.Request().Context(), aq)
	if err != nil {
		return err
	}
	if out == nil {
		out = []registry.PromptStats{}
	}
	return c.JSON(http.StatusOK, map[string]any{"prompts": out})
}

// promptAnalytics serves GET /v1/analytics/prompts/{name}: the prompt's
// figures, per version and per environment, and the series of bucket.
func (s *Server) promptAnalytics(c echo.Context) error {
	if s.execStore == nil {
		return registry.Errorf(registry.ENOTFOUND, "executions are not enabled on this server")
	}
	name := strings.TrimSuffix(c.Param("*"), "/")
	if err := registry.ValidateName(name); err != nil {
		return err
	}
	aq, err := analyticsQuery(c)
	if err != nil {
		return err
	}
	aq.PromptName = name
	out, err := s.execStore.PromptAnalytics(c.Request().Context(), aq)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}
