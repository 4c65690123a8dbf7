// Package executions runs prompt versions against LLM providers and records
// every run: sync, streamed, queued (a durable queue in the execution
// store), reported by applications (ingest), and playground templates.
package executions

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// Defaults of the Options fields left zero.
const (
	DefaultWorkers     = 4
	DefaultMaxAttempts = 2
)

// Record-inputs settings: what an execution keeps of its rendered input.
const (
	RecordFull = "full" // the rendered input and its hash
	RecordHash = "hash" // only the hash
)

// Options configures a Service.
type Options struct {
	Renderer registry.Renderer
	LLM      registry.LLM
	Store    registry.ExecutionStore
	// Cost prices a model's usage; nil for an unknown model.
	Cost func(provider, model string, u registry.Usage) *float64
	// Workers bounds the queued executions running at once.
	Workers int
	// MaxAttempts bounds how often a queued execution is started: one a
	// crash or restart interrupted runs again until it was started that
	// many times, then fails (ClassInterrupted).
	MaxAttempts int
	// RecordInputs is RecordFull (default) or RecordHash.
	RecordInputs string
	Logger       *slog.Logger
	Now          func() time.Time
}

// Service executes prompts and records the executions. Safe for concurrent
// use.
type Service struct {
	renderer registry.Renderer
	llm      registry.LLM
	store    registry.ExecutionStore
	cost     func(provider, model string, u registry.Usage) *float64
	workers  int
	attempts int
	hashOnly bool
	log      *slog.Logger
	now      func() time.Time

	queue *queue
}

// New returns a Service; Start runs its queue.
func New(opts Options) *Service {
	s := &Service{renderer: opts.Renderer, llm: opts.LLM, store: opts.Store, cost: opts.Cost,
		workers: opts.Workers, attempts: opts.MaxAttempts, hashOnly: opts.RecordInputs == RecordHash,
		log: opts.Logger, now: opts.Now}
	if s.workers <= 0 {
		s.workers = DefaultWorkers
	}
	if s.attempts <= 0 {
		s.attempts = DefaultMaxAttempts
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cost == nil {
		s.cost = func(string, string, registry.Usage) *float64 { return nil }
	}
	s.queue = newQueue(s)
	return s
}

// Run is one execution asked for: the version to run and how.
type Run struct {
	// Snapshot and Entry are the version and the snapshot its partials
	// resolve in.
	Snapshot *registry.Snapshot
	Entry    *registry.Entry
	// Mode overrides the version's mode (ModePlayground).
	Mode      string
	Variables json.RawMessage
	Undefined string
	// Model replaces the prompt's model ({provider, name | model_name,
	// fallback}); ModelName replaces only its name.
	Model     map[string]any
	ModelName string
	// Params are laid over the prompt's params.
	Params        map[string]any
	Environment   string
	Metadata      map[string]any
	CorrelationID string
	KeyID         string
}

// work is what a queued execution needs to run, kept in the store until it
// finishes: the call, and the one to make when it fails.
type work struct {
	Request  registry.LLMRequest  `json:"request"`
	Fallback *registry.LLMRequest `json:"fallback,omitempty"`
}

// prepare renders run and picks its model: the execution to record, not
// started, and its work. Errors: those of the render (EUNPROCESSABLE for
// variables), EINVALID for a missing or malformed model.
func (s *Service) prepare(ctx context.Context, run Run) (registry.Execution, work, error) {
	p := run.Entry.Prompt
	out, err := s.renderer.Render(ctx, run.Snapshot, run.Entry, registry.RenderRequest{Variables: run.Variables, Undefined: run.Undefined})
	if err != nil {
		return registry.Execution{}, work{}, err
	}
	messages := out.Messages
	if out.Text != nil {
		messages = []registry.Message{{Role: "user", Content: *out.Text}}
	}
	primary, fallback, err := pickModel(p.Model, run.Model, run.ModelName)
	if err != nil {
		return registry.Execution{}, work{}, err
	}
	params := maps.Clone(p.Params)
	if params == nil {
		params = map[string]any{}
	}
	maps.Copy(params, run.Params)
	req := registry.LLMRequest{Provider: primary.Provider, Model: primary.Model, Messages: messages, Params: params, OutputSchema: p.OutputSchema}
	w := work{Request: req}
	if fallback != nil {
		f := req
		f.Provider, f.Model = fallback.Provider, fallback.Model
		w.Fallback = &f
	}
	input, err := inputOf(out)
	if err != nil {
		return registry.Execution{}, work{}, err
	}
	e := registry.Execution{
		ID: NewID(s.now()), Status: registry.StatusQueued, Mode: p.Mode, Origin: "server",
		PromptName: p.Name, Version: p.Version, Checksum: p.Checksum, Environment: run.Environment,
		Provider: req.Provider, Model: req.Model, Input: input, InputHash: hashOf(input), Params: params,
		Metadata: run.Metadata, CorrelationID: run.CorrelationID, KeyID: run.KeyID, CreatedAt: s.now().UTC(),
	}
	if run.Mode != "" {
		e.Mode = run.Mode
	}
	if p.Commit != nil {
		e.Commit = p.Commit.SHA
	}
	if s.hashOnly {
		e.Input = ""
	}
	return e, w, nil
}

// inputOf is the rendered input as recorded: the text, or the messages as
// JSON.
func inputOf(r *registry.Rendered) (string, error) {
	if r.Text != nil {
		return *r.Text, nil
	}
	b, err := json.Marshal(r.Messages)
	return string(b), err
}

func hashOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// Prepared is an execution rendered and ready to run.
type Prepared struct {
	exec registry.Execution
	work work
}

// ID is the id the execution will be recorded under.
func (p *Prepared) ID() string { return p.exec.ID }

// Prepare renders run and picks its model, so that bad input is refused
// before anything runs or is recorded. Errors: those of the render
// (EUNPROCESSABLE for variables), EINVALID for a missing or malformed model.
func (s *Service) Prepare(ctx context.Context, run Run) (*Prepared, error) {
	e, w, err := s.prepare(ctx, run)
	if err != nil {
		return nil, err
	}
	return &Prepared{exec: e, work: w}, nil
}

// Execute prepares and runs run now; see Run.
func (s *Service) Execute(ctx context.Context, run Run, onDelta func(string) error) (registry.Execution, error) {
	p, err := s.Prepare(ctx, run)
	if err != nil {
		return registry.Execution{}, err
	}
	return s.Run(ctx, p, onDelta)
}

// Run makes p's call now, streaming the answer's text to onDelta when it is
// set, and records the execution whatever its outcome. A failed execution
// is returned with an error: EUPSTREAM (the provider failed or answered
// nonsense), ETIMEOUT (it was too slow, or the caller went away).
func (s *Service) Run(ctx context.Context, p *Prepared, onDelta func(string) error) (registry.Execution, error) {
	e := p.exec
	start := s.now().UTC()
	e.Status, e.StartedAt, e.Attempts = registry.StatusRunning, &start, 1
	e = s.call(ctx, e, p.work, onDelta)
	// The record must be written even if the client went away.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := s.store.InsertExecutions(rctx, []registry.Execution{e}); err != nil {
		s.log.Error("record execution", "id", e.ID, "prompt", e.PromptName, "err", err)
	}
	return e, failure(e)
}

// failure is the error a failed execution answers a synchronous call with.
func failure(e registry.Execution) error {
	switch {
	case e.Status == registry.StatusSucceeded:
		return nil
	case e.ErrorClass == registry.ClassTimeout:
		return &registry.Error{Code: registry.ETIMEOUT, Message: "the provider did not answer in time: " + e.Error, Details: map[string]string{"execution_id": e.ID}}
	case e.ErrorClass == registry.ClassCancelled:
		return &registry.Error{Code: registry.ETIMEOUT, Message: "the execution was cancelled: " + e.Error, Details: map[string]string{"execution_id": e.ID}}
	case e.ErrorClass == registry.ClassNoProvider:
		return &registry.Error{Code: registry.EINVALID, Message: e.Error, Details: map[string]string{"execution_id": e.ID}}
	}
	return &registry.Error{Code: registry.EUPSTREAM, Message: fmt.Sprintf("the provider failed (%s): %s", e.ErrorClass, e.Error),
		Details: map[string]string{"execution_id": e.ID, "error_class": e.ErrorClass}}
}

// call makes e's provider call (then its fallback's, when the primary
// failed before any text was streamed) and returns e finished.
func (s *Service) call(ctx context.Context, e registry.Execution, w work, onDelta func(string) error) registry.Execution {
	streamed := false
	var delta func(string) error
	if onDelta != nil {
		delta = func(t string) error {
			streamed = true
			return onDelta(t)
		}
	}
	start := s.now()
	resp, err := s.llm.Complete(ctx, w.Request, delta)
	req := w.Request
	if err != nil && w.Fallback != nil && !streamed && ctx.Err() == nil && fallsBack(err) {
		s.log.Warn("provider failed; trying the fallback", "id", e.ID, "provider", req.Provider, "model", req.Model,
			"fallback", w.Fallback.Provider+"/"+w.Fallback.Model, "err", err)
		primaryErr := err
		req = *w.Fallback
		start = s.now()
		if resp, err = s.llm.Complete(ctx, req, delta); err != nil {
			// Say why both failed: the primary's failure is often the one
			// to fix (a missing key).
			class, msg := classify(ctx, err)
			_, pmsg := classify(ctx, primaryErr)
			err = &registry.ProviderError{Class: class, Message: fmt.Sprintf("%s (the fallback %s/%s, tried after %s/%s failed: %s)",
				msg, req.Provider, req.Model, w.Request.Provider, w.Request.Model, pmsg)}
		}
	}
	done := s.now().UTC()
	e.Provider, e.Model = req.Provider, req.Model
	e.LatencyMS = done.Sub(start).Milliseconds()
	e.FinishedAt = &done
	if err != nil {
		e.Status = registry.StatusFailed
		e.ErrorClass, e.Error = classify(ctx, err)
		return e
	}
	e.Status, e.Output, e.Usage = registry.StatusSucceeded, resp.Text, resp.Usage
	ttft := resp.FirstToken.Milliseconds()
	e.TTFTMS = &ttft
	e.CostUSD = s.cost(req.Provider, req.Model, resp.Usage)
	if e.CostUSD == nil && resp.Model != "" && resp.Model != req.Model {
		e.CostUSD = s.cost(req.Provider, resp.Model, resp.Usage)
	}
	return e
}

// fallsBack says whether a failure of the primary model is one the fallback
// may fix: the provider down, slow or refusing for load or credentials —
// not a request it called bad, which the fallback would get too.
func fallsBack(err error) bool {
	var pe *registry.ProviderError
	if !errors.As(err, &pe) {
		return false
	}
	return pe.Class != registry.ClassBadRequest
}

// classify returns a failure's class and message.
func classify(ctx context.Context, err error) (string, string) {
	var pe *registry.ProviderError
	switch {
	case errors.As(err, &pe):
		return pe.Class, pe.Message
	case errors.Is(err, context.DeadlineExceeded):
		return registry.ClassTimeout, "the call ran past its deadline"
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		return registry.ClassCancelled, "the caller went away or cancelled it"
	}
	return registry.ClassBadResponse, err.Error()
}

// Submit queues run: rendered and checked now (so bad variables are a 422
// at once), run by a worker. The execution is durable when Submit returns.
func (s *Service) Submit(ctx context.Context, run Run) (registry.Execution, error) {
	e, w, err := s.prepare(ctx, run)
	if err != nil {
		return registry.Execution{}, err
	}
	if e.Work, err = json.Marshal(w); err != nil {
		return registry.Execution{}, err
	}
	if err := s.store.InsertExecutions(ctx, []registry.Execution{e}); err != nil {
		return registry.Execution{}, err
	}
	s.queue.wake()
	e.Work = nil
	return e, nil
}

// Get returns an execution. Errors: ENOTFOUND.
func (s *Service) Get(ctx context.Context, id string) (registry.Execution, error) {
	return s.store.Execution(ctx, id)
}

// List returns a page of executions.
func (s *Service) List(ctx context.Context, q registry.ExecutionQuery) (registry.ExecutionPage, error) {
	return s.store.Executions(ctx, q)
}

// Cancel cancels a queued or running execution (a running one's provider
// call is stopped if it runs here). Errors: ENOTFOUND, ECONFLICT when it
// already finished.
func (s *Service) Cancel(ctx context.Context, id string) (registry.Execution, error) {
	e, err := s.store.CancelExecution(ctx, id, s.now().UTC())
	if err != nil {
		return e, err
	}
	s.queue.cancel(id)
	return e, nil
}

// NewID returns a new execution id: "ex_", the time in milliseconds and 10
// random bytes, hex; ids made later sort after (to the millisecond).
func NewID(now time.Time) string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return fmt.Sprintf("ex_%012x%s", now.UnixMilli(), hex.EncodeToString(b[:]))
}

// ValidID reports whether id has the shape NewID gives.
func ValidID(id string) bool {
	if len(id) != 3+12+20 || !strings.HasPrefix(id, "ex_") {
		return false
	}
	return registry.IsHex(id[3:])
}
