package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promptreg/promptreg/httpapi"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
)

// Templates that never finish on their own: each must stop at a render
// limit (time, output, recursion, range) and answer 422.
const (
	loopsForEver    = `{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}{% endfor %}{% endfor %}{% endfor %}`
	recursesForEver = `{% macro a(f) %}{{ f(f) }}{% endmacro %}{{ a(a) }}` // a macro that calls itself directly does not parse
	outputBomb      = `{% for i in range(10000) %}{% for j in range(10000) %}xxxxxxxxxxxxxxxx{% endfor %}{% endfor %}`
)

// nested is JSON nested depth levels deep: {"a":[[[…1…]]]}.
func nested(depth int) string {
	return `{"a":` + strings.Repeat("[", depth) + "1" + strings.Repeat("]", depth) + "}"
}

// manyVariables is an object of n variables with short, distinct names.
func manyVariables(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + strconv.FormatInt(int64(i), 36) + `":0`)
	}
	b.WriteString("}")
	return b.String()
}

// TestHostileRequests sends requests built to hurt: each gets its 4xx and
// the JSON error envelope, and while it is served a normal read, sent again
// and again beside it, keeps answering 200 quickly. The limits they hit:
// names validate (no "..", NUL, "%", backslash; one unescaping), a body limit
// per route (1 MiB for render, 5 MiB for webhooks), JSON nesting (10,000
// for bodies, 1,000 for variables), UTF-8, 10,000 variables, and the render
// limits (1 s, 1 MiB of output, recursion depth, range sizes).
func TestHostileRequests(t *testing.T) {
	e := seeded(t)
	e.commit(map[string]string{
		"hostile/loop.prompt":    loopsForEver,
		"hostile/recurse.prompt": recursesForEver,
		"hostile/bomb.prompt":    outputBomb,
	})
	e.sync()
	normal := e.get("/v1/prompts/support/welcome")
	if normal.status != http.StatusOK {
		t.Fatalf("GET support/welcome: %d %s", normal.status, normal.body)
	}
	variables := func(vars string) func() []byte {
		return func() []byte { return []byte(`{"variables":` + vars + `}`) }
	}
	tests := []struct {
		name         string
		method, path string
		body         func() []byte
		headers      []string
		status       int
		code         string
	}{
		{name: "escaped slash traversal", method: http.MethodGet, path: "/v1/prompts/..%2f..%2fetc%2fpasswd", status: 400, code: registry.EINVALID},
		{name: "escaped dots traversal", method: http.MethodGet, path: "/v1/prompts/%2e%2e%2f%2e%2e%2fetc%2fpasswd", status: 400, code: registry.EINVALID},
		{name: "double-encoded traversal", method: http.MethodGet, path: "/v1/prompts/..%252f..%252fetc%252fpasswd", status: 400, code: registry.EINVALID},
		{name: "plain traversal", method: http.MethodGet, path: "/v1/prompts/support/../../etc/passwd", status: 400, code: registry.EINVALID},
		{name: "backslash traversal", method: http.MethodGet, path: "/v1/prompts/..%5c..%5cetc", status: 400, code: registry.EINVALID},
		{name: "traversal to render", method: http.MethodPost, path: "/v1/prompts/..%2fsupport%2fwelcome/render", body: variables(`{}`), status: 400, code: registry.EINVALID},
		{name: "NUL in the name", method: http.MethodGet, path: "/v1/prompts/support/welcome%00.prompt", status: 400, code: registry.EINVALID},
		{name: "NUL ending the name", method: http.MethodGet, path: "/v1/prompts/summarize%00", status: 400, code: registry.EINVALID},
		{name: "10 MB render body", method: http.MethodPost, path: "/v1/prompts/summarize/render", body: func() []byte { return bytes.Repeat([]byte(" "), 10<<20) }, status: 413, code: registry.ETOOLARGE},
		{name: "10 MB webhook", method: http.MethodPost, path: "/v1/hooks/git", body: func() []byte { return bytes.Repeat([]byte("x"), 10<<20) }, status: 413, code: registry.ETOOLARGE},
		{name: "10 MB playground", method: http.MethodPost, path: "/v1/playground/render", body: func() []byte { return bytes.Repeat([]byte("x"), 10<<20) }, status: 413, code: registry.ETOOLARGE},
		{name: "variables nested 100,000 deep", method: http.MethodPost, path: "/v1/prompts/summarize/render", body: variables(nested(100_000)), status: 400, code: registry.EINVALID},
		{name: "variables nested 5,000 deep", method: http.MethodPost, path: "/v1/prompts/summarize/render", body: variables(nested(5_000)), status: 400, code: registry.EINVALID},
		{name: "invalid UTF-8 in a variable", method: http.MethodPost, path: "/v1/prompts/summarize/render", body: variables("{\"text\":\"\xff\xfe\xfd\"}"), status: 400, code: registry.EINVALID},
		{name: "invalid UTF-8 in a variable's name", method: http.MethodPost, path: "/v1/prompts/summarize/render", body: variables("{\"text\":\"a\",\"\xc3\x28\":1}"), status: 400, code: registry.EINVALID},
		{name: "100,000 variables", method: http.MethodPost, path: "/v1/prompts/summarize/render", body: variables(manyVariables(100_000)), status: 413, code: registry.ETOOLARGE},
		{name: "template that loops for ever", method: http.MethodPost, path: "/v1/prompts/hostile/loop/render", status: 422, code: registry.EUNPROCESSABLE},
		{name: "template that recurses for ever", method: http.MethodPost, path: "/v1/prompts/hostile/recurse/render", status: 422, code: registry.EUNPROCESSABLE},
		{name: "template whose output never ends", method: http.MethodPost, path: "/v1/prompts/hostile/bomb/render", status: 422, code: registry.EUNPROCESSABLE},
		{name: "variable of 50 MB", method: http.MethodPost, path: "/v1/prompts/summarize/render", body: func() []byte {
			return []byte(`{"variables":{"text":"` + strings.Repeat("a", 50<<20) + `"}}`)
		}, status: 413, code: registry.ETOOLARGE},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := &env{t: t, repo: e.repo, reg: e.reg, srv: e.srv}
			var body []byte
			if tc.body != nil {
				body = tc.body()
			}
			slowest := alongside(t, e, normal.body, func() {
				start := time.Now()
				r := e.do(tc.method, tc.path, body, tc.headers...)
				if r.status != tc.status || errorCode(t, r) != tc.code {
					t.Errorf("%d %.300s, want %d %s", r.status, r.body, tc.status, tc.code)
				}
				t.Logf("answered %d in %v", r.status, time.Since(start).Round(time.Millisecond))
			})
			t.Logf("slowest read beside it: %v", slowest.Round(time.Millisecond))
		})
	}
}

// alongside runs hostile while reading support/welcome again and again, and
// returns the slowest of those reads. Each must answer 200 with want, within
// a second.
func alongside(t *testing.T, e *env, want []byte, hostile func()) time.Duration {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	var slowest time.Duration
	var reads int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			start := time.Now()
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/prompts/support/welcome", nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("read beside it: %v", err)
				return
			}
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			elapsed := time.Since(start)
			if err != nil || res.StatusCode != http.StatusOK || !bytes.Equal(b, want) {
				t.Errorf("read beside it: %d %.200s (%v)", res.StatusCode, b, err)
				return
			}
			slowest, reads = max(slowest, elapsed), reads+1
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	hostile()
	close(done)
	wg.Wait()
	if slowest > time.Second {
		t.Errorf("the slowest of %d reads beside it took %v, want under a second", reads, slowest)
	}
	return slowest
}

// TestSlowHeaders: clients that send their headers a byte at a time
// (slow loris) are cut off after the server's ReadHeaderTimeout and do not
// hold up anyone else.
func TestSlowHeaders(t *testing.T) {
	e := seeded(t)
	s := httpapi.New(httpapi.Options{Snapshots: e.reg, History: e.reg.History(), Renderer: render.NewRenderer(render.Options{})})
	if d := httpapi.ReadHeaderTimeout(s); d <= 0 || d > 30*time.Second {
		t.Fatalf("ReadHeaderTimeout = %v, want one of at most 30 s", d)
	}
	const timeout = 500 * time.Millisecond
	httpapi.SetReadHeaderTimeout(s, timeout)
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	const clients = 50
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	cut := make(chan time.Duration, clients)
	for range clients {
		conn, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			// Reading tells when the server hangs up.
			closed := make(chan struct{})
			go func() {
				io.Copy(io.Discard, conn)
				close(closed)
			}()
			req := "GET /v1/prompts/support/welcome HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1000)
			for i := 0; i < len(req); i++ {
				if _, err := conn.Write([]byte{req[i]}); err != nil {
					break
				}
				select {
				case <-closed:
					cut <- time.Since(start)
					return
				case <-ctx.Done():
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
			select {
			case <-closed:
				cut <- time.Since(start)
			case <-ctx.Done():
			}
		}()
	}
	// Meanwhile a normal client is served at once.
	for range 10 {
		start := time.Now()
		res, err := http.Get("http://" + s.Addr() + "/v1/prompts/support/welcome")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || time.Since(start) > time.Second {
			t.Fatalf("a normal read beside slow clients: %d after %v", res.StatusCode, time.Since(start))
		}
	}
	deadline := time.After(timeout + 5*time.Second)
	for range clients {
		select {
		case d := <-cut:
			if d < timeout/2 {
				t.Errorf("a slow client was cut off after %v, long before the timeout of %v", d, timeout)
			}
		case <-deadline:
			t.Fatalf("slow clients still connected %v after the header timeout", 5*time.Second)
		}
	}
	cancel()
	wg.Wait()
}

// TestHugeHeaders: a request whose headers are over the server's limit is
// refused by net/http before any handler (431), and the server goes on.
func TestHugeHeaders(t *testing.T) {
	e := seeded(t)
	s := httpapi.New(httpapi.Options{Snapshots: e.reg, History: e.reg.History()})
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The server answers before it has read it all: write on the side.
	go fmt.Fprintf(conn, "GET /v1/prompts/support/welcome HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("a", 1<<20))
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("status %d, want 431", res.StatusCode)
	}
	res, err = http.Get("http://" + s.Addr() + "/v1/prompts/support/welcome")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("a normal read after it: %d", res.StatusCode)
	}
}
