package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzGitHook sends arbitrary push webhooks: any body, event and delivery
// id, signed the way one of the providers signs (or not at all, or with a
// signature that does not match). A webhook is never a 5xx; only a valid
// signature is accepted; the answer is JSON; a sync is triggered once per
// accepted push, never for the redelivery that follows it. Seeds:
// testdata/fuzz/FuzzGitHook.
func FuzzGitHook(f *testing.F) {
	e := newEnv(f, secret)
	h := e.srv.Config.Handler
	f.Fuzz(func(t *testing.T, body []byte, event, delivery string, provider uint8, tamper bool) {
		send := func() (int, string) {
			req := httptest.NewRequest(http.MethodPost, "/v1/hooks/git", bytes.NewReader(body))
			sig := sign(body)
			if tamper {
				sig = sign(append(body, 'x'))
			}
			switch provider % 4 {
			case 0:
				req.Header.Set("X-GitHub-Event", event)
				req.Header.Set("X-GitHub-Delivery", delivery)
				req.Header.Set("X-Hub-Signature-256", "sha256="+sig)
			case 1:
				req.Header.Set("X-Gitea-Event", event)
				req.Header.Set("X-Gitea-Delivery", delivery)
				req.Header.Set("X-Gitea-Signature", sig)
			case 2:
				req.Header.Set("X-Gitlab-Event", event)
				req.Header.Set("X-Gitlab-Event-UUID", delivery)
				token := secret
				if tamper {
					token += "x"
				}
				req.Header.Set("X-Gitlab-Token", token)
			case 3: // unsigned
				req.Header.Set("X-GitHub-Event", event)
			}
			rec := httptest.NewRecorder()
			before := e.reg.triggers.Load()
			h.ServeHTTP(rec, req)
			triggered := e.reg.triggers.Load() - before
			var res struct {
				Status string `json:"status"`
				Error  *struct{ Code string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
				t.Fatalf("status %d, body %q is not JSON: %v", rec.Code, rec.Body, err)
			}
			if (rec.Code == http.StatusAccepted && res.Status == "accepted") != (triggered == 1) || triggered > 1 {
				t.Fatalf("status %d %q, %d syncs triggered", rec.Code, res.Status, triggered)
			}
			return rec.Code, res.Status
		}
		code, status := send()
		signed := provider%4 != 3 && !tamper
		switch {
		case !signed:
			if code != http.StatusUnauthorized {
				t.Fatalf("unsigned or badly signed: status %d, want 401", code)
			}
			return
		case code >= 500 || code == http.StatusUnauthorized:
			t.Fatalf("signed webhook: status %d", code)
		}
		push := map[string]bool{"": true, "push": true, "create": true, "delete": true, "tag_push": true, "Push Hook": true, "Tag Push Hook": true}
		switch {
		case event == "ping":
			if code != http.StatusOK || status != "pong" {
				t.Fatalf("ping: %d %q, want 200 pong", code, status)
			}
		case !push[event]:
			if code != http.StatusAccepted || status != "ignored" {
				t.Fatalf("event %q: %d %q, want 202 ignored", event, code, status)
			}
		case delivery != "":
			if code != http.StatusAccepted || (status != "accepted" && status != "duplicate") {
				t.Fatalf("push: %d %q, want 202 accepted", code, status)
			}
			if code, status := send(); code != http.StatusAccepted || status != "duplicate" {
				t.Fatalf("redelivery: %d %q, want 202 duplicate", code, status)
			}
		default:
			if code != http.StatusAccepted || status != "accepted" {
				t.Fatalf("push without a delivery id: %d %q, want 202 accepted", code, status)
			}
		}
	})
}
