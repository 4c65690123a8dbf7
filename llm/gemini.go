package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/promptreg/promptreg/registry"
)

// gemini speaks the Gemini API (POST
// {base}/v1beta/models/{model}:generateContent, or
// :streamGenerateContent?alt=sse).
type gemini struct{}

var (
	geminiParams = map[string]string{
		"temperature": "temperature", "top_p": "topP", "top_k": "topK", "seed": "seed",
		"presence_penalty": "presencePenalty", "frequency_penalty": "frequencyPenalty",
	}
	// geminiConfigKeys are generationConfig's own names, passed as they are.
	geminiConfigKeys = map[string]bool{
		"topP": true, "topK": true, "candidateCount": true, "maxOutputTokens": true,
		"stopSequences": true, "presencePenalty": true, "frequencyPenalty": true,
		"responseLogprobs": true, "logprobs": true, "thinkingConfig": true,
	}
)

func (gemini) auth(h http.Header, key string) { h.Set("x-goog-api-key", key) }

func (gemini) build(p *provider, req registry.LLMRequest, stream bool, log *slog.Logger) (*wireRequest, error) {
	gc := map[string]any{}
	if dropped := mapParams(gc, req.Params, geminiParams, geminiConfigKeys); len(dropped) > 0 {
		log.Debug("llm: params Gemini does not take, dropped", "model", req.Model, "params", dropped)
	}
	maxTokens, ok, err := intParam(req.Params, "max_tokens")
	if err != nil {
		return nil, err
	}
	if ok {
		gc["maxOutputTokens"] = maxTokens
	}
	stop, err := stopParam(req.Params)
	if err != nil {
		return nil, err
	}
	if len(stop) > 0 {
		gc["stopSequences"] = stop
	}
	if len(req.OutputSchema) > 0 {
		if !json.Valid(req.OutputSchema) {
			return nil, errors.New("output_schema: not valid JSON")
		}
		gc["responseMimeType"] = "application/json"
		gc["responseJsonSchema"] = req.OutputSchema
	}
	system, msgs, err := splitSystem(req.Messages, "model")
	if err != nil {
		return nil, err
	}
	type part struct {
		Text string `json:"text"`
	}
	type content struct {
		Role  string `json:"role,omitempty"`
		Parts []part `json:"parts"`
	}
	body := map[string]any{}
	contents := make([]content, len(msgs))
	for i, m := range msgs {
		contents[i] = content{Role: m.Role, Parts: []part{{Text: m.Content}}}
	}
	body["contents"] = contents
	if system != "" {
		body["systemInstruction"] = content{Parts: []part{{Text: system}}}
	}
	if len(gc) > 0 {
		body["generationConfig"] = gc
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("params: %v", err)
	}
	path := "/v1beta/models/" + url.PathEscape(strings.TrimPrefix(req.Model, "models/"))
	if stream {
		path += ":streamGenerateContent?alt=sse"
	} else {
		path += ":generateContent"
	}
	return &wireRequest{path: path, body: b}, nil
}

// geminiResponse is a GenerateContentResponse, whole or one chunk of a
// stream.
type geminiResponse struct {
	Candidates []struct {
		Content *struct {
			Parts []struct {
				Text    string `json:"text"`
				Thought bool   `json:"thought"`
			} `json:"parts"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
	} `json:"candidates"`
	UsageMetadata *struct {
		PromptTokenCount        int `json:"promptTokenCount"`
		CandidatesTokenCount    int `json:"candidatesTokenCount"`
		CachedContentTokenCount int `json:"cachedContentTokenCount"`
		ThoughtsTokenCount      int `json:"thoughtsTokenCount"`
	} `json:"usageMetadata"`
	ModelVersion   string `json:"modelVersion"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
}

// read adds the first candidate's text (thoughts left out) and finish
// reason to resp, and the usage. promptTokenCount includes the cached
// tokens; the thoughts' tokens are billed as output, so they count as
// completion tokens.
func (v *geminiResponse) read(resp *registry.LLMResponse) (text string, err error) {
	if len(v.Candidates) == 0 && v.PromptFeedback != nil && v.PromptFeedback.BlockReason != "" {
		return "", &registry.ProviderError{Class: registry.ClassBadRequest, Message: "prompt blocked: " + v.PromptFeedback.BlockReason}
	}
	if v.ModelVersion != "" {
		resp.Model = v.ModelVersion
	}
	if u := v.UsageMetadata; u != nil {
		resp.Usage = registry.Usage{
			PromptTokens:     u.PromptTokenCount,
			CompletionTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount,
			CachedTokens:     u.CachedContentTokenCount,
		}
	}
	if len(v.Candidates) == 0 {
		return "", nil
	}
	c := v.Candidates[0]
	if c.FinishReason != "" {
		resp.FinishReason = c.FinishReason
	}
	if c.Content != nil {
		var b strings.Builder
		for _, p := range c.Content.Parts {
			if !p.Thought {
				b.WriteString(p.Text)
			}
		}
		text = b.String()
	}
	return text, nil
}

func (gemini) decode(body []byte) (*registry.LLMResponse, error) {
	var v geminiResponse
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("malformed answer: %v", err)
	}
	if len(v.Candidates) == 0 && (v.PromptFeedback == nil || v.PromptFeedback.BlockReason == "") {
		return nil, errors.New("an answer without candidates")
	}
	resp := &registry.LLMResponse{}
	text, err := v.read(resp)
	if err != nil {
		return nil, err
	}
	resp.Text = text
	return resp, nil
}

func (gemini) stream(registry.LLMRequest) streamDecoder { return &geminiStream{} }

// geminiStream reads `data: {GenerateContentResponse}` chunks. There is no
// terminal event: the answer is whole when a chunk gave a finishReason.
type geminiStream struct {
	resp registry.LLMResponse
	text strings.Builder
}

func (s *geminiStream) event(ev event) (string, bool, error) {
	var v geminiResponse
	if err := json.Unmarshal(ev.data, &v); err != nil {
		return "", false, fmt.Errorf("malformed stream event: %v", err)
	}
	delta, err := v.read(&s.resp)
	if err != nil {
		return "", false, err
	}
	s.text.WriteString(delta)
	return delta, false, nil
}

func (s *geminiStream) finish() (*registry.LLMResponse, error) {
	if s.resp.FinishReason == "" {
		return nil, errors.New("the stream ended before a finishReason")
	}
	s.resp.Text = s.text.String()
	return &s.resp, nil
}
