package llm

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/fakellm"
	"github.com/promptreg/promptreg/registry"
)

var wires = []string{fakellm.OpenAI, fakellm.Anthropic, fakellm.Gemini}

var models = map[string]string{
	fakellm.OpenAI:    "gpt-4o-mini",
	fakellm.Anthropic: "claude-3-5-haiku-latest",
	fakellm.Gemini:    "gemini-2.5-flash",
}

const testKey = "sk-test-very-secret-0123456789"

// harness is a Client talking to one fake provider, its sleeps and logs
// recorded.
type harness struct {
	wire   string
	stream bool
	fake   *fakellm.Server
	client *Client
	logs   *syncBuffer

	mu     sync.Mutex
	sleeps []time.Duration
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func setup(t *testing.T, wire string, stream bool, cfg Config, script ...fakellm.Reply) *harness {
	t.Helper()
	h := &harness{wire: wire, stream: stream, fake: fakellm.New(t, wire, script...), logs: &syncBuffer{}}
	if cfg.Providers == nil {
		cfg.Providers = map[string]ProviderConfig{wire: {BaseURL: h.fake.BaseURL(), APIKey: testKey}}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if cfg.Sleep == nil {
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			h.mu.Lock()
			h.sleeps = append(h.sleeps, d)
			h.mu.Unlock()
			return ctx.Err()
		}
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.client = c
	return h
}

func (h *harness) request() registry.LLMRequest {
	return registry.LLMRequest{
		Provider: h.wire,
		Model:    models[h.wire],
		Messages: []registry.Message{
			{Role: "system", Content: "You are terse."},
			{Role: "user", Content: "Say hello."},
		},
		Params: map[string]any{"temperature": 0.2, "max_tokens": 300},
	}
}

// run calls the model, streamed or not, and returns the pieces streamed.
func (h *harness) run(ctx context.Context, req registry.LLMRequest) (*registry.LLMResponse, []string, error) {
	var pieces []string
	var onDelta func(string) error
	if h.stream {
		onDelta = func(s string) error {
			pieces = append(pieces, s)
			return nil
		}
	}
	resp, err := h.client.Complete(ctx, req, onDelta)
	return resp, pieces, err
}

func (h *harness) slept() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Duration(nil), h.sleeps...)
}

func wantClass(t *testing.T, err error, class string) *registry.ProviderError {
	t.Helper()
	var pe *registry.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("got error %v (%T), want a *ProviderError of class %s", err, err, class)
	}
	if pe.Class != class {
		t.Fatalf("got class %s (%v), want %s", pe.Class, pe, class)
	}
	if strings.Contains(pe.Message, testKey) {
		t.Fatalf("the error message holds the key: %q", pe.Message)
	}
	return pe
}

func modes() []bool { return []bool{false, true} }

func modeName(stream bool) string {
	if stream {
		return "stream"
	}
	return "sync"
}

// TestComplete runs every provider, streamed and not, through the outcomes
// a call can have.
func TestComplete(t *testing.T) {
	for _, wire := range wires {
		for _, stream := range modes() {
			t.Run(wire+"/"+modeName(stream), func(t *testing.T) {
				testOutcomes(t, wire, stream)
			})
		}
	}
}

func testOutcomes(t *testing.T, wire string, stream bool) {
	ctx := context.Background()

	t.Run("answers with usage", func(t *testing.T) {
		h := setup(t, wire, stream, Config{}, fakellm.Reply{
			Text:  "Hello there, friend.",
			Usage: &fakellm.Usage{Prompt: 20, Completion: 5, Cached: 8},
		})
		resp, pieces, err := h.run(ctx, h.request())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Text != "Hello there, friend." {
			t.Errorf("got text %q", resp.Text)
		}
		if want := (registry.Usage{PromptTokens: 20, CompletionTokens: 5, CachedTokens: 8}); resp.Usage != want {
			t.Errorf("got usage %+v, want %+v", resp.Usage, want)
		}
		if resp.Model != models[wire] {
			t.Errorf("got model %q, want %q", resp.Model, models[wire])
		}
		if resp.FinishReason == "" {
			t.Error("no finish reason")
		}
		if resp.FirstToken <= 0 {
			t.Errorf("got first token %v, want > 0", resp.FirstToken)
		}
		if stream {
			if len(pieces) != 3 || strings.Join(pieces, "") != resp.Text {
				t.Errorf("got pieces %q, want 3 making the text", pieces)
			}
		}
		if n := len(h.fake.Requests()); n != 1 {
			t.Errorf("got %d requests, want 1", n)
		}
	})

	t.Run("429 then success waits Retry-After", func(t *testing.T) {
		h := setup(t, wire, stream, Config{},
			fakellm.Reply{Status: 429, Header: map[string]string{"Retry-After": "3"}, Error: "rate limit reached"},
			fakellm.Reply{Text: "fine"})
		resp, _, err := h.run(ctx, h.request())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Text != "fine" {
			t.Errorf("got %q", resp.Text)
		}
		if got := h.slept(); len(got) != 1 || got[0] != 3*time.Second {
			t.Errorf("got sleeps %v, want [3s]", got)
		}
		if n := len(h.fake.Requests()); n != 2 {
			t.Errorf("got %d requests, want 2", n)
		}
	})

	t.Run("5xx exhausts the retries", func(t *testing.T) {
		h := setup(t, wire, stream, Config{}, fakellm.Reply{Status: 503, Error: "overloaded"})
		_, _, err := h.run(ctx, h.request())
		pe := wantClass(t, err, registry.ClassUnavailable)
		if pe.Status != 503 || !strings.Contains(pe.Message, "overloaded") {
			t.Errorf("got %+v", pe)
		}
		if n := len(h.fake.Requests()); n != 3 {
			t.Errorf("got %d requests, want 3 (two retries)", n)
		}
		for _, d := range h.slept() {
			if d <= 0 || d > 8*time.Second {
				t.Errorf("got a backoff of %v", d)
			}
		}
	})

	t.Run("401 is auth", func(t *testing.T) {
		h := setup(t, wire, stream, Config{}, fakellm.Reply{Status: 401, Error: "invalid x-api-key"})
		_, _, err := h.run(ctx, h.request())
		pe := wantClass(t, err, registry.ClassAuth)
		if pe.Status != 401 {
			t.Errorf("got status %d", pe.Status)
		}
		if n := len(h.fake.Requests()); n != 1 {
			t.Errorf("got %d requests, want 1", n)
		}
	})

	t.Run("400 is bad request with the provider's message", func(t *testing.T) {
		h := setup(t, wire, stream, Config{}, fakellm.Reply{Status: 400, Error: "temperature: must be at most 2"})
		_, _, err := h.run(ctx, h.request())
		pe := wantClass(t, err, registry.ClassBadRequest)
		if !strings.Contains(pe.Message, "temperature: must be at most 2") {
			t.Errorf("got message %q", pe.Message)
		}
		if len(h.fake.Requests()) != 1 || len(h.slept()) != 0 {
			t.Error("a 400 was retried")
		}
	})

	t.Run("timeout", func(t *testing.T) {
		h := setup(t, wire, stream, Config{Timeout: 100 * time.Millisecond}, fakellm.Reply{Delay: 5 * time.Second, Text: "late"})
		start := time.Now()
		_, _, err := h.run(ctx, h.request())
		wantClass(t, err, registry.ClassTimeout)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("took %v", d)
		}
	})

	if stream {
		t.Run("timeout mid-stream", func(t *testing.T) {
			h := setup(t, wire, stream, Config{Timeout: 400 * time.Millisecond},
				fakellm.Reply{Text: "abcdefghij", Pieces: []string{"ab", "cd", "ef", "gh", "ij"}, PieceDelay: 150 * time.Millisecond})
			_, pieces, err := h.run(ctx, h.request())
			wantClass(t, err, registry.ClassTimeout)
			if len(pieces) == 0 || len(pieces) == 5 {
				t.Errorf("got pieces %q, want some", pieces)
			}
		})
	}

	t.Run("200 with an error body is a bad response", func(t *testing.T) {
		h := setup(t, wire, stream, Config{}, fakellm.Reply{Error: "something broke"})
		_, _, err := h.run(ctx, h.request())
		pe := wantClass(t, err, registry.ClassBadResponse)
		if !strings.Contains(pe.Message, "something broke") {
			t.Errorf("got message %q", pe.Message)
		}
		if n := len(h.fake.Requests()); n != 1 {
			t.Errorf("got %d requests, want 1", n)
		}
	})

	t.Run("cut short is a bad response", func(t *testing.T) {
		rep := fakellm.Reply{Text: "one two three", Cut: true, CutAfter: 1}
		if !stream {
			rep = fakellm.Reply{Raw: `{"id":"x","choices":[{"index":0,"message":{"content":"one`}
		}
		h := setup(t, wire, stream, Config{}, rep)
		_, pieces, err := h.run(ctx, h.request())
		wantClass(t, err, registry.ClassBadResponse)
		if stream && len(pieces) != 1 {
			t.Errorf("got pieces %q, want the first", pieces)
		}
		if n := len(h.fake.Requests()); n != 1 {
			t.Errorf("got %d requests, want 1: no retry after a delivered piece", n)
		}
	})

	t.Run("garbage is a bad response", func(t *testing.T) {
		raw := "<html>bad gateway</html>"
		if stream {
			raw = "data: {not json\n\n"
		}
		h := setup(t, wire, stream, Config{}, fakellm.Reply{Raw: raw})
		_, _, err := h.run(ctx, h.request())
		wantClass(t, err, registry.ClassBadResponse)
	})

	t.Run("an empty answer without usage is a bad response", func(t *testing.T) {
		h := setup(t, wire, stream, Config{}, fakellm.Reply{Text: "", NoUsage: true})
		_, _, err := h.run(ctx, h.request())
		wantClass(t, err, registry.ClassBadResponse)
	})

	t.Run("an empty answer with usage succeeds", func(t *testing.T) {
		h := setup(t, wire, stream, Config{}, fakellm.Reply{Text: "", Usage: &fakellm.Usage{Prompt: 7, Completion: 0}})
		resp, _, err := h.run(ctx, h.request())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Text != "" || resp.Usage.PromptTokens != 7 {
			t.Errorf("got %+v", resp)
		}
	})

	t.Run("the key never shows", func(t *testing.T) {
		h := setup(t, wire, stream, Config{},
			fakellm.Reply{Status: 500, Error: "internal error for key", EchoKey: true},
			fakellm.Reply{Status: 403, Error: "no access for key", EchoKey: true})
		_, _, err := h.run(ctx, h.request())
		pe := wantClass(t, err, registry.ClassAuth)
		if !strings.Contains(pe.Message, "no access for key [redacted]") {
			t.Errorf("got message %q, want the echoed key redacted", pe.Message)
		}
		if strings.Contains(err.Error(), testKey) || strings.Contains(h.logs.String(), testKey) {
			t.Errorf("the key shows: error %q, logs %q", err, h.logs.String())
		}
		if !strings.Contains(h.logs.String(), "internal error for key [redacted]") {
			t.Errorf("the retry's log line is missing: %q", h.logs.String())
		}
	})
}

func TestKeyEchoedOnWrongKeyIsRedacted(t *testing.T) {
	for _, wire := range wires {
		t.Run(wire, func(t *testing.T) {
			h := setup(t, wire, false, Config{})
			h.fake.RequireKey("the-right-key")
			_, _, err := h.run(context.Background(), h.request())
			pe := wantClass(t, err, registry.ClassAuth)
			if !strings.Contains(pe.Message, "Incorrect API key provided: [redacted]") {
				t.Errorf("got %q", pe.Message)
			}
		})
	}
}

func TestAbortBeforeAnyPieceIsRetried(t *testing.T) {
	for _, wire := range wires {
		t.Run(wire, func(t *testing.T) {
			h := setup(t, wire, true, Config{},
				fakellm.Reply{Text: "abc", Cut: true, CutAfter: 0, Abort: true},
				fakellm.Reply{Text: "whole"})
			resp, pieces, err := h.run(context.Background(), h.request())
			if err != nil {
				t.Fatal(err)
			}
			if resp.Text != "whole" || strings.Join(pieces, "") != "whole" {
				t.Errorf("got %q, pieces %q", resp.Text, pieces)
			}
			if n := len(h.fake.Requests()); n != 2 {
				t.Errorf("got %d requests, want 2", n)
			}
		})
	}
}

func TestAbortAfterAPieceIsNotRetried(t *testing.T) {
	h := setup(t, fakellm.OpenAI, true, Config{}, fakellm.Reply{Text: "abcdef", Cut: true, CutAfter: 2, Abort: true}, fakellm.Reply{Text: "x"})
	_, pieces, err := h.run(context.Background(), h.request())
	wantClass(t, err, registry.ClassBadResponse)
	if len(pieces) != 2 || len(h.fake.Requests()) != 1 {
		t.Errorf("got pieces %q and %d requests", pieces, len(h.fake.Requests()))
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t.Run("an HTTP date", func(t *testing.T) {
		h := setup(t, fakellm.Anthropic, false, Config{Now: func() time.Time { return now }},
			fakellm.Reply{Status: 429, Header: map[string]string{"Retry-After": now.Add(7 * time.Second).Format(http.TimeFormat)}},
			fakellm.Reply{Text: "ok"})
		if _, _, err := h.run(context.Background(), h.request()); err != nil {
			t.Fatal(err)
		}
		if got := h.slept(); len(got) != 1 || got[0] != 7*time.Second {
			t.Errorf("got sleeps %v, want [7s]", got)
		}
	})
	t.Run("retry-after-ms wins", func(t *testing.T) {
		h := setup(t, fakellm.OpenAI, false, Config{},
			fakellm.Reply{Status: 429, Header: map[string]string{"Retry-After": "2", "Retry-After-Ms": "1500"}},
			fakellm.Reply{Text: "ok"})
		if _, _, err := h.run(context.Background(), h.request()); err != nil {
			t.Fatal(err)
		}
		if got := h.slept(); len(got) != 1 || got[0] != 1500*time.Millisecond {
			t.Errorf("got sleeps %v, want [1.5s]", got)
		}
	})
	t.Run("longer than the cap is not waited for", func(t *testing.T) {
		h := setup(t, fakellm.Gemini, false, Config{},
			fakellm.Reply{Status: 429, Header: map[string]string{"Retry-After": "60"}, Error: "quota"},
			fakellm.Reply{Text: "ok"})
		_, _, err := h.run(context.Background(), h.request())
		pe := wantClass(t, err, registry.ClassRateLimited)
		if pe.RetryAfter != time.Minute {
			t.Errorf("got RetryAfter %v, want 1m", pe.RetryAfter)
		}
		if len(h.slept()) != 0 || len(h.fake.Requests()) != 1 {
			t.Errorf("retried: sleeps %v", h.slept())
		}
	})
	t.Run("beyond the deadline is not waited for", func(t *testing.T) {
		h := setup(t, fakellm.OpenAI, false, Config{Timeout: 2 * time.Second},
			fakellm.Reply{Status: 429, Header: map[string]string{"Retry-After": "10"}},
			fakellm.Reply{Text: "ok"})
		_, _, err := h.run(context.Background(), h.request())
		wantClass(t, err, registry.ClassRateLimited)
		if len(h.slept()) != 0 {
			t.Errorf("slept %v", h.slept())
		}
	})
	t.Run("429 after the retries is rate limited", func(t *testing.T) {
		h := setup(t, fakellm.Anthropic, true, Config{MaxRetries: 1}, fakellm.Reply{Status: 429, Header: map[string]string{"Retry-After": "1"}})
		_, _, err := h.run(context.Background(), h.request())
		pe := wantClass(t, err, registry.ClassRateLimited)
		if pe.RetryAfter != time.Second || len(h.fake.Requests()) != 2 {
			t.Errorf("got %+v after %d requests", pe, len(h.fake.Requests()))
		}
	})
	t.Run("no retries", func(t *testing.T) {
		h := setup(t, fakellm.OpenAI, false, Config{MaxRetries: -1}, fakellm.Reply{Status: 502})
		_, _, err := h.run(context.Background(), h.request())
		wantClass(t, err, registry.ClassUnavailable)
		if len(h.fake.Requests()) != 1 {
			t.Errorf("got %d requests", len(h.fake.Requests()))
		}
	})
}

func TestConnectionRefusedIsRetriedThenUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	var sleeps int
	c, err := New(Config{
		Providers: map[string]ProviderConfig{OpenAI: {BaseURL: "http://" + addr + "/v1", APIKey: testKey}},
		Sleep:     func(ctx context.Context, d time.Duration) error { sleeps++; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Complete(context.Background(), registry.LLMRequest{Model: "m", Messages: []registry.Message{{Role: "user", Content: "hi"}}}, nil)
	wantClass(t, err, registry.ClassUnavailable)
	if sleeps != 2 {
		t.Errorf("got %d sleeps, want 2", sleeps)
	}
}

func TestNoProvider(t *testing.T) {
	c, err := New(Config{Providers: map[string]ProviderConfig{OpenAI: {APIKey: testKey}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"anthropic", "mistral"} {
		_, err := c.Complete(context.Background(), registry.LLMRequest{Provider: p, Model: "m", Messages: []registry.Message{{Role: "user", Content: "hi"}}}, nil)
		wantClass(t, err, registry.ClassNoProvider)
	}
	if _, err := New(Config{Providers: map[string]ProviderConfig{"mistral": {APIKey: "k"}}}); registry.ErrorCode(err) != registry.EINVALID {
		t.Errorf("got %v, want EINVALID for an unknown provider", err)
	}
	if _, err := New(Config{Providers: map[string]ProviderConfig{OpenAI: {BaseURL: "localhost:11434"}}}); registry.ErrorCode(err) != registry.EINVALID {
		t.Errorf("got %v, want EINVALID for a base URL without a scheme", err)
	}
}

func TestCancelAndOnDeltaErrors(t *testing.T) {
	t.Run("the caller's cancel is ctx's error", func(t *testing.T) {
		h := setup(t, fakellm.OpenAI, false, Config{}, fakellm.Reply{Delay: 5 * time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, _, err := h.run(ctx, h.request())
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want the context's deadline", err)
		}
	})
	t.Run("onDelta's error stops the call", func(t *testing.T) {
		h := setup(t, fakellm.Gemini, true, Config{}, fakellm.Reply{Text: "abcdef"})
		stop := errors.New("client went away")
		n := 0
		_, err := h.client.Complete(context.Background(), h.request(), func(string) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("got %v after %d pieces", err, n)
		}
		if len(h.fake.Requests()) != 1 {
			t.Error("retried")
		}
	})
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"OPENAI_API_KEY":    "sk-1",
		"ANTHROPIC_API_KEY": "",
		"GEMINI_BASE_URL":   "http://127.0.0.1:9999",
	}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	if got, want := cfg.Providers[OpenAI], (ProviderConfig{APIKey: "sk-1"}); got != want {
		t.Errorf("openai: got %+v, want %+v", got, want)
	}
	if _, ok := cfg.Providers[Anthropic]; ok {
		t.Error("anthropic configured without a key or a base URL")
	}
	if got := cfg.Providers[Gemini]; got.BaseURL != "http://127.0.0.1:9999" || got.APIKey != "" {
		t.Errorf("gemini: got %+v", got)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.providers[OpenAI].base; got != DefaultOpenAIBaseURL {
		t.Errorf("got openai base %q, want the default", got)
	}
}

func TestRetryable(t *testing.T) {
	for err, want := range map[error]bool{
		&registry.ProviderError{Class: registry.ClassTimeout}:     true,
		&registry.ProviderError{Class: registry.ClassRateLimited}: true,
		&registry.ProviderError{Class: registry.ClassUnavailable}: true,
		&registry.ProviderError{Class: registry.ClassBadResponse}: true,
		&registry.ProviderError{Class: registry.ClassBadRequest}:  false,
		&registry.ProviderError{Class: registry.ClassAuth}:        false,
		&registry.ProviderError{Class: registry.ClassNoProvider}:  false,
		context.Canceled: false,
		nil:              false,
	} {
		if got := Retryable(err); got != want {
			t.Errorf("%v: got %v, want %v", err, got, want)
		}
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	other := fakellm.New(t, fakellm.Anthropic)
	h := setup(t, fakellm.Anthropic, false, Config{},
		fakellm.Reply{Status: 307, Header: map[string]string{"Location": other.URL + "/v1/messages"}, Raw: " "})
	_, _, err := h.run(context.Background(), h.request())
	wantClass(t, err, registry.ClassBadResponse)
	if len(other.Requests()) != 0 {
		t.Error("the key went to the redirect's host")
	}
}

// TestProvidersFile: a file adds a provider of another name speaking a
// known wire (an Ollama behind OpenAI's API), and moves a known one, its key
// read from the variable it names.
func TestProvidersFile(t *testing.T) {
	ollama := fakellm.New(t, fakellm.OpenAI, fakellm.Reply{Text: "local"})
	ant := fakellm.New(t, fakellm.Anthropic, fakellm.Reply{Text: "moved"})
	ant.RequireKey("sk-from-var")
	path := filepath.Join(t.TempDir(), "providers.yaml")
	os.WriteFile(path, []byte("providers:\n  ollama:\n    wire: openai\n    base_url: "+ollama.BaseURL()+
		"\n  anthropic:\n    base_url: "+ant.BaseURL()+"\n    api_key_env: ANT_KEY\n"), 0o644)
	cfg := ConfigFromEnv(func(string) string { return "" })
	env := map[string]string{"ANT_KEY": "sk-from-var"}
	if err := LoadProviders(&cfg, path, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []registry.Message{{Role: "user", Content: "hi"}}
	for provider, want := range map[string]string{"ollama": "local", "anthropic": "moved"} {
		resp, err := c.Complete(context.Background(), registry.LLMRequest{Provider: provider, Model: "m", Messages: msgs}, nil)
		if err != nil || resp.Text != want {
			t.Errorf("%s: %v, %v; want %q", provider, resp, err, want)
		}
	}
	for _, bad := range []string{
		"providers:\n  ollama:\n    base_url: http://127.0.0.1:1\n",              // no wire
		"providers:\n  ollama:\n    wire: openai\n",                              // no base URL
		"providers:\n  x:\n    wire: cohere\n    base_url: http://127.0.0.1:1\n", // unknown wire
		"providers:\n  openai:\n    api_key_env: UNSET\n",                        // variable not set
		"providers:\n  openai:\n    api_key_env: ANT_KEY\n    api_key: sk-x\n",   // both
		"provider:\n  openai: {}\n",                                              // unknown key
	} {
		os.WriteFile(path, []byte(bad), 0o644)
		cfg := Config{}
		if err := LoadProviders(&cfg, path, func(k string) string { return env[k] }); registry.ErrorCode(err) != registry.EINVALID {
			t.Errorf("LoadProviders(%q) = %v, want EINVALID", bad, err)
		}
	}
}
