package llm

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// How a prompt's params reach each provider:
//
//	param              openai                   anthropic        gemini (generationConfig)
//	temperature        temperature              temperature      temperature
//	top_p              top_p                    top_p            topP
//	top_k              (passed as is)           top_k            topK
//	max_tokens         max_tokens ¹             max_tokens ²     maxOutputTokens
//	stop (str | list)  stop                     stop_sequences   stopSequences
//	seed               seed                     —                seed
//	presence_penalty   presence_penalty         —                presencePenalty
//	frequency_penalty  frequency_penalty        —                frequencyPenalty
//	any other key      passed as is             dropped ³        dropped ³
//
// ¹ max_completion_tokens when the base URL is OpenAI's own (its reasoning
// models refuse max_tokens, and every OpenAI model takes the new name);
// compatible servers get max_tokens.
// ² The Messages API requires it: DefaultAnthropicMaxTokens when params
// lack it.
// ³ Logged at debug level: a prompt written for one provider may fall back
// to another, and a key the other does not know must not fail the call.
// Anthropic's own names (stop_sequences, metadata, thinking, service_tier)
// and Gemini's generationConfig names (topK, candidateCount, thinkingConfig…
// see geminiConfigKeys) pass as is.

// DefaultAnthropicMaxTokens is the max_tokens sent to Anthropic when the
// prompt's params set none.
const DefaultAnthropicMaxTokens = 1024

// number returns v as a float64 if it is a JSON or Go number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// numberParam returns params[key] as a number, false when it is absent.
func numberParam(params map[string]any, key string) (float64, bool, error) {
	v, ok := params[key]
	if !ok || v == nil {
		return 0, false, nil
	}
	f, ok := number(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, fmt.Errorf("param %s: want a number, not %v", key, v)
	}
	return f, true, nil
}

// intParam returns params[key] as a positive integer, false when it is
// absent.
func intParam(params map[string]any, key string) (int, bool, error) {
	f, ok, err := numberParam(params, key)
	if err != nil || !ok {
		return 0, ok, err
	}
	if f < 1 || f != math.Trunc(f) || f > math.MaxInt32 {
		return 0, false, fmt.Errorf("param %s: want a positive integer, not %v", key, params[key])
	}
	return int(f), true, nil
}

// stopParam returns params["stop"] as a list: a string is a list of one.
func stopParam(params map[string]any) ([]string, error) {
	switch v := params["stop"].(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []string:
		return v, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, s := range v {
			str, ok := s.(string)
			if !ok {
				return nil, fmt.Errorf("param stop: want strings, not %v", s)
			}
			out = append(out, str)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("param stop: want a string or a list of strings, not %v", v)
	}
}

// mapParams copies params into dst under the provider's names: known maps
// a param to its name there; pass lists names copied as they are. It
// returns the keys it dropped, sorted.
func mapParams(dst, params map[string]any, known map[string]string, pass map[string]bool) []string {
	var dropped []string
	for k, v := range params {
		switch {
		case known[k] != "":
			dst[known[k]] = v
		case pass[k]:
			dst[k] = v
		case k == "max_tokens" || k == "stop": // handled by the caller
		default:
			dropped = append(dropped, k)
		}
	}
	sort.Strings(dropped)
	return dropped
}
