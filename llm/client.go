package llm

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/promptreg/promptreg/registry"
)

var _ registry.LLM = (*Client)(nil)

// Bounds on what a provider may send back.
const (
	maxBody      = 32 << 20 // a whole answer
	maxErrorBody = 64 << 10 // an error's body
)

// errCallTimeout is the cause of a call's context when Config.Timeout ends it.
var errCallTimeout = errors.New("provider call timeout")

// Client calls the configured providers. It is safe for concurrent use.
type Client struct {
	providers map[string]*provider
	keys      []string // the configured keys, longest first, scrubbed from every message
	timeout   time.Duration
	retries   int
	maxWait   time.Duration
	http      *http.Client
	log       *slog.Logger
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
}

// provider is one configured provider.
type provider struct {
	name    string
	base    string // without a trailing slash
	key     string
	dialect dialect
}

// dialect is a provider's wire format.
type dialect interface {
	// build returns the request of a call: its path under the base URL,
	// its headers but the key's, and its body. An error is the request's
	// fault (ClassBadRequest).
	build(p *provider, req registry.LLMRequest, stream bool, log *slog.Logger) (*wireRequest, error)
	// decode reads a whole answer's body.
	decode(body []byte) (*registry.LLMResponse, error)
	// stream returns a decoder of one streamed answer to req.
	stream(req registry.LLMRequest) streamDecoder
	// auth sets the key's header.
	auth(h http.Header, key string)
}

// streamDecoder reads one streamed answer, event by event.
type streamDecoder interface {
	// event reads one event and returns the text it adds ("" for none)
	// and whether it is the stream's last.
	event(ev event) (delta string, last bool, err error)
	// finish returns the answer once the stream ended; an error if it
	// ended before its terminal event.
	finish() (*registry.LLMResponse, error)
}

type wireRequest struct {
	path   string
	header http.Header
	body   []byte
}

// New returns a Client. Errors: EINVALID for an unknown provider or a bad
// base URL.
func New(cfg Config) (*Client, error) {
	c := &Client{
		providers: map[string]*provider{},
		timeout:   cfg.Timeout, retries: cfg.MaxRetries, maxWait: cfg.MaxRetryWait,
		http: cfg.HTTPClient, log: cfg.Logger, now: cfg.Now, sleep: cfg.Sleep,
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	switch {
	case c.retries == 0:
		c.retries = DefaultMaxRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.maxWait <= 0 {
		c.maxWait = DefaultMaxRetryWait
	}
	if c.http == nil {
		// The APIs do not redirect, and a redirect to another host would
		// carry x-api-key or x-goog-api-key there (net/http drops only
		// Authorization): a 3xx is a bad response.
		c.http = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = sleep
	}
	for name, pc := range cfg.Providers {
		p := &provider{name: name, key: pc.APIKey}
		wire := pc.Wire
		if wire == "" {
			wire = name
		}
		switch wire {
		case OpenAI:
			p.dialect = openAI{}
		case Anthropic:
			p.dialect = anthropic{}
		case Gemini:
			p.dialect = gemini{}
		default:
			return nil, registry.Errorf(registry.EINVALID, "LLM provider %q: unknown wire %q (want openai, anthropic or gemini)", name, wire)
		}
		base := pc.BaseURL
		if base == "" {
			base = defaultBaseURL(name)
		}
		u, err := url.Parse(base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, registry.Errorf(registry.EINVALID, "%s base URL %q: want an http or https URL", name, redactURL(base))
		}
		p.base = strings.TrimRight(base, "/")
		c.providers[name] = p
		if pc.APIKey != "" {
			c.keys = append(c.keys, pc.APIKey)
		}
	}
	sort.Slice(c.keys, func(i, j int) bool { return len(c.keys[i]) > len(c.keys[j]) })
	return c, nil
}

// Complete calls req's model; with onDelta set the answer is streamed.
// Errors: *registry.ProviderError; ctx's error when ctx ends; onDelta's.
func (c *Client) Complete(ctx context.Context, req registry.LLMRequest, onDelta func(string) error) (*registry.LLMResponse, error) {
	name := strings.ToLower(strings.TrimSpace(req.Provider))
	if name == "" {
		name = OpenAI
	}
	p, ok := c.providers[name]
	if !ok {
		env := strings.ToUpper(name)
		msg := fmt.Sprintf("provider %q is not configured: set %s_API_KEY (or %s_BASE_URL for a server that needs no key)", req.Provider, env, env)
		if defaultBaseURL(name) == "" {
			msg = fmt.Sprintf("unknown provider %q: want openai, anthropic, gemini, or one the --providers file names", req.Provider)
		}
		return nil, &registry.ProviderError{Class: registry.ClassNoProvider, Message: msg}
	}
	if strings.TrimSpace(req.Model) == "" {
		return nil, c.fail(p, registry.ClassBadRequest, 0, "no model named")
	}
	wr, err := p.dialect.build(p, req, onDelta != nil, c.log)
	if err != nil {
		return nil, c.fail(p, registry.ClassBadRequest, 0, "%v", err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errCallTimeout)
	defer cancel()
	call := &call{Client: c, p: p, req: req, wr: wr, onDelta: onDelta, start: c.now()}
	for attempt := 0; ; attempt++ {
		resp, err, retry := call.attempt(ctx)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, c.ctxErr(p, parent, ctx)
		}
		var pe *registry.ProviderError
		if !retry || attempt >= c.retries || !errors.As(err, &pe) {
			return nil, err
		}
		wait := backoff(attempt)
		if pe.RetryAfter > 0 {
			if pe.RetryAfter > c.maxWait {
				c.log.Warn("llm: not retrying, the provider asks for a longer wait", "provider", p.name, "model", req.Model, "status", pe.Status, "retry_after", pe.RetryAfter)
				return nil, err
			}
			wait = pe.RetryAfter
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			c.log.Warn("llm: not retrying, the wait would pass the deadline", "provider", p.name, "model", req.Model, "status", pe.Status, "wait", wait)
			return nil, err
		}
		c.log.Info("llm: retrying", "provider", p.name, "model", req.Model, "attempt", attempt+1, "status", pe.Status, "error", pe.Message, "wait", wait)
		if err := c.sleep(ctx, wait); err != nil {
			return nil, c.ctxErr(p, parent, ctx)
		}
	}
}

// call is one Complete call, attempted one or more times.
type call struct {
	*Client
	p         *provider
	req       registry.LLMRequest
	wr        *wireRequest
	onDelta   func(string) error
	start     time.Time
	delivered bool // a piece of the answer went to onDelta: no more retries
}

// attempt sends the request once. retry says whether another attempt may
// succeed.
func (c *call) attempt(ctx context.Context) (resp *registry.LLMResponse, err error, retry bool) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.p.base+c.wr.path, bytes.NewReader(c.wr.body))
	if err != nil {
		return nil, c.fail(c.p, registry.ClassBadRequest, 0, "%v", err), false
	}
	for k, v := range c.wr.header {
		hreq.Header[k] = v
	}
	hreq.Header.Set("Content-Type", "application/json")
	if c.p.key != "" {
		c.p.dialect.auth(hreq.Header, c.p.key)
	}
	res, err := c.http.Do(hreq)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err(), false
		}
		return nil, c.fail(c.p, registry.ClassUnavailable, 0, "%v", err), true
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return c.statusError(res)
	}
	if c.onDelta != nil && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		return c.readStream(ctx, res.Body)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err(), false
		}
		return nil, c.fail(c.p, registry.ClassBadResponse, res.StatusCode, "reading the answer: %v", err), true
	}
	if len(body) > maxBody {
		return nil, c.fail(c.p, registry.ClassBadResponse, res.StatusCode, "an answer over %d MiB", maxBody>>20), false
	}
	if msg, ok := errorObject(body); ok {
		return nil, c.fail(c.p, registry.ClassBadResponse, res.StatusCode, "an error in a %d answer: %s", res.StatusCode, msg), false
	}
	resp, err = c.p.dialect.decode(body)
	if err != nil {
		return nil, c.badAnswer(err, res.StatusCode), false
	}
	// A streamed call answered with JSON (a server that does not stream)
	// gets the whole text as one piece.
	if c.onDelta != nil && resp.Text != "" {
		c.delivered = true
		if err := c.onDelta(c.scrub(resp.Text)); err != nil {
			return nil, err, false
		}
	}
	resp.FirstToken = c.now().Sub(c.start)
	return c.finish(resp, res.StatusCode)
}

// readStream reads a streamed answer, handing its pieces to onDelta.
func (c *call) readStream(ctx context.Context, body io.Reader) (*registry.LLMResponse, error, bool) {
	sse := newSSEReader(body)
	dec := c.p.dialect.stream(c.req)
	var first time.Duration
	for {
		ev, err := sse.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err(), false
			}
			if errors.Is(err, errLineTooLong) {
				return nil, c.fail(c.p, registry.ClassBadResponse, http.StatusOK, "stream: %v", err), false
			}
			return nil, c.fail(c.p, registry.ClassBadResponse, http.StatusOK, "stream cut short: %v", err), !c.delivered
		}
		if msg, ok := errorObject(ev.data); ok || ev.name == "error" {
			if !ok {
				msg = truncate(string(ev.data))
			}
			return nil, c.fail(c.p, registry.ClassBadResponse, http.StatusOK, "an error in the stream: %s", msg), false
		}
		if ev.raw {
			return nil, c.fail(c.p, registry.ClassBadResponse, http.StatusOK, "stream: not an event: %s", truncate(string(ev.data))), false
		}
		delta, last, err := dec.event(ev)
		if err != nil {
			return nil, c.badAnswer(err, http.StatusOK), false
		}
		if delta != "" {
			if !c.delivered {
				c.delivered = true
				first = c.now().Sub(c.start)
			}
			if err := c.onDelta(c.scrub(delta)); err != nil {
				return nil, err, false
			}
		}
		if last {
			break
		}
	}
	resp, err := dec.finish()
	if err != nil {
		return nil, c.badAnswer(err, http.StatusOK), false
	}
	resp.FirstToken = first
	if !c.delivered {
		resp.FirstToken = c.now().Sub(c.start)
	}
	return c.finish(resp, http.StatusOK)
}

// finish checks an answer and scrubs it.
func (c *call) finish(resp *registry.LLMResponse, status int) (*registry.LLMResponse, error, bool) {
	if resp.Text == "" && resp.Usage == (registry.Usage{}) {
		return nil, c.fail(c.p, registry.ClassBadResponse, status, "an empty answer without usage"), false
	}
	resp.Text = c.scrub(resp.Text)
	resp.Model = c.scrub(resp.Model)
	resp.FinishReason = c.scrub(resp.FinishReason)
	return resp, nil, false
}

// statusError classifies a response that is not a 2xx.
func (c *call) statusError(res *http.Response) (*registry.LLMResponse, error, bool) {
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
	msg := errorMessage(body)
	if msg == "" {
		msg = http.StatusText(res.StatusCode)
	}
	class, retry := registry.ClassBadResponse, false
	switch s := res.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		class = registry.ClassAuth
	case s == http.StatusRequestTimeout:
		class, retry = registry.ClassTimeout, true
	case s == http.StatusTooManyRequests:
		class, retry = registry.ClassRateLimited, true
	case s >= 500:
		class, retry = registry.ClassUnavailable, true
	case s >= 400:
		class = registry.ClassBadRequest
	}
	pe := c.fail(c.p, class, res.StatusCode, "%d: %s", res.StatusCode, msg)
	pe.RetryAfter = retryAfter(res.Header, c.now())
	return nil, pe, retry
}

// badAnswer turns a dialect's error into a ProviderError: its own when it
// made one, else ClassBadResponse.
func (c *call) badAnswer(err error, status int) *registry.ProviderError {
	var pe *registry.ProviderError
	if errors.As(err, &pe) {
		pe.Status = status
		pe.Message = c.scrub(c.p.name + ": " + pe.Message)
		return pe
	}
	return c.fail(c.p, registry.ClassBadResponse, status, "%v", err)
}

// fail returns a ProviderError whose message names the provider and holds
// no key.
func (c *Client) fail(p *provider, class string, status int, format string, args ...any) *registry.ProviderError {
	return &registry.ProviderError{Class: class, Status: status, Message: c.scrub(p.name + ": " + fmt.Sprintf(format, args...))}
}

// ctxErr is the error of a call whose context ended: ClassTimeout when its
// own timeout did, else the parent's error.
func (c *Client) ctxErr(p *provider, parent, ctx context.Context) error {
	if err := parent.Err(); err != nil {
		return err
	}
	if errors.Is(context.Cause(ctx), errCallTimeout) {
		return c.fail(p, registry.ClassTimeout, 0, "no answer within %s", c.timeout)
	}
	return ctx.Err()
}

// scrub replaces the configured keys in s.
func (c *Client) scrub(s string) string {
	for _, k := range c.keys {
		s = strings.ReplaceAll(s, k, "[redacted]")
	}
	return s
}

// backoff is the wait before retry n+1 when the provider named none:
// 0.5 s doubling, at most 8 s, less up to a quarter at random.
func backoff(n int) time.Duration {
	d := 500 * time.Millisecond << min(n, 4)
	return d - time.Duration(rand.Int64N(int64(d/4)+1))
}

// retryAfter reads Retry-After-Ms or Retry-After (seconds or an HTTP
// date); 0 when there is none.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if ms, err := strconv.ParseFloat(strings.TrimSpace(h.Get("Retry-After-Ms")), 64); err == nil && ms > 0 && ms < 1e9 {
		return time.Duration(ms * float64(time.Millisecond))
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 || s > 1e6 || math.IsNaN(s) {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// errorObject reports whether body is a provider's error object (OpenAI's
// and Gemini's {"error": …}, Anthropic's {"type": "error", …}, vLLM's
// {"object": "error", …}) and returns its message.
func errorObject(body []byte) (string, bool) {
	var v struct {
		Error  json.RawMessage `json:"error"`
		Type   any             `json:"type"`
		Object any             `json:"object"`
	}
	if json.Unmarshal(body, &v) != nil {
		return "", false
	}
	if (len(v.Error) > 0 && string(v.Error) != "null") || v.Type == "error" || v.Object == "error" {
		return errorMessage(body), true
	}
	return "", false
}

// errorMessage extracts the message of a provider's error body, or returns
// the body's start.
func errorMessage(body []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &v) == nil {
		var e struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Status  string `json:"status"`
		}
		var s string
		switch {
		case json.Unmarshal(v.Error, &e) == nil && e.Message != "":
			if t := cmp.Or(e.Type, e.Status); t != "" {
				return truncate(e.Message + " (" + t + ")")
			}
			return truncate(e.Message)
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			return truncate(s)
		case v.Message != "":
			return truncate(v.Message)
		case json.Unmarshal(v.Detail, &s) == nil && s != "":
			return truncate(s)
		}
	}
	return truncate(strings.TrimSpace(string(body)))
}

// truncate bounds a message taken from a provider's answer.
func truncate(s string) string {
	const n = 500
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// redactURL hides a URL's password for messages.
func redactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}

// Retryable reports whether err is a provider failure that another attempt
// may not meet: a timeout, a rate limit, an unavailable provider or a bad
// answer (a ProviderError of ClassTimeout, ClassRateLimited,
// ClassUnavailable or ClassBadResponse), as opposed to a refused request, a
// wrong key, a missing provider, or the caller's cancellation. Complete has
// already retried such failures; the executions service may use it to
// decide whether a fallback model is worth a try.
func Retryable(err error) bool {
	var pe *registry.ProviderError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Class {
	case registry.ClassTimeout, registry.ClassRateLimited, registry.ClassUnavailable, registry.ClassBadResponse:
		return true
	}
	return false
}
