package registry

import (
	"context"
	"encoding/json"
	"time"
)

// Execution statuses. queued and running are the only ones an execution
// leaves; every accepted execution ends in exactly one of the others.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// ModePlayground is the mode of an execution of a template that is not in
// the repository (POST /v1/playground/execute).
const ModePlayground = "playground"

// Error classes of a failed execution: what went wrong, in words that do
// not depend on the provider.
const (
	ClassTimeout     = "timeout"      // the provider did not answer in time
	ClassRateLimited = "rate_limited" // 429 after the retries
	ClassUnavailable = "unavailable"  // unreachable, or 5xx after the retries
	ClassAuth        = "auth"         // 401/403: a missing or wrong key
	ClassBadRequest  = "bad_request"  // 4xx: the provider refused the request
	ClassBadResponse = "bad_response" // a 200 that is not a valid answer: an error body, garbage, a stream cut short
	ClassCancelled   = "cancelled"    // cancelled before it finished
	ClassInterrupted = "interrupted"  // the server stopped while it ran, too many times
	ClassNoProvider  = "no_provider"  // no provider is configured for the model
)

// Usage is what a provider reports an answer cost, in tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	// CachedTokens are the prompt tokens served from the provider's cache
	// (priced lower), where it reports them.
	CachedTokens int `json:"cached_tokens,omitempty"`
}

// LLMRequest is one call of a model: the rendered prompt and how to run it.
type LLMRequest struct {
	// Provider is openai (any OpenAI-compatible server), anthropic or
	// gemini.
	Provider string
	Model    string
	// Messages are the rendered prompt, roles system, user and assistant;
	// a text prompt is one user message.
	Messages []Message
	// Params are the sampling parameters (temperature, max_tokens, top_p,
	// stop…), mapped to each provider's names.
	Params map[string]any
	// OutputSchema, when set, asks for structured output (JSON Schema) in
	// the provider's own way.
	OutputSchema json.RawMessage
}

// LLMResponse is a model's answer.
type LLMResponse struct {
	Text  string
	Usage Usage
	// Model is the model the provider says answered ("" if it did not).
	Model        string
	FinishReason string
	// FirstToken is the time to the first token of a streamed answer (the
	// whole call's for an answer that was not streamed).
	FirstToken time.Duration
}

// ProviderError is a failed call, classified (Class*).
type ProviderError struct {
	Class string
	// Status is the provider's HTTP status, 0 if it gave none.
	Status  int
	Message string
	// RetryAfter is what the provider asked to wait, if it did.
	RetryAfter time.Duration
}

func (e *ProviderError) Error() string { return e.Class + ": " + e.Message }

// LLM calls models (llm.Client).
type LLM interface {
	// Complete calls the model. With onDelta set the answer is streamed
	// and onDelta gets each piece of text as it comes (an error from it
	// stops the call). Errors: *ProviderError, ctx's.
	Complete(ctx context.Context, req LLMRequest, onDelta func(string) error) (*LLMResponse, error)
}

// Execution is one run of a prompt version against a model: one the server
// made, or one an application ran itself and reported (ingest).
type Execution struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	// Mode is the prompt version's (git, full, tracking), or playground.
	Mode string `json:"mode"`
	// Origin is "server" for the server's own runs, "ingest" for reported
	// ones.
	Origin      string `json:"origin"`
	PromptName  string `json:"prompt_name"`
	Version     int    `json:"version,omitempty"`
	Checksum    string `json:"checksum,omitempty"`
	Commit      string `json:"commit,omitempty"`
	Environment string `json:"environment,omitempty"`
	Provider    string `json:"provider,omitempty"`
	Model       string `json:"model,omitempty"`
	// Input is the rendered input (the messages as JSON, or the text);
	// "" when only its hash is recorded (--record-inputs=hash).
	Input     string         `json:"input,omitempty"`
	InputHash string         `json:"input_hash,omitempty"`
	Params    map[string]any `json:"params,omitempty"`
	Output    string         `json:"output,omitempty"`
	// ErrorClass (Class*) and Error say why a failed execution failed.
	ErrorClass string `json:"error_class,omitempty"`
	Error      string `json:"error,omitempty"`
	Usage      Usage  `json:"usage"`
	// LatencyMS is the provider call's duration; TTFTMS the time to its
	// first token (nil when unknown).
	LatencyMS int64  `json:"latency_ms"`
	TTFTMS    *int64 `json:"time_to_first_token_ms,omitempty"`
	// CostUSD is the price of the usage; nil when the model's price is
	// unknown (never 0 for "unknown").
	CostUSD       *float64       `json:"cost_usd"`
	Metadata      map[string]any `json:"metadata,omitempty"`
	CorrelationID string         `json:"correlation_id,omitempty"`
	KeyID         string         `json:"key_id,omitempty"`
	// Attempts counts the times a worker started it (a restart may run it
	// again).
	Attempts   int        `json:"attempts"`
	CreatedAt  time.Time  `json:"created_at"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`

	// Work is what a queued execution needs to run (the call to make),
	// kept by the store until it is finished; never shown.
	Work json.RawMessage `json:"-"`
}

// Terminal reports whether status is one an execution does not leave.
func Terminal(status string) bool {
	return status == StatusSucceeded || status == StatusFailed || status == StatusCancelled
}

// ExecutionQuery filters and pages executions, newest first.
type ExecutionQuery struct {
	PromptName  string
	Version     int
	Status      string
	Environment string
	Model       string
	Mode        string
	// Since and Until bound CreatedAt: Since ≤ t < Until; zero: open.
	Since, Until time.Time
	// Cursor is the Next of the previous page; "" for the first.
	Cursor string
	Limit  int
}

// ExecutionPage is a page of executions and the cursor of the next ("" at
// the end).
type ExecutionPage struct {
	Executions []Execution `json:"executions"`
	Next       string      `json:"next_cursor,omitempty"`
}

// AnalyticsQuery selects the executions analytics summarise: finished ones
// (succeeded and failed) created in [Since, Until) (a zero time leaves that
// side open).
type AnalyticsQuery struct {
	PromptName  string // "" for all prompts
	Mode        string // "" for all
	Environment string // "" for all
	Since       time.Time
	Until       time.Time
	// Bucket, "hour" or "day", adds a series of the same figures per
	// period; "" for none.
	Bucket string
}

// Stats are the figures of a set of finished executions. Latency
// percentiles are exact (nearest rank over the successful executions'
// latencies).
type Stats struct {
	Executions       int64    `json:"executions"`
	Failed           int64    `json:"failed"`
	ErrorRate        float64  `json:"error_rate"`
	LatencyP50MS     *int64   `json:"latency_p50_ms"`
	LatencyP95MS     *int64   `json:"latency_p95_ms"`
	LatencyP99MS     *int64   `json:"latency_p99_ms"`
	PromptTokens     int64    `json:"prompt_tokens"`
	CompletionTokens int64    `json:"completion_tokens"`
	CostUSD          *float64 `json:"cost_usd"` // nil when no execution has a known cost
	// UnpricedExecutions counts those whose cost is unknown (not in
	// CostUSD).
	UnpricedExecutions int64 `json:"unpriced_executions"`
}

// PromptStats are the figures of one prompt (and in a breakdown, of one of
// its versions or environments).
type PromptStats struct {
	PromptName  string `json:"prompt_name"`
	Version     int    `json:"version,omitempty"`
	Environment string `json:"environment,omitempty"`
	Stats
}

// BucketStats are the figures of one period (a UTC hour or day) of a
// series. Periods without finished executions are not in the series.
type BucketStats struct {
	Start time.Time `json:"start"`
	Stats
}

// PromptAnalytics is one prompt's figures overall, per version and per
// environment, and the series when asked.
type PromptAnalytics struct {
	PromptName    string        `json:"prompt_name"`
	Total         Stats         `json:"total"`
	ByVersion     []PromptStats `json:"by_version"`
	ByEnvironment []PromptStats `json:"by_environment"`
	Series        []BucketStats `json:"series,omitempty"`
}

// ExecutionStore keeps executions and the async queue (sqlite.Store).
// Methods return EINTERNAL on storage failures, ETIMEOUT when ctx ends.
type ExecutionStore interface {
	// InsertExecutions records finished executions (or, with status
	// queued, enqueues them with their Work) in one transaction. IDs must
	// be new: EINVALID otherwise.
	InsertExecutions(ctx context.Context, es []Execution) error
	// ClaimExecutions moves up to n queued executions, oldest first, to
	// running (StartedAt now, Attempts+1) and returns them with their
	// Work. Two claims never return the same execution. Errors: EINVALID
	// for n < 1.
	ClaimExecutions(ctx context.Context, n int, now time.Time) ([]Execution, error)
	// FinishExecution records the end of a running execution: its status
	// (terminal), output, usage, cost, error… and drops its Work. It
	// returns false, changing nothing, when the execution is not running
	// any more (cancelled meanwhile). Errors: ENOTFOUND; EINVALID for a
	// status that is not terminal.
	FinishExecution(ctx context.Context, e Execution) (bool, error)
	// CancelExecution cancels a queued or running execution and returns
	// it as it is now. Errors: ENOTFOUND; ECONFLICT when it already
	// finished.
	CancelExecution(ctx context.Context, id string, now time.Time) (Execution, error)
	// RecoverExecutions, at start, returns the executions a previous run
	// left running to queued when they were attempted fewer than
	// maxAttempts times, and fails the others with ClassInterrupted.
	// Errors: EINVALID for maxAttempts < 1.
	RecoverExecutions(ctx context.Context, maxAttempts int, now time.Time) (requeued, failed int, err error)
	// Execution returns one execution, without its Work. Errors:
	// ENOTFOUND.
	Execution(ctx context.Context, id string) (Execution, error)
	// Executions returns a page of executions, newest first, without
	// their Work. Errors: EINVALID for a bad cursor or limit.
	Executions(ctx context.Context, q ExecutionQuery) (ExecutionPage, error)
	// PromptsAnalytics returns the figures of every prompt with executions
	// matching q, by name.
	PromptsAnalytics(ctx context.Context, q AnalyticsQuery) ([]PromptStats, error)
	// PromptAnalytics returns one prompt's figures. A prompt without
	// executions has zero figures, not an error. Errors: EINVALID for a
	// bucket other than "", hour and day.
	PromptAnalytics(ctx context.Context, q AnalyticsQuery) (PromptAnalytics, error)
}
