package fakellm

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, url string, header map[string]string, body string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func TestListensOnLoopbackAndRecords(t *testing.T) {
	s := New(t, OpenAI, Reply{Status: 429, Header: map[string]string{"Retry-After": "2"}}, Reply{Text: "hi"})
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || s.BaseURL() != s.URL+"/v1" {
		t.Fatalf("got URL %s, base %s", s.URL, s.BaseURL())
	}
	body := `{"model":"m","messages":[{"role":"user","content":"x"}]}`
	if res := post(t, s.BaseURL()+"/chat/completions", nil, body); res.StatusCode != 429 || res.Header.Get("Retry-After") != "2" {
		t.Errorf("got %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	for range 2 { // the last reply repeats
		res := post(t, s.BaseURL()+"/chat/completions", nil, body)
		var v struct {
			Choices []struct {
				Message struct{ Content string }
			}
		}
		json.NewDecoder(res.Body).Decode(&v)
		if res.StatusCode != 200 || len(v.Choices) != 1 || v.Choices[0].Message.Content != "hi" {
			t.Errorf("got %d %+v", res.StatusCode, v)
		}
	}
	reqs := s.Requests()
	if len(reqs) != 3 || reqs[0].Path != "/v1/chat/completions" || reqs[0].Body["model"] != "m" {
		t.Errorf("got %+v", reqs)
	}
}

func TestRefusesWhatTheAPIsRefuse(t *testing.T) {
	a := New(t, Anthropic)
	res := post(t, a.URL+"/v1/messages", map[string]string{"anthropic-version": "2023-06-01"},
		`{"model":"c","messages":[{"role":"system","content":"x"}],"max_tokens":5}`)
	if res.StatusCode != 400 {
		t.Errorf("anthropic with a system message: got %d", res.StatusCode)
	}
	res = post(t, a.URL+"/v1/messages", map[string]string{"anthropic-version": "2023-06-01"}, `{"model":"c","messages":[{"role":"user","content":"x"}]}`)
	if res.StatusCode != 400 {
		t.Errorf("anthropic without max_tokens: got %d", res.StatusCode)
	}
	g := New(t, Gemini)
	g.RequireKey("k")
	res = post(t, g.URL+"/v1beta/models/gemini-2.5-flash:generateContent", map[string]string{"x-goog-api-key": "wrong"}, `{"contents":[{"role":"user","parts":[{"text":"x"}]}]}`)
	var v struct {
		Error struct{ Message, Status string }
	}
	json.NewDecoder(res.Body).Decode(&v)
	if res.StatusCode != 401 || v.Error.Status != "UNAUTHENTICATED" || !strings.Contains(v.Error.Message, "wrong") {
		t.Errorf("gemini with a wrong key: got %d %+v", res.StatusCode, v)
	}
}

func TestStreamsEachWire(t *testing.T) {
	for wire, tc := range map[string]struct{ path, body, last string }{
		OpenAI:    {"/v1/chat/completions", `{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"x"}]}`, "data: [DONE]"},
		Anthropic: {"/v1/messages", `{"model":"m","stream":true,"max_tokens":9,"messages":[{"role":"user","content":"x"}]}`, `data: {"type":"message_stop"}`},
		Gemini:    {"/v1beta/models/m:streamGenerateContent?alt=sse", `{"contents":[{"role":"user","parts":[{"text":"x"}]}]}`, `"finishReason":"STOP"`},
	} {
		t.Run(wire, func(t *testing.T) {
			s := New(t, wire, Reply{Text: "abcdef"})
			res := post(t, s.URL+tc.path, map[string]string{"anthropic-version": "2023-06-01"}, tc.body)
			if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("got Content-Type %q", ct)
			}
			var lines []string
			sc := bufio.NewScanner(res.Body)
			for sc.Scan() {
				if l := strings.TrimSpace(sc.Text()); l != "" {
					lines = append(lines, l)
				}
			}
			if len(lines) == 0 || !strings.Contains(lines[len(lines)-1], tc.last) {
				t.Errorf("got %q, want it to end with %s", lines, tc.last)
			}
		})
	}
}
