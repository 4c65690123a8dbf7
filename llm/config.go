package llm

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Providers this package speaks.
const (
	OpenAI    = "openai"    // Chat Completions: OpenAI or any compatible server
	Anthropic = "anthropic" // the Messages API
	Gemini    = "gemini"    // the Gemini API's generateContent
)

// Default base URLs. OpenAI's includes /v1, as OPENAI_BASE_URL does for the
// OpenAI SDKs; the others are bare hosts, as their SDKs read them.
const (
	DefaultOpenAIBaseURL    = "https://api.openai.com/v1"
	DefaultAnthropicBaseURL = "https://api.anthropic.com"
	DefaultGeminiBaseURL    = "https://generativelanguage.googleapis.com"
)

// Defaults of Config's zero fields.
const (
	DefaultTimeout      = 60 * time.Second
	DefaultMaxRetries   = 2
	DefaultMaxRetryWait = 20 * time.Second
)

// ProviderConfig is where a provider is and the key it wants ("" for
// servers that need none, such as Ollama or vLLM).
type ProviderConfig struct {
	BaseURL string
	APIKey  string
}

// Config configures a Client.
type Config struct {
	// Providers maps a provider name (OpenAI, Anthropic, Gemini) to its
	// configuration; a provider missing here answers ClassNoProvider. An
	// empty BaseURL is the provider's default.
	Providers map[string]ProviderConfig
	// Timeout bounds one Complete call, retries and their waits included;
	// 0 is DefaultTimeout.
	Timeout time.Duration
	// MaxRetries bounds the retries after the first attempt; 0 is
	// DefaultMaxRetries, negative is none.
	MaxRetries int
	// MaxRetryWait is the longest Retry-After the client waits for; a
	// provider asking for longer gets no retry. 0 is DefaultMaxRetryWait.
	MaxRetryWait time.Duration
	// HTTPClient sends the requests; nil is a client with no timeout of
	// its own (the call's deadline bounds it).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now and Sleep are the clock and the wait between retries; tests
	// replace them. Sleep returns ctx's error if ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// ConfigFromEnv reads the variables the providers' official SDKs read:
// OPENAI_API_KEY and OPENAI_BASE_URL (with /v1), ANTHROPIC_API_KEY and
// ANTHROPIC_BASE_URL, GEMINI_API_KEY and GEMINI_BASE_URL (bare hosts). A
// provider is configured when its key or its base URL is set; one with a
// key and no base URL gets the default.
func ConfigFromEnv(getenv func(string) string) Config {
	cfg := Config{Providers: map[string]ProviderConfig{}}
	for _, p := range []struct{ name, prefix string }{
		{OpenAI, "OPENAI"}, {Anthropic, "ANTHROPIC"}, {Gemini, "GEMINI"},
	} {
		key := strings.TrimSpace(getenv(p.prefix + "_API_KEY"))
		base := strings.TrimSpace(getenv(p.prefix + "_BASE_URL"))
		if key == "" && base == "" {
			continue
		}
		cfg.Providers[p.name] = ProviderConfig{BaseURL: base, APIKey: key}
	}
	return cfg
}

func defaultBaseURL(provider string) string {
	switch provider {
	case OpenAI:
		return DefaultOpenAIBaseURL
	case Anthropic:
		return DefaultAnthropicBaseURL
	case Gemini:
		return DefaultGeminiBaseURL
	}
	return ""
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
