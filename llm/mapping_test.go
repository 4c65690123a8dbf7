package llm

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/internal/fakellm"
	"github.com/promptreg/promptreg/registry"
)

const (
	strictOut = `{"type":"object","properties":{"total":{"type":"number"},"items":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"}},"required":["sku"],"additionalProperties":false}}},"required":["total","items"],"additionalProperties":false}`
	looseOut  = `{"type":"object","properties":{"total":{"type":"number"},"note":{"type":"string"}},"required":["total"]}`
)

// sent runs req against a fresh fake and returns the body it got.
func sent(t *testing.T, wire string, stream bool, req func(*registry.LLMRequest), script ...fakellm.Reply) (fakellm.Request, *registry.LLMResponse, []string) {
	t.Helper()
	h := setup(t, wire, stream, Config{}, script...)
	r := h.request()
	if req != nil {
		req(&r)
	}
	resp, pieces, err := h.run(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	reqs := h.fake.Requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests", len(reqs))
	}
	return reqs[0], resp, pieces
}

func jsonEqual(t *testing.T, what string, got any, want string) {
	t.Helper()
	var w any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	var g any
	json.Unmarshal(b, &g)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got %s, want %s", what, b, want)
	}
}

func TestOpenAIRequest(t *testing.T) {
	t.Run("messages, params passed as they are", func(t *testing.T) {
		got, _, _ := sent(t, OpenAI, false, func(r *registry.LLMRequest) {
			r.Params["stop"] = []any{"END"}
			r.Params["logit_bias"] = map[string]any{"50256": -100}
			r.Params["stream"] = true // not the params' to decide
		})
		if got.Path != "/v1/chat/completions" || got.Header.Get("Authorization") != "Bearer "+testKey {
			t.Errorf("got %s with Authorization %q", got.Path, got.Header.Get("Authorization"))
		}
		jsonEqual(t, "body", got.Body, `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello."}],
			"temperature":0.2,"max_tokens":300,"stop":["END"],"logit_bias":{"50256":-100}}`)
	})
	t.Run("streamed with usage", func(t *testing.T) {
		got, _, _ := sent(t, OpenAI, true, nil)
		jsonEqual(t, "stream", got.Body["stream"], `true`)
		jsonEqual(t, "stream_options", got.Body["stream_options"], `{"include_usage":true}`)
	})
	t.Run("output schema, strict when it can be", func(t *testing.T) {
		for schema, strict := range map[string]bool{strictOut: true, looseOut: false} {
			got, resp, _ := sent(t, OpenAI, false, func(r *registry.LLMRequest) { r.OutputSchema = json.RawMessage(schema) },
				fakellm.Reply{Text: `{"total":3}`})
			jsonEqual(t, "response_format", got.Body["response_format"],
				`{"type":"json_schema","json_schema":{"name":"output","schema":`+schema+`,"strict":`+map[bool]string{true: "true", false: "false"}[strict]+`}}`)
			if resp.Text != `{"total":3}` {
				t.Errorf("got %q", resp.Text)
			}
		}
	})
	t.Run("OpenAI's own host gets max_completion_tokens", func(t *testing.T) {
		p := &provider{name: OpenAI, base: DefaultOpenAIBaseURL}
		wr, err := openAI{}.build(p, registry.LLMRequest{Model: "gpt-5", Messages: []registry.Message{{Role: "user", Content: "hi"}},
			Params: map[string]any{"max_tokens": 50}}, false, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		json.Unmarshal(wr.body, &body)
		if _, has := body["max_tokens"]; has || body["max_completion_tokens"] != 50.0 {
			t.Errorf("got %s", wr.body)
		}
	})
	t.Run("a bad max_tokens is refused before sending", func(t *testing.T) {
		h := setup(t, OpenAI, false, Config{})
		r := h.request()
		r.Params["max_tokens"] = "lots"
		_, _, err := h.run(context.Background(), r)
		wantClass(t, err, registry.ClassBadRequest)
		if len(h.fake.Requests()) != 0 {
			t.Error("sent")
		}
	})
}

func TestAnthropicRequest(t *testing.T) {
	t.Run("system on top, max_tokens, stop_sequences, others dropped", func(t *testing.T) {
		got, _, _ := sent(t, Anthropic, false, func(r *registry.LLMRequest) {
			r.Messages = append(r.Messages, registry.Message{Role: "assistant", Content: "Hello."}, registry.Message{Role: "user", Content: "Again."})
			r.Params["stop"] = "END"
			r.Params["top_k"] = 5
			r.Params["frequency_penalty"] = 0.5
		})
		if got.Path != "/v1/messages" || got.Header.Get("x-api-key") != testKey || got.Header.Get("anthropic-version") != "2023-06-01" {
			t.Errorf("got %s with headers %v", got.Path, got.Header)
		}
		jsonEqual(t, "body", got.Body, `{"model":"claude-3-5-haiku-latest","system":"You are terse.","max_tokens":300,"temperature":0.2,"top_k":5,"stop_sequences":["END"],
			"messages":[{"role":"user","content":"Say hello."},{"role":"assistant","content":"Hello."},{"role":"user","content":"Again."}]}`)
	})
	t.Run("max_tokens defaults", func(t *testing.T) {
		got, _, _ := sent(t, Anthropic, true, func(r *registry.LLMRequest) { r.Params = nil })
		jsonEqual(t, "max_tokens", got.Body["max_tokens"], `1024`)
		jsonEqual(t, "stream", got.Body["stream"], `true`)
	})
	t.Run("a system-only prompt is the user's message", func(t *testing.T) {
		got, _, _ := sent(t, Anthropic, false, func(r *registry.LLMRequest) { r.Messages = r.Messages[:1] })
		if _, has := got.Body["system"]; has {
			t.Error("system sent")
		}
		jsonEqual(t, "messages", got.Body["messages"], `[{"role":"user","content":"You are terse."}]`)
	})
	for _, stream := range modes() {
		t.Run("output schema is a forced tool/"+modeName(stream), func(t *testing.T) {
			answer := `{"total":3,"items":[{"sku":"A1"}]}`
			got, resp, pieces := sent(t, Anthropic, stream, func(r *registry.LLMRequest) { r.OutputSchema = json.RawMessage(strictOut) },
				fakellm.Reply{Text: answer})
			jsonEqual(t, "tools", got.Body["tools"], `[{"name":"output","description":"Give the answer in this structure.","input_schema":`+strictOut+`}]`)
			jsonEqual(t, "tool_choice", got.Body["tool_choice"], `{"type":"tool","name":"output"}`)
			jsonEqual(t, "answer", json.RawMessage(resp.Text), answer)
			if resp.FinishReason != "tool_use" {
				t.Errorf("got finish %q", resp.FinishReason)
			}
			if stream && strings.Join(pieces, "") != answer {
				t.Errorf("got pieces %q", pieces)
			}
		})
	}
}

func TestGeminiRequest(t *testing.T) {
	for _, stream := range modes() {
		t.Run("path, key, systemInstruction, generationConfig/"+modeName(stream), func(t *testing.T) {
			got, _, _ := sent(t, Gemini, stream, func(r *registry.LLMRequest) {
				r.Messages = append(r.Messages, registry.Message{Role: "assistant", Content: "Hello."}, registry.Message{Role: "user", Content: "Again."})
				r.Params["stop"] = []any{"END", "STOP"}
				r.Params["top_p"] = 0.9
				r.Params["logit_bias"] = 1
				r.OutputSchema = json.RawMessage(looseOut)
			}, fakellm.Reply{Text: `{"total":1}`})
			path, query := "/v1beta/models/gemini-2.5-flash:generateContent", ""
			if stream {
				path, query = "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "alt=sse"
			}
			if got.Path != path || got.RawQuery != query || got.Header.Get("x-goog-api-key") != testKey {
				t.Errorf("got %s?%s with key %q", got.Path, got.RawQuery, got.Header.Get("x-goog-api-key"))
			}
			jsonEqual(t, "body", got.Body, `{
				"systemInstruction":{"parts":[{"text":"You are terse."}]},
				"contents":[{"role":"user","parts":[{"text":"Say hello."}]},{"role":"model","parts":[{"text":"Hello."}]},{"role":"user","parts":[{"text":"Again."}]}],
				"generationConfig":{"temperature":0.2,"topP":0.9,"maxOutputTokens":300,"stopSequences":["END","STOP"],
					"responseMimeType":"application/json","responseJsonSchema":`+looseOut+`}}`)
		})
	}
	t.Run("thinking tokens are completion tokens", func(t *testing.T) {
		_, resp, _ := sent(t, Gemini, false, nil, fakellm.Reply{Text: "hi", Usage: &fakellm.Usage{Prompt: 10, Completion: 4, Thoughts: 6, Cached: 2}})
		if want := (registry.Usage{PromptTokens: 10, CompletionTokens: 10, CachedTokens: 2}); resp.Usage != want {
			t.Errorf("got %+v, want %+v", resp.Usage, want)
		}
	})
	t.Run("a blocked prompt is a bad request", func(t *testing.T) {
		h := setup(t, Gemini, false, Config{}, fakellm.Reply{Raw: `{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":9}}`})
		_, _, err := h.run(context.Background(), h.request())
		pe := wantClass(t, err, registry.ClassBadRequest)
		if !strings.Contains(pe.Message, "SAFETY") {
			t.Errorf("got %q", pe.Message)
		}
	})
}

func TestStrictSchema(t *testing.T) {
	for schema, want := range map[string]bool{
		strictOut: true,
		looseOut:  false,
		`{"type":"array","items":{"type":"string"}}`:                                                           false,
		`{"type":"object","properties":{},"additionalProperties":false}`:                                       true,
		`{"type":"object","properties":{"a":{"type":"object"}},"required":["a"],"additionalProperties":false}`: false,
	} {
		got, err := strictSchema(json.RawMessage(schema))
		if err != nil || got != want {
			t.Errorf("%s: got %v, %v, want %v", schema, got, err, want)
		}
	}
}
