package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/promptreg/promptreg/internal/fakellm"
	"github.com/promptreg/promptreg/internal/gittest"
)

// lockedBuffer is a log sink safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretsStaySecret runs the server with every kind of secret set — a
// Git token, an SSH key file, a webhook secret, the admin key, a stored API
// key, a provider key — drives requests that succeed and fail with each,
// and checks that none of them appears in the logs (debug level), in any
// answer, in /v1/status or in /metrics.
func TestSecretsStaySecret(t *testing.T) {
	const (
		gitToken      = "ghp_gittoken0123456789secret"
		webhookSecret = "whsec_webhook0123456789secret"
		admin         = "adm_admin0123456789secret"
		providerKey   = "sk-provider0123456789secret"
		sshKey        = "-----BEGIN OPENSSH PRIVATE KEY-----\nsshkey0123456789secret\n-----END OPENSSH PRIVATE KEY-----\n"
	)
	repo := gittest.New(t)
	repo.Write("greet.prompt", "---\nmodel: {provider: openai, name: gpt-4o-mini}\n---\nHello {{ name }}")
	repo.Commit("seed")
	// The Git host wants the token as the basic-auth password.
	url := repo.Serve(func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if _, pw, ok := r.BasicAuth(); !ok || pw != gitToken {
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	provider := fakellm.New(t, fakellm.OpenAI, fakellm.Reply{Text: "hi"})
	provider.RequireKey("sk-some-other-key") // answers 401 echoing the key it got
	sshPath := filepath.Join(t.TempDir(), "id_ed25519")
	os.WriteFile(sshPath, []byte(sshKey), 0o600)

	var logs lockedBuffer
	m := &Serve{Stderr: &logs}
	env := map[string]string{"OPENAI_API_KEY": providerKey, "OPENAI_BASE_URL": provider.BaseURL()}
	args := []string{"--repo", url, "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--poll", "0", "--log-level", "debug",
		"--git-token", gitToken, "--git-ssh-key", sshPath, "--webhook-secret", webhookSecret, "--admin-key", admin}
	if err := m.ParseFlags(args, getenvFrom(env)); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Keeper().Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + m.ListenAddr()
	var answers strings.Builder
	call := func(method, path, key, body string, headers ...string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		answers.WriteString(res.Status + "\n")
		for k, vs := range res.Header {
			answers.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
		}
		answers.Write(b)
		return res.StatusCode
	}

	// A stored key, used right and wrong.
	if code := call(http.MethodPost, "/v1/admin/keys", admin, `{"name":"app","scopes":["*"]}`); code != http.StatusCreated {
		t.Fatalf("create key: %d", code)
	}
	created := answers.String()
	storedKey := created[strings.Index(created, `"key":"`)+7:]
	storedKey = storedKey[:strings.IndexByte(storedKey, '"')]
	answers.Reset() // the one answer that shows a key, by design
	call(http.MethodGet, "/v1/prompts/greet", storedKey, "")
	call(http.MethodGet, "/v1/prompts/greet", storedKey+"x", "")
	call(http.MethodGet, "/v1/prompts/greet", admin+"x", "")
	call(http.MethodGet, "/v1/admin/keys", admin, "")
	// The provider refuses the key, echoing it; then the execution is listed.
	call(http.MethodPost, "/v1/prompts/greet/execute", storedKey, `{"variables":{"name":"x"}}`)
	call(http.MethodGet, "/v1/executions", storedKey, "")
	// Webhooks: a bad signature, and a good one.
	call(http.MethodPost, "/v1/hooks/git", "", `{"ref":"refs/heads/main"}`, "X-Hub-Signature-256", "sha256=00", "X-GitHub-Event", "push")
	call(http.MethodPost, "/v1/admin/sync", admin, "")
	call(http.MethodGet, "/v1/status", admin, "")
	call(http.MethodGet, "/metrics", admin, "")
	call(http.MethodGet, "/v1/prompts/greet?ref=nope-not-there", admin, "")

	m.Close() // flushes the last log lines
	logged := logs.String()
	for name, secret := range map[string]string{"git token": gitToken, "webhook secret": webhookSecret, "admin key": admin,
		"stored API key": storedKey, "provider key": providerKey, "ssh key": "sshkey0123456789secret"} {
		if strings.Contains(logged, secret) {
			t.Errorf("the %s is in the logs", name)
		}
		if strings.Contains(answers.String(), secret) {
			t.Errorf("the %s is in an answer", name)
		}
	}
	// The provider did echo the key back, and it was scrubbed.
	if !strings.Contains(answers.String(), "[redacted]") || !strings.Contains(answers.String(), "401") {
		t.Errorf("the failing requests did not fail as planned:\n%.2000s", answers.String())
	}
}
