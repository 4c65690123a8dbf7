package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/promptreg/promptreg/registry"
)

// openAI speaks Chat Completions (POST {base}/chat/completions), as OpenAI
// and the servers compatible with it (Ollama, vLLM, llama.cpp, OpenRouter…)
// do.
type openAI struct{}

func (openAI) auth(h http.Header, key string) { h.Set("Authorization", "Bearer "+key) }

func (openAI) build(p *provider, req registry.LLMRequest, stream bool, _ *slog.Logger) (*wireRequest, error) {
	body := make(map[string]any, len(req.Params)+5)
	for k, v := range req.Params {
		body[k] = v
	}
	if _, _, err := intParam(req.Params, "max_tokens"); err != nil {
		return nil, err
	}
	if _, err := stopParam(req.Params); err != nil {
		return nil, err
	}
	if u, err := url.Parse(p.base); err == nil && u.Host == "api.openai.com" {
		if v, ok := body["max_tokens"]; ok {
			if _, set := body["max_completion_tokens"]; !set {
				body["max_completion_tokens"] = v
			}
			delete(body, "max_tokens")
		}
	}
	msgs := make([]map[string]string, 0, len(req.Messages))
	for _, m := range req.Messages {
		if m.Role == "" {
			return nil, errors.New("a message without a role")
		}
		msgs = append(msgs, map[string]string{"role": m.Role, "content": m.Content})
	}
	if len(msgs) == 0 {
		return nil, errors.New("no messages")
	}
	body["model"] = req.Model
	body["messages"] = msgs
	delete(body, "stream")
	delete(body, "stream_options")
	if stream {
		body["stream"] = true
		body["stream_options"] = map[string]any{"include_usage": true}
	}
	if len(req.OutputSchema) > 0 {
		strict, err := strictSchema(req.OutputSchema)
		if err != nil {
			return nil, err
		}
		body["response_format"] = map[string]any{
			"type": "json_schema",
			"json_schema": map[string]any{
				"name":   "output",
				"schema": req.OutputSchema,
				"strict": strict,
			},
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("params: %v", err)
	}
	return &wireRequest{path: "/chat/completions", body: b}, nil
}

type openAIUsage struct {
	PromptTokens        int `json:"prompt_tokens"`
	CompletionTokens    int `json:"completion_tokens"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
}

func (u *openAIUsage) usage() registry.Usage {
	if u == nil {
		return registry.Usage{}
	}
	out := registry.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
	if u.PromptTokensDetails != nil {
		out.CachedTokens = u.PromptTokensDetails.CachedTokens
	}
	return out
}

func (openAI) decode(body []byte) (*registry.LLMResponse, error) {
	var v struct {
		Model   string `json:"model"`
		Choices []struct {
			Index   int `json:"index"`
			Message struct {
				Content *string `json:"content"`
				Refusal *string `json:"refusal"`
			} `json:"message"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *openAIUsage `json:"usage"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("malformed answer: %v", err)
	}
	if len(v.Choices) == 0 {
		return nil, errors.New("an answer without choices")
	}
	c := v.Choices[0]
	resp := &registry.LLMResponse{Model: v.Model, Usage: v.Usage.usage()}
	if c.Message.Content != nil {
		resp.Text = *c.Message.Content
	}
	if c.FinishReason != nil {
		resp.FinishReason = *c.FinishReason
	}
	if resp.Text == "" && c.Message.Refusal != nil && *c.Message.Refusal != "" {
		resp.Text, resp.FinishReason = *c.Message.Refusal, "refusal"
	}
	return resp, nil
}

func (openAI) stream(registry.LLMRequest) streamDecoder { return &openAIStream{} }

// openAIStream reads `data: {chunk}` events up to `data: [DONE]`; with
// include_usage the last chunk before it has no choices and the usage.
type openAIStream struct {
	resp    registry.LLMResponse
	text    []byte
	refusal bool
	done    bool
}

func (s *openAIStream) event(ev event) (string, bool, error) {
	if string(ev.data) == "[DONE]" {
		s.done = true
		return "", true, nil
	}
	var v struct {
		Model   string `json:"model"`
		Choices []struct {
			Index int `json:"index"`
			Delta struct {
				Content *string `json:"content"`
				Refusal *string `json:"refusal"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *openAIUsage `json:"usage"`
	}
	if err := json.Unmarshal(ev.data, &v); err != nil {
		return "", false, fmt.Errorf("malformed stream event: %v", err)
	}
	if v.Model != "" {
		s.resp.Model = v.Model
	}
	if v.Usage != nil {
		s.resp.Usage = v.Usage.usage()
	}
	var delta string
	for _, c := range v.Choices {
		if c.Index != 0 { // params asked for several (n): the first is the answer
			continue
		}
		if c.Delta.Content != nil {
			delta += *c.Delta.Content
		}
		if c.Delta.Refusal != nil && *c.Delta.Refusal != "" {
			delta += *c.Delta.Refusal
			s.refusal = true
		}
		if c.FinishReason != nil && *c.FinishReason != "" {
			s.resp.FinishReason = *c.FinishReason
		}
	}
	s.text = append(s.text, delta...)
	return delta, false, nil
}

func (s *openAIStream) finish() (*registry.LLMResponse, error) {
	if !s.done {
		return nil, errors.New("the stream ended before data: [DONE]")
	}
	s.resp.Text = string(s.text)
	if s.refusal {
		s.resp.FinishReason = "refusal"
	}
	return &s.resp, nil
}

// strictSchema reports whether OpenAI's strict mode accepts schema: an
// object at the root and every object closed (additionalProperties: false)
// with all its properties required. Other schemas are sent with strict
// false: the model is guided by them, not held to them.
func strictSchema(schema json.RawMessage) (bool, error) {
	var v any
	if err := json.Unmarshal(schema, &v); err != nil {
		return false, fmt.Errorf("output_schema: %v", err)
	}
	root, ok := v.(map[string]any)
	if !ok || root["type"] != "object" {
		return false, nil
	}
	return strictNode(v), nil
}

func strictNode(v any) bool {
	switch n := v.(type) {
	case []any:
		for _, e := range n {
			if !strictNode(e) {
				return false
			}
		}
	case map[string]any:
		props, hasProps := n["properties"].(map[string]any)
		if n["type"] == "object" || hasProps {
			if n["additionalProperties"] != false {
				return false
			}
			req := map[string]bool{}
			list, _ := n["required"].([]any)
			for _, r := range list {
				if s, ok := r.(string); ok {
					req[s] = true
				}
			}
			for k := range props {
				if !req[k] {
					return false
				}
			}
		}
		for k, e := range n {
			if k == "enum" || k == "const" || k == "default" || k == "examples" {
				continue
			}
			if !strictNode(e) {
				return false
			}
		}
	}
	return true
}
