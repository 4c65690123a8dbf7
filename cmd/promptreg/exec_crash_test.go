package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/fakellm"
	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

// serveHelperEnv carries, to the helper process, the serve arguments
// separated by newlines.
const serveHelperEnv = "PROMPTREG_SERVE_HELPER"

// crashAdminKey is the admin key of the server the crash test runs.
const crashAdminKey = "crash-test-admin-key"

// TestServeHelperProcess is the server TestKilledDuringExecutions kills: it
// serves until it is killed, printing its address.
func TestServeHelperProcess(t *testing.T) {
	args := os.Getenv(serveHelperEnv)
	if args == "" {
		t.Skip("run by TestKilledDuringExecutions")
	}
	m := &Serve{Stderr: os.Stderr}
	if err := m.ParseFlags(strings.Split(args, "\n"), os.Getenv); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("LISTENING %s\n", m.ListenAddr())
	select {} // until killed
}

// startHelper starts the server process and returns it with its address.
func startHelper(t *testing.T, env []string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeHelperProcess$")
	cmd.Env = append(append(os.Environ(), env...), serveHelperEnv+"="+strings.Join(args, "\n"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "LISTENING "); ok {
			go func() {
				for sc.Scan() {
				}
			}()
			return cmd, addr
		}
	}
	t.Fatalf("the server did not start:\n%s", stderr.String())
	return nil, ""
}

// TestKilledDuringExecutions submits 200 async executions, kills the server
// with SIGKILL in the middle of the burst, restarts it, and checks that
// every execution it accepted ends in exactly one terminal state, the
// provider having seen each at most twice.
func TestKilledDuringExecutions(t *testing.T) {
	if os.Getenv(serveHelperEnv) != "" {
		return
	}
	repo := gittest.New(t)
	repo.Write("greet.prompt", "---\nmodel: {provider: openai, name: gpt-4o-mini}\n---\nHello {{ n }}")
	repo.Commit("seed")
	provider := fakellm.New(t, fakellm.OpenAI, fakellm.Reply{Text: "ok", Delay: 20 * time.Millisecond})
	env := []string{"OPENAI_BASE_URL=" + provider.BaseURL(), "OPENAI_API_KEY=sk-test", "PROMPTREG_ADMIN_KEY=" + crashAdminKey}
	args := []string{"--repo", repo.Path(), "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--poll", "0", "--exec-workers", "4", "--log-level", "error", "--public-metrics"}

	cmd, addr := startHelper(t, env, args...)
	waitReady(t, addr)

	var (
		mu       sync.Mutex
		accepted []string
		killed   sync.Once
		wg       sync.WaitGroup
	)
	client := &http.Client{Timeout: 5 * time.Second}
	jobs := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				body := fmt.Sprintf(`{"variables":{"n":%d},"mode":"async"}`, i)
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/v1/prompts/greet/execute", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+crashAdminKey)
				res, err := client.Do(req)
				if err != nil {
					continue // the server is gone: not accepted
				}
				var v struct{ ID string }
				json.NewDecoder(res.Body).Decode(&v)
				res.Body.Close()
				if res.StatusCode != http.StatusAccepted {
					continue
				}
				mu.Lock()
				accepted = append(accepted, v.ID)
				n := len(accepted)
				mu.Unlock()
				if n == 100 {
					killed.Do(func() { cmd.Process.Signal(syscall.SIGKILL) })
				}
			}
		}()
	}
	for i := 0; i < 200; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	cmd.Wait()
	if len(accepted) < 100 {
		t.Fatalf("only %d executions accepted before the kill", len(accepted))
	}
	before := len(provider.Requests())

	_, addr = startHelper(t, env, args...)
	waitReady(t, addr)
	finished := map[string]string{}
	deadline := time.Now().Add(60 * time.Second)
	for len(finished) < len(accepted) && time.Now().Before(deadline) {
		for _, id := range accepted {
			if _, ok := finished[id]; ok {
				continue
			}
			var v registry.Execution
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/executions/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+crashAdminKey)
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != http.StatusOK {
				t.Fatalf("accepted execution %s: %d after the restart", id, res.StatusCode)
			}
			json.NewDecoder(res.Body).Decode(&v)
			res.Body.Close()
			if registry.Terminal(v.Status) {
				finished[id] = v.Status
				if v.Attempts > 2 {
					t.Errorf("%s started %d times", id, v.Attempts)
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(finished) != len(accepted) {
		t.Fatalf("%d of %d accepted executions did not finish after the restart", len(accepted)-len(finished), len(accepted))
	}
	seen := map[string]int{}
	for _, r := range provider.Requests() {
		msgs, _ := r.Body["messages"].([]any)
		seen[fmt.Sprint(msgs)]++
	}
	for m, n := range seen {
		if n > 2 {
			t.Errorf("the provider saw %s %d times", m, n)
		}
	}
	succeeded := 0
	for _, st := range finished {
		if st == registry.StatusSucceeded {
			succeeded++
		}
	}
	t.Logf("%d accepted, %d succeeded, provider calls %d before the kill and %d in all", len(accepted), succeeded, before, len(provider.Requests()))
}

// waitReady waits for /readyz.
func waitReady(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the server did not become ready")
}
