// Package fakellm runs fake LLM providers for tests: httptest servers on
// 127.0.0.1 that speak the OpenAI Chat Completions, Anthropic Messages and
// Gemini generateContent wire formats, streaming included.
//
// A Server answers each request with the next Reply of its script (the last
// one repeats): an answer, its usage, a status with an error body, latency,
// a stream cut short, garbage. It records the requests it got so tests can
// check what a client sent. It checks what the real APIs insist on (a
// provider's required fields and headers) and answers 400 or 401 as they
// do. Its encoding is written from the providers' documentation, apart
// from the client's, so a client bug cannot hide behind a shared one.
package fakellm

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Wire formats.
const (
	OpenAI    = "openai"
	Anthropic = "anthropic"
	Gemini    = "gemini"
)

// Usage is the usage a Reply reports. Prompt counts every prompt token,
// Cached among them (each wire splits them its own way); Thoughts are
// Gemini's thinking tokens, reported apart from Completion.
type Usage struct {
	Prompt, Completion, Cached, Thoughts int
}

// Reply is what a Server answers to one request.
type Reply struct {
	// Status is the HTTP status; 0 is 200.
	Status int
	// Header is added to the response (Retry-After…).
	Header map[string]string
	// Text is the answer; for a structured answer to Anthropic (a forced
	// tool) it is the tool input's JSON.
	Text string
	// Pieces are the streamed pieces; nil splits Text in up to three.
	Pieces []string
	// Usage is reported; nil is {Prompt: 10, Completion: pieces}.
	Usage *Usage
	// NoUsage leaves the usage out.
	NoUsage bool
	// Model is the model the answer names; "" is the requested one.
	Model string
	// FinishReason is the answer's; "" is the wire's usual one.
	FinishReason string
	// Error, with a Status that is not 2xx, is the message of the error
	// body in the wire's format; with a 2xx, the answer is that error
	// object (a streamed one sends it as an event after the pieces
	// before CutAfter, or first).
	Error string
	// EchoKey appends the key the request carried to Error, as providers
	// do for a wrong key.
	EchoKey bool
	// Delay is waited before the response's headers; PieceDelay before
	// each streamed piece.
	Delay, PieceDelay time.Duration
	// Cut ends a stream after CutAfter pieces without its terminal event;
	// Abort then breaks the connection instead of ending the body.
	Cut      bool
	CutAfter int
	Abort    bool
	// Raw, when set, is the whole body sent as is (garbage).
	Raw string
}

// Request is a request a Server got.
type Request struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	// Body is the JSON body decoded (nil if it was not JSON).
	Body map[string]any
	Raw  []byte
}

// Server is a fake provider.
type Server struct {
	// URL is the server's root, http://127.0.0.1:port.
	URL  string
	wire string
	srv  *httptest.Server

	mu       sync.Mutex
	script   []Reply
	requests []Request
	key      string
}

// New starts a fake speaking wire (OpenAI, Anthropic, Gemini) with a
// script, closed when the test ends.
func New(t testing.TB, wire string, script ...Reply) *Server {
	t.Helper()
	switch wire {
	case OpenAI, Anthropic, Gemini:
	default:
		t.Fatalf("fakellm: unknown wire %q", wire)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fakellm: %v", err)
	}
	s := &Server{wire: wire, script: script}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Listener.Close()
	s.srv.Listener = l
	s.srv.Start()
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// BaseURL is the base URL a client is configured with: OpenAI's includes
// /v1, as OPENAI_BASE_URL does.
func (s *Server) BaseURL() string {
	if s.wire == OpenAI {
		return s.URL + "/v1"
	}
	return s.URL
}

// Script replaces the replies to come.
func (s *Server) Script(replies ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = replies
}

// RequireKey makes requests without key answer 401 (echoing the key they
// carried, as OpenAI's "Incorrect API key provided" does).
func (s *Server) RequireKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.key = key
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Raw: raw}
	if json.Unmarshal(raw, &req.Body) != nil {
		req.Body = nil
	}
	s.mu.Lock()
	n := len(s.requests)
	s.requests = append(s.requests, req)
	rep := Reply{Text: "ok"}
	if len(s.script) > 0 {
		rep = s.script[min(n, len(s.script)-1)]
	}
	key := s.key
	s.mu.Unlock()

	if !wait(r, rep.Delay) {
		return
	}
	x := exchange{w: w, r: r, req: req, rep: rep, wire: s.wire}
	got := x.key()
	switch {
	case key != "" && got != key:
		x.fail(http.StatusUnauthorized, "Incorrect API key provided: "+got)
		return
	case rep.Raw != "":
		for k, v := range rep.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(cmpStatus(rep.Status))
		io.WriteString(w, rep.Raw)
		return
	case rep.Status != 0 && (rep.Status < 200 || rep.Status > 299):
		msg := rep.Error
		if msg == "" {
			msg = http.StatusText(rep.Status)
		}
		if rep.EchoKey {
			msg += " " + got
		}
		x.fail(rep.Status, msg)
		return
	}
	if msg := x.check(); msg != "" {
		x.fail(http.StatusBadRequest, msg)
		return
	}
	if x.streamed() {
		x.stream()
	} else {
		x.whole()
	}
}

func cmpStatus(s int) int {
	if s == 0 {
		return http.StatusOK
	}
	return s
}

// wait waits d or until the client goes away; false if it went.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// exchange is one request being answered.
type exchange struct {
	w    http.ResponseWriter
	r    *http.Request
	req  Request
	rep  Reply
	wire string
}

// key returns the key the request carried in the wire's header.
func (x *exchange) key() string {
	switch x.wire {
	case OpenAI:
		return strings.TrimPrefix(x.r.Header.Get("Authorization"), "Bearer ")
	case Anthropic:
		return x.r.Header.Get("x-api-key")
	default:
		return x.r.Header.Get("x-goog-api-key")
	}
}

// check returns what the real API would refuse in the request, "" if
// nothing.
func (x *exchange) check() string {
	b := x.req.Body
	if x.req.Method != http.MethodPost {
		return "method " + x.req.Method
	}
	if b == nil {
		return "the body is not JSON"
	}
	msgs, _ := b["messages"].([]any)
	switch x.wire {
	case OpenAI:
		if x.req.Path != "/v1/chat/completions" {
			return "unknown path " + x.req.Path
		}
		if s, _ := b["model"].(string); s == "" {
			return "you must provide a model parameter"
		}
		if len(msgs) == 0 {
			return "'messages' must contain at least one message"
		}
	case Anthropic:
		if x.req.Path != "/v1/messages" {
			return "unknown path " + x.req.Path
		}
		if x.r.Header.Get("anthropic-version") == "" {
			return "anthropic-version: header is required"
		}
		if _, ok := b["max_tokens"].(float64); !ok {
			return "max_tokens: Field required"
		}
		if len(msgs) == 0 {
			return "messages: at least one message is required"
		}
		for _, m := range msgs {
			if role, _ := m.(map[string]any)["role"].(string); role != "user" && role != "assistant" {
				return fmt.Sprintf("messages: Unexpected role %q", role)
			}
		}
	case Gemini:
		if _, action, ok := x.geminiPath(); !ok || (action != "generateContent" && action != "streamGenerateContent") {
			return "unknown path " + x.req.Path
		}
		contents, _ := b["contents"].([]any)
		if len(contents) == 0 {
			return "* GenerateContentRequest.contents: contents is not specified"
		}
		for _, c := range contents {
			if role, _ := c.(map[string]any)["role"].(string); role != "user" && role != "model" && role != "" {
				return fmt.Sprintf("Please use a valid role: user, model (not %q)", role)
			}
		}
	}
	return ""
}

// geminiPath splits /v1beta/models/{model}:{action}.
func (x *exchange) geminiPath() (model, action string, ok bool) {
	rest, ok := strings.CutPrefix(x.req.Path, "/v1beta/models/")
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

func (x *exchange) streamed() bool {
	if x.wire == Gemini {
		_, action, _ := x.geminiPath()
		return action == "streamGenerateContent"
	}
	s, _ := x.req.Body["stream"].(bool)
	return s
}

func (x *exchange) model() string {
	if x.rep.Model != "" {
		return x.rep.Model
	}
	if x.wire == Gemini {
		m, _, _ := x.geminiPath()
		return m
	}
	s, _ := x.req.Body["model"].(string)
	return s
}

func (x *exchange) pieces() []string {
	if x.rep.Pieces != nil {
		return x.rep.Pieces
	}
	t := x.rep.Text
	if t == "" {
		return nil
	}
	var out []string
	step := (len(t) + 2) / 3
	for len(t) > 0 {
		n := min(step, len(t))
		out = append(out, t[:n])
		t = t[n:]
	}
	return out
}

func (x *exchange) usage() *Usage {
	if x.rep.NoUsage {
		return nil
	}
	if x.rep.Usage != nil {
		return x.rep.Usage
	}
	return &Usage{Prompt: 10, Completion: len(x.pieces())}
}

// tool is the name of the tool Anthropic is forced to use, "" if none.
func (x *exchange) tool() string {
	tc, _ := x.req.Body["tool_choice"].(map[string]any)
	if tc["type"] == "tool" {
		s, _ := tc["name"].(string)
		return s
	}
	return ""
}

func (x *exchange) writeJSON(status int, v any) {
	for k, val := range x.rep.Header {
		x.w.Header().Set(k, val)
	}
	x.w.Header().Set("Content-Type", "application/json")
	x.w.WriteHeader(status)
	json.NewEncoder(x.w).Encode(v)
}

// fail answers status with an error body in the wire's format.
func (x *exchange) fail(status int, msg string) {
	x.writeJSON(status, x.errorBody(status, msg))
}

func (x *exchange) errorBody(status int, msg string) any {
	switch x.wire {
	case OpenAI:
		typ := "invalid_request_error"
		switch {
		case status == 429:
			typ = "rate_limit_exceeded"
		case status >= 500 || status < 300:
			typ = "server_error"
		}
		return map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}}
	case Anthropic:
		typ := map[int]string{400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
			404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error", 529: "overloaded_error"}[status]
		if typ == "" {
			typ = "api_error"
		}
		return map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}, "request_id": "req_fake"}
	default:
		st := map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
			404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}[status]
		if st == "" {
			st = "INTERNAL"
		}
		if status < 300 {
			status = 500
		}
		return map[string]any{"error": map[string]any{"code": status, "message": msg, "status": st}}
	}
}

// whole answers a request that is not streamed.
func (x *exchange) whole() {
	status := cmpStatus(x.rep.Status)
	if x.rep.Error != "" {
		x.writeJSON(status, x.errorBody(status, x.rep.Error))
		return
	}
	u := x.usage()
	switch x.wire {
	case OpenAI:
		body := map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": x.model(),
			"choices": []any{map[string]any{
				"index":         0,
				"message":       map[string]any{"role": "assistant", "content": x.rep.Text, "refusal": nil},
				"finish_reason": or(x.rep.FinishReason, "stop"),
			}},
		}
		if u != nil {
			body["usage"] = openAIUsage(u)
		}
		x.writeJSON(status, body)
	case Anthropic:
		block := map[string]any{"type": "text", "text": x.rep.Text}
		stop := "end_turn"
		if name := x.tool(); name != "" {
			block = map[string]any{"type": "tool_use", "id": "toolu_fake", "name": name, "input": json.RawMessage(x.rep.Text)}
			stop = "tool_use"
		}
		body := map[string]any{
			"id": "msg_fake", "type": "message", "role": "assistant", "model": x.model(),
			"content": []any{block}, "stop_reason": or(x.rep.FinishReason, stop), "stop_sequence": nil,
		}
		if u != nil {
			body["usage"] = anthropicUsage(u, true)
		}
		x.writeJSON(status, body)
	case Gemini:
		body := map[string]any{
			"candidates": []any{map[string]any{
				"content":      map[string]any{"parts": []any{map[string]any{"text": x.rep.Text}}, "role": "model"},
				"finishReason": or(x.rep.FinishReason, "STOP"),
				"index":        0,
			}},
			"modelVersion": x.model(), "responseId": "fake",
		}
		if u != nil {
			body["usageMetadata"] = geminiUsage(u)
		}
		x.writeJSON(status, body)
	}
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func openAIUsage(u *Usage) map[string]any {
	return map[string]any{
		"prompt_tokens": u.Prompt, "completion_tokens": u.Completion, "total_tokens": u.Prompt + u.Completion,
		"prompt_tokens_details":     map[string]any{"cached_tokens": u.Cached},
		"completion_tokens_details": map[string]any{"reasoning_tokens": 0},
	}
}

// anthropicUsage: input_tokens leaves the cached tokens out.
func anthropicUsage(u *Usage, withOutput bool) map[string]any {
	m := map[string]any{
		"input_tokens": u.Prompt - u.Cached, "cache_read_input_tokens": u.Cached,
		"cache_creation_input_tokens": 0, "output_tokens": 1,
	}
	if withOutput {
		m["output_tokens"] = u.Completion
	}
	return m
}

// geminiUsage: promptTokenCount includes the cached tokens.
func geminiUsage(u *Usage) map[string]any {
	m := map[string]any{
		"promptTokenCount": u.Prompt, "candidatesTokenCount": u.Completion,
		"totalTokenCount": u.Prompt + u.Completion + u.Thoughts,
	}
	if u.Cached > 0 {
		m["cachedContentTokenCount"] = u.Cached
	}
	if u.Thoughts > 0 {
		m["thoughtsTokenCount"] = u.Thoughts
	}
	return m
}

// stream answers a streamed request with server-sent events.
func (x *exchange) stream() {
	for k, v := range x.rep.Header {
		x.w.Header().Set(k, v)
	}
	x.w.Header().Set("Content-Type", "text/event-stream")
	x.w.Header().Set("Cache-Control", "no-cache")
	x.w.WriteHeader(cmpStatus(x.rep.Status))
	f, _ := x.w.(http.Flusher)
	sep := "\n\n"
	if x.wire == Gemini {
		sep = "\r\n\r\n"
	}
	send := func(name string, v any) {
		b, _ := json.Marshal(v)
		if name != "" {
			fmt.Fprintf(x.w, "event: %s\n", name)
		}
		fmt.Fprintf(x.w, "data: %s%s", b, sep)
		if f != nil {
			f.Flush()
		}
	}
	pieces := x.pieces()
	cut := len(pieces)
	if x.rep.Cut {
		cut = min(x.rep.CutAfter, len(pieces))
	}
	u := x.usage()
	model := x.model()
	tool := x.tool()

	// The start.
	switch x.wire {
	case OpenAI:
		send("", openAIChunk(model, map[string]any{"role": "assistant", "content": ""}, nil))
	case Anthropic:
		msg := map[string]any{"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
			"content": []any{}, "stop_reason": nil, "stop_sequence": nil}
		if u != nil {
			msg["usage"] = anthropicUsage(u, false)
		}
		send("message_start", map[string]any{"type": "message_start", "message": msg})
		block := map[string]any{"type": "text", "text": ""}
		if tool != "" {
			block = map[string]any{"type": "tool_use", "id": "toolu_fake", "name": tool, "input": map[string]any{}}
		}
		send("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": block})
		send("ping", map[string]any{"type": "ping"})
	}
	// The pieces.
	for i, p := range pieces[:cut] {
		if !wait(x.r, x.rep.PieceDelay) {
			return
		}
		switch x.wire {
		case OpenAI:
			send("", openAIChunk(model, map[string]any{"content": p}, nil))
		case Anthropic:
			delta := map[string]any{"type": "text_delta", "text": p}
			if tool != "" {
				delta = map[string]any{"type": "input_json_delta", "partial_json": p}
			}
			send("content_block_delta", map[string]any{"type": "content_block_delta", "index": 0, "delta": delta})
		case Gemini:
			chunk := map[string]any{
				"candidates":   []any{map[string]any{"content": map[string]any{"parts": []any{map[string]any{"text": p}}, "role": "model"}, "index": 0}},
				"modelVersion": model, "responseId": "fake",
			}
			if u != nil {
				chunk["usageMetadata"] = map[string]any{"promptTokenCount": u.Prompt, "candidatesTokenCount": i + 1, "totalTokenCount": u.Prompt + i + 1}
			}
			send("", chunk)
		}
	}
	if x.rep.Error != "" {
		switch x.wire {
		case Anthropic:
			send("error", map[string]any{"type": "error", "error": map[string]any{"type": "overloaded_error", "message": x.rep.Error}})
		default:
			send("", x.errorBody(500, x.rep.Error))
		}
		return
	}
	if x.rep.Cut {
		if x.rep.Abort {
			panic(http.ErrAbortHandler)
		}
		return
	}
	// The end.
	switch x.wire {
	case OpenAI:
		send("", openAIChunk(model, map[string]any{}, or(x.rep.FinishReason, "stop")))
		if opts, _ := x.req.Body["stream_options"].(map[string]any); opts["include_usage"] == true && u != nil {
			c := openAIChunk(model, nil, nil)
			c["choices"] = []any{}
			c["usage"] = openAIUsage(u)
			send("", c)
		}
		fmt.Fprint(x.w, "data: [DONE]\n\n")
	case Anthropic:
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0})
		stop := "end_turn"
		if tool != "" {
			stop = "tool_use"
		}
		md := map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": or(x.rep.FinishReason, stop), "stop_sequence": nil}}
		if u != nil {
			md["usage"] = map[string]any{"output_tokens": u.Completion}
		}
		send("message_delta", md)
		send("message_stop", map[string]any{"type": "message_stop"})
	case Gemini:
		chunk := map[string]any{
			"candidates":   []any{map[string]any{"content": map[string]any{"parts": []any{map[string]any{"text": ""}}, "role": "model"}, "finishReason": or(x.rep.FinishReason, "STOP"), "index": 0}},
			"modelVersion": model, "responseId": "fake",
		}
		if u != nil {
			chunk["usageMetadata"] = geminiUsage(u)
		}
		send("", chunk)
	}
}

func openAIChunk(model string, delta map[string]any, finish any) map[string]any {
	return map[string]any{
		"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
		"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}},
	}
}
