package llm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/promptreg/promptreg/registry"
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
	// Wire is the API the provider speaks (OpenAI, Anthropic, Gemini);
	// "" is its name's. A provider named otherwise ("ollama",
	// "openrouter") needs one, and a base URL.
	Wire string
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

// providersFile is the providers file --providers names.
type providersFile struct {
	Providers map[string]struct {
		Wire    string `yaml:"wire"`
		BaseURL string `yaml:"base_url"`
		// APIKeyEnv names the environment variable holding the key (keys
		// stay out of files); APIKey is the key itself, for servers whose
		// key is no secret.
		APIKeyEnv string `yaml:"api_key_env"`
		APIKey    string `yaml:"api_key"`
	} `yaml:"providers"`
}

// LoadProviders reads a providers file into cfg.Providers: each entry
// replaces the fields it sets of the provider of that name (configured from
// the environment or not), so a file can add providers ("ollama" speaking
// OpenAI's wire) or move one to another endpoint. Errors: EINVALID for a
// file that does not parse, an unknown wire, a provider of another name
// without a wire or a base URL, a key variable that is not set.
func LoadProviders(cfg *Config, path string, getenv func(string) string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return registry.Errorf(registry.EINVALID, "providers file: %v", err)
	}
	var f providersFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return registry.Errorf(registry.EINVALID, "providers file %s: %v", path, err)
	}
	if cfg.Providers == nil {
		cfg.Providers = map[string]ProviderConfig{}
	}
	for name, p := range f.Providers {
		pc := cfg.Providers[name]
		if p.Wire != "" {
			pc.Wire = strings.ToLower(p.Wire)
		}
		if p.BaseURL != "" {
			pc.BaseURL = p.BaseURL
		}
		switch {
		case p.APIKeyEnv != "" && p.APIKey != "":
			return registry.Errorf(registry.EINVALID, "providers file: %s: api_key_env or api_key, not both", name)
		case p.APIKeyEnv != "":
			if pc.APIKey = strings.TrimSpace(getenv(p.APIKeyEnv)); pc.APIKey == "" {
				return registry.Errorf(registry.EINVALID, "providers file: %s: the variable %s is not set", name, p.APIKeyEnv)
			}
		case p.APIKey != "":
			pc.APIKey = p.APIKey
		}
		wire := pc.Wire
		if wire == "" {
			wire = name
		}
		if defaultBaseURL(wire) == "" {
			return registry.Errorf(registry.EINVALID, "providers file: %s: wire must be openai, anthropic or gemini", name)
		}
		if pc.BaseURL == "" && defaultBaseURL(name) == "" {
			return registry.Errorf(registry.EINVALID, "providers file: %s: base_url is required for a provider of that name", name)
		}
		cfg.Providers[strings.ToLower(name)] = pc
	}
	return nil
}
