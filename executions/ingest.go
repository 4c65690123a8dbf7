package executions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// MaxIngest bounds the executions one ingest call takes.
const MaxIngest = 1000

// Versions looks versions up in the history index (history.Queries).
type Versions interface {
	LookupVersion(name string, version int, checksum string) (registry.Version, error)
}

// IngestItem is an execution an application ran itself and reports.
type IngestItem struct {
	PromptName string `json:"prompt_name"`
	// Version or Checksum names the version run (at least one).
	Version     int    `json:"version"`
	Checksum    string `json:"checksum"`
	Environment string `json:"environment"`
	Provider    string `json:"provider"`
	Model       string `json:"model"`
	// Status is succeeded (the default) or failed.
	Status           string         `json:"status"`
	ErrorClass       string         `json:"error_class"`
	Error            string         `json:"error"`
	Input            string         `json:"input"`
	Output           string         `json:"output"`
	PromptTokens     int            `json:"prompt_tokens"`
	CompletionTokens int            `json:"completion_tokens"`
	CachedTokens     int            `json:"cached_tokens"`
	LatencyMS        int64          `json:"latency_ms"`
	TTFTMS           *int64         `json:"time_to_first_token_ms"`
	Metadata         map[string]any `json:"metadata"`
	CorrelationID    string         `json:"correlation_id"`
	// CreatedAt is when it ran; default now.
	CreatedAt *time.Time `json:"created_at"`
}

// IngestProblem is an item refused, by its index in the batch.
type IngestProblem struct {
	Index   int    `json:"index"`
	Message string `json:"message"`
}

// IngestResult says what an ingest stored and refused.
type IngestResult struct {
	Accepted int             `json:"accepted"`
	Rejected int             `json:"rejected"`
	IDs      []string        `json:"ids"` // of the accepted items, in order
	Problems []IngestProblem `json:"problems"`
}

// Ingest records the executions applications report, filling each one's
// commit and mode from the history index (vs looks versions up; cfg is the
// repository configuration modes derive from). Items that do not validate
// are reported by index; the others are stored, in one transaction.
// Errors: EINVALID for an empty or oversized batch; the store's.
func (s *Service) Ingest(ctx context.Context, vs Versions, cfg registry.RepoConfig, keyID string, items []IngestItem) (*IngestResult, error) {
	if len(items) == 0 {
		return nil, registry.Errorf(registry.EINVALID, "executions is empty: send at least one")
	}
	if len(items) > MaxIngest {
		return nil, registry.Errorf(registry.ETOOLARGE, "%d executions in one batch, over the limit of %d", len(items), MaxIngest)
	}
	res := &IngestResult{IDs: []string{}, Problems: []IngestProblem{}}
	now := s.now().UTC()
	es := make([]registry.Execution, 0, len(items))
	for i, it := range items {
		e, err := s.ingestItem(vs, cfg, keyID, it, now)
		if err != nil {
			res.Problems = append(res.Problems, IngestProblem{Index: i, Message: registry.ErrorMessage(err)})
			continue
		}
		es = append(es, e)
		res.IDs = append(res.IDs, e.ID)
	}
	if len(es) > 0 {
		if err := s.store.InsertExecutions(ctx, es); err != nil {
			return nil, err
		}
	}
	res.Accepted, res.Rejected = len(es), len(res.Problems)
	return res, nil
}

// ingestItem validates one reported execution and makes its record.
func (s *Service) ingestItem(vs Versions, cfg registry.RepoConfig, keyID string, it IngestItem, now time.Time) (registry.Execution, error) {
	if err := registry.ValidateName(it.PromptName); err != nil {
		return registry.Execution{}, fmt.Errorf("prompt_name: %s", registry.ErrorMessage(err))
	}
	if it.Version == 0 && it.Checksum == "" {
		return registry.Execution{}, fmt.Errorf("send version or checksum: which version of %q ran", it.PromptName)
	}
	if it.Version < 0 {
		return registry.Execution{}, fmt.Errorf("version must be a positive integer")
	}
	v, err := vs.LookupVersion(it.PromptName, it.Version, strings.ToLower(it.Checksum))
	if err != nil {
		return registry.Execution{}, err
	}
	status := it.Status
	switch status {
	case "":
		status = registry.StatusSucceeded
	case registry.StatusSucceeded, registry.StatusFailed:
	default:
		return registry.Execution{}, fmt.Errorf("status must be succeeded or failed, not %q", it.Status)
	}
	if it.PromptTokens < 0 || it.CompletionTokens < 0 || it.CachedTokens < 0 || it.LatencyMS < 0 || (it.TTFTMS != nil && *it.TTFTMS < 0) {
		return registry.Execution{}, fmt.Errorf("tokens and times cannot be negative")
	}
	created := now
	if it.CreatedAt != nil {
		if it.CreatedAt.After(now.Add(time.Hour)) {
			return registry.Execution{}, fmt.Errorf("created_at is in the future")
		}
		created = it.CreatedAt.UTC()
	}
	if status == registry.StatusFailed && it.ErrorClass == "" {
		it.ErrorClass = "reported"
	}
	e := registry.Execution{
		ID: NewID(now), Status: status, Mode: registry.ModeOf(cfg, v.Path, &v.Commit), Origin: "ingest",
		PromptName: it.PromptName, Version: v.Version, Checksum: v.Checksum, Commit: v.Commit.SHA,
		Environment: it.Environment, Provider: it.Provider, Model: it.Model,
		Input: it.Input, Output: it.Output, ErrorClass: it.ErrorClass, Error: it.Error,
		Usage:     registry.Usage{PromptTokens: it.PromptTokens, CompletionTokens: it.CompletionTokens, CachedTokens: it.CachedTokens},
		LatencyMS: it.LatencyMS, TTFTMS: it.TTFTMS, Metadata: it.Metadata, CorrelationID: it.CorrelationID, KeyID: keyID,
		Attempts: 1, CreatedAt: created, StartedAt: &created, FinishedAt: &created,
	}
	if it.Input != "" {
		e.InputHash = hashOf(it.Input)
	}
	if s.hashOnly {
		e.Input = ""
	}
	if it.Model != "" {
		e.CostUSD = s.cost(it.Provider, it.Model, e.Usage)
	}
	return e, nil
}
