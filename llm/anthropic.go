package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/promptreg/promptreg/registry"
)

// anthropic speaks the Messages API (POST {base}/v1/messages).
type anthropic struct{}

// anthropicVersion is the API version sent in anthropic-version.
const anthropicVersion = "2023-06-01"

// anthropicTool is the forced tool whose input is a structured answer.
const anthropicTool = "output"

var (
	anthropicParams = map[string]string{"temperature": "temperature", "top_p": "top_p", "top_k": "top_k"}
	anthropicPass   = map[string]bool{"stop_sequences": true, "metadata": true, "thinking": true, "service_tier": true}
)

func (anthropic) auth(h http.Header, key string) { h.Set("x-api-key", key) }

func (anthropic) build(p *provider, req registry.LLMRequest, stream bool, log *slog.Logger) (*wireRequest, error) {
	body := map[string]any{"model": req.Model}
	if dropped := mapParams(body, req.Params, anthropicParams, anthropicPass); len(dropped) > 0 {
		log.Debug("llm: params Anthropic does not take, dropped", "model", req.Model, "params", dropped)
	}
	maxTokens, ok, err := intParam(req.Params, "max_tokens")
	if err != nil {
		return nil, err
	}
	if !ok {
		maxTokens = DefaultAnthropicMaxTokens
	}
	body["max_tokens"] = maxTokens
	stop, err := stopParam(req.Params)
	if err != nil {
		return nil, err
	}
	if len(stop) > 0 {
		body["stop_sequences"] = stop
	}
	system, msgs, err := splitSystem(req.Messages, "assistant")
	if err != nil {
		return nil, err
	}
	if system != "" {
		body["system"] = system
	}
	out := make([]map[string]string, len(msgs))
	for i, m := range msgs {
		out[i] = map[string]string{"role": m.Role, "content": m.Content}
	}
	body["messages"] = out
	if stream {
		body["stream"] = true
	}
	if len(req.OutputSchema) > 0 {
		if !json.Valid(req.OutputSchema) {
			return nil, errors.New("output_schema: not valid JSON")
		}
		body["tools"] = []map[string]any{{
			"name":         anthropicTool,
			"description":  "Give the answer in this structure.",
			"input_schema": req.OutputSchema,
		}}
		body["tool_choice"] = map[string]any{"type": "tool", "name": anthropicTool}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("params: %v", err)
	}
	h := http.Header{}
	h.Set("anthropic-version", anthropicVersion)
	return &wireRequest{path: "/v1/messages", header: h, body: b}, nil
}

// splitSystem takes the system messages out of msgs, joined by blank lines,
// and checks the others' roles: user, or assistant (named model for
// Gemini). With no other message, the system text is the user's: both APIs
// want at least one.
func splitSystem(msgs []registry.Message, assistant string) (string, []registry.Message, error) {
	var system []string
	var out []registry.Message
	for _, m := range msgs {
		switch m.Role {
		case "system":
			system = append(system, m.Content)
		case "user":
			out = append(out, m)
		case "assistant":
			out = append(out, registry.Message{Role: assistant, Content: m.Content})
		default:
			return "", nil, fmt.Errorf("message role %q: want system, user or assistant", m.Role)
		}
	}
	if len(out) == 0 {
		if len(system) == 0 {
			return "", nil, errors.New("no messages")
		}
		return "", []registry.Message{{Role: "user", Content: strings.Join(system, "\n\n")}}, nil
	}
	return strings.Join(system, "\n\n"), out, nil
}

type anthropicUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
}

// merge adds what u reports to dst: Anthropic's input_tokens leaves out
// the tokens read from or written to the cache, which are prompt tokens
// all the same.
func (u *anthropicUsage) merge(dst *registry.Usage) {
	if u == nil {
		return
	}
	if in := u.InputTokens + u.CacheReadInputTokens + u.CacheCreationInputTokens; in > 0 {
		dst.PromptTokens = in
		dst.CachedTokens = u.CacheReadInputTokens
	}
	if u.OutputTokens > 0 {
		dst.CompletionTokens = u.OutputTokens
	}
}

type anthropicBlock struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	Input json.RawMessage `json:"input"`
}

func (anthropic) decode(body []byte) (*registry.LLMResponse, error) {
	var v struct {
		Type       string           `json:"type"`
		Model      string           `json:"model"`
		Content    []anthropicBlock `json:"content"`
		StopReason string           `json:"stop_reason"`
		Usage      *anthropicUsage  `json:"usage"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("malformed answer: %v", err)
	}
	if v.Type != "message" {
		return nil, fmt.Errorf("an answer of type %q, not message", v.Type)
	}
	resp := &registry.LLMResponse{Model: v.Model, FinishReason: v.StopReason}
	v.Usage.merge(&resp.Usage)
	var text strings.Builder
	for _, b := range v.Content {
		switch b.Type {
		case "text":
			text.WriteString(b.Text)
		case "tool_use": // the forced tool: its input is the answer
			resp.Text = string(b.Input)
		}
	}
	if resp.Text == "" {
		resp.Text = text.String()
	}
	return resp, nil
}

func (anthropic) stream(req registry.LLMRequest) streamDecoder {
	return &anthropicStream{structured: len(req.OutputSchema) > 0}
}

// anthropicStream reads message_start, content_block_start/delta/stop,
// message_delta and message_stop (ping ignored; error handled by the
// client).
type anthropicStream struct {
	// structured: the answer is the forced tool's input, and the pieces
	// streamed are its JSON's; else they are the text's.
	structured bool
	resp       registry.LLMResponse
	started    bool
	text       strings.Builder
	tool       bool // a tool_use block came: its JSON is the answer
	toolJSON   strings.Builder
	toolInit   json.RawMessage // the block's input at its start
	done       bool
}

func (s *anthropicStream) event(ev event) (string, bool, error) {
	var v struct {
		Type    string `json:"type"`
		Message *struct {
			Model string          `json:"model"`
			Usage *anthropicUsage `json:"usage"`
		} `json:"message"`
		ContentBlock *anthropicBlock `json:"content_block"`
		Delta        *struct {
			Type        string `json:"type"`
			Text        string `json:"text"`
			PartialJSON string `json:"partial_json"`
			StopReason  string `json:"stop_reason"`
		} `json:"delta"`
		Usage *anthropicUsage `json:"usage"`
	}
	if err := json.Unmarshal(ev.data, &v); err != nil {
		return "", false, fmt.Errorf("malformed stream event: %v", err)
	}
	if ev.name != "" && v.Type != ev.name {
		return "", false, fmt.Errorf("stream event %q carries type %q", ev.name, v.Type)
	}
	switch v.Type {
	case "message_start":
		if v.Message == nil {
			return "", false, errors.New("message_start without its message")
		}
		s.started = true
		s.resp.Model = v.Message.Model
		v.Message.Usage.merge(&s.resp.Usage)
	case "content_block_start":
		if v.ContentBlock != nil && v.ContentBlock.Type == "tool_use" {
			s.tool = true
			s.toolInit = v.ContentBlock.Input
		}
	case "content_block_delta":
		if v.Delta == nil {
			return "", false, errors.New("content_block_delta without its delta")
		}
		switch v.Delta.Type {
		case "text_delta":
			s.text.WriteString(v.Delta.Text)
			if !s.structured {
				return v.Delta.Text, false, nil
			}
		case "input_json_delta":
			s.toolJSON.WriteString(v.Delta.PartialJSON)
			if s.structured {
				return v.Delta.PartialJSON, false, nil
			}
		}
	case "message_delta":
		if v.Delta != nil && v.Delta.StopReason != "" {
			s.resp.FinishReason = v.Delta.StopReason
		}
		v.Usage.merge(&s.resp.Usage)
	case "message_stop":
		s.done = true
		return "", true, nil
	case "content_block_stop", "ping":
	default: // event types added later are ignored, as the SDKs do
	}
	return "", false, nil
}

func (s *anthropicStream) finish() (*registry.LLMResponse, error) {
	if !s.started || !s.done {
		return nil, errors.New("the stream ended before message_stop")
	}
	switch {
	case !s.structured:
		s.resp.Text = s.text.String()
	case s.tool && s.toolJSON.Len() > 0:
		s.resp.Text = s.toolJSON.String()
	case s.tool && len(s.toolInit) > 0:
		s.resp.Text = string(s.toolInit)
	default:
		s.resp.Text = s.text.String()
	}
	return &s.resp, nil
}
