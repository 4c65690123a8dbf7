package gitstore

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

// prompt is how long an answer that should come at once may take before a
// test fails: generous, for a loaded machine under -race; tests never wait
// for it to pass, only to fail.
const prompt = 20 * time.Second

// holdPacks wraps a Git HTTP handler: while armed, a request for a pack
// (POST .../git-upload-pack) is announced on arrived and held, unanswered,
// until its client gives up or the test ends.
type holdPacks struct {
	mu      sync.Mutex
	armed   bool
	arrived chan struct{}
	release chan struct{} // closed when the test ends
}

func (h *holdPacks) arm() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed, h.arrived = true, make(chan struct{})
	return h.arrived
}

func (h *holdPacks) disarm() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.armed = false
}

func (h *holdPacks) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		hold, arrived := h.armed && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"), h.arrived
		if hold {
			h.armed = false // one request
		}
		h.mu.Unlock()
		if !hold {
			next.ServeHTTP(w, r)
			return
		}
		close(arrived)
		// The server notices a client that hung up only once the
		// request's body has been read.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-h.release:
		}
	})
}

// within runs f, which may only call t.Error and t.Errorf, and fails the
// test if it has not returned within prompt; then it calls unblock, which
// must make f return, and waits for it.
func within(t *testing.T, what string, f, unblock func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(prompt):
		t.Errorf("%s did not return within %v", what, prompt)
		unblock()
		<-done
		t.FailNow()
	}
}

// TestTransfersHoldNoLock fetches from an HTTP remote that lists its refs
// and then never sends the pack: readers must not wait for the fetch (nor
// for a FetchRef), the other kind of fetch waits for it but honours its
// context, and cancelling its context ends it.
func TestTransfersHoldNoLock(t *testing.T) {
	t.Parallel()
	type ops struct {
		run, other func(context.Context) error
		after      func(t *testing.T) // checks what the transfer brought
	}
	for name, setup := range map[string]func(t *testing.T, r *gittest.Repo, s *Store) ops{
		"FetchRef": func(t *testing.T, r *gittest.Repo, s *Store) ops {
			r.Git("checkout", "-q", "-b", "pr")
			r.Write("prompts/a.prompt", "from the pull request")
			pr := r.Commit("pr")
			r.Git("checkout", "-q", "main")
			r.DeleteBranch("pr")
			r.Git("update-ref", "refs/pull/1/head", pr)
			fetchRef := func(ctx context.Context) error {
				got, err := s.FetchRef(ctx, "refs/pull/1/head")
				if err == nil && got != pr {
					err = fmt.Errorf("FetchRef = %s, want %s", got, pr)
				}
				return err
			}
			return ops{run: fetchRef, other: s.Fetch, after: func(t *testing.T) {
				if data, err := s.ReadFile(context.Background(), pr, "prompts/a.prompt"); err != nil || string(data) != "from the pull request" {
					t.Errorf("ReadFile(pr) = %q, %v", data, err)
				}
			}}
		},
		"Fetch": func(t *testing.T, r *gittest.Repo, s *Store) ops {
			r.Write("prompts/a.prompt", "2")
			c2 := r.Commit("c2")
			r.Git("update-ref", "refs/pull/1/head", c2)
			fetchRef := func(ctx context.Context) error {
				_, err := s.FetchRef(ctx, "refs/pull/1/head")
				return err
			}
			return ops{run: s.Fetch, other: fetchRef, after: func(t *testing.T) {
				if got := refs(t, s)["refs/heads/main"]; got != c2 {
					t.Errorf("main = %s, want %s", got, c2)
				}
			}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := gittest.New(t)
			r.Write("prompts/a.prompt", "1")
			c1 := r.Commit("c1")
			hold := &holdPacks{release: make(chan struct{})}
			url := r.Serve(hold.wrap)
			t.Cleanup(func() { close(hold.release) }) // before the server closes
			s := openStore(t, url)
			fetch(t, s)
			op := setup(t, r, s)

			arrived := hold.arm()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- op.run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })
			select {
			case <-arrived:
			case err := <-done:
				t.Fatalf("%s = %v before asking for the pack", name, err)
			case <-time.After(prompt):
				t.Fatalf("%s did not ask for the pack", name)
			}

			t.Run("reads answer while it waits for the pack", func(t *testing.T) {
				rctx, rcancel := context.WithTimeout(context.Background(), prompt)
				defer rcancel()
				within(t, "reads", func() {
					if got, err := s.Refs(rctx); err != nil || got["refs/heads/main"] != c1 {
						t.Errorf("Refs = %v, %v; want main at %s", got, err, c1)
					}
					if data, err := s.ReadFile(rctx, c1, "prompts/a.prompt"); err != nil || string(data) != "1" {
						t.Errorf("ReadFile = %q, %v", data, err)
					}
					if _, err := s.Commit(rctx, c1); err != nil {
						t.Errorf("Commit: %v", err)
					}
					if _, _, err := s.FirstParents(rctx, c1, nil); err != nil {
						t.Errorf("FirstParents: %v", err)
					}
					if err := s.Keep(rctx, c1); err != nil {
						t.Errorf("Keep: %v", err)
					}
				}, cancel)
			})

			t.Run("the other fetch does not wait for it", func(t *testing.T) {
				// Only the first pack request is held: the other fetch
				// completes unless it waits for the hanging one.
				octx, ocancel := context.WithTimeout(context.Background(), prompt)
				defer ocancel()
				within(t, "the other fetch", func() {
					if err := op.other(octx); err != nil {
						t.Errorf("the other fetch while %s hangs = %v, want it done", name, err)
					}
				}, cancel)
			})

			t.Run("cancelling its context ends it with ETIMEOUT", func(t *testing.T) {
				cancel()
				select {
				case err := <-done:
					done <- err // for the cleanup
					wantCode(t, err, registry.ETIMEOUT)
				case <-time.After(prompt):
					t.Fatal(name, "did not end within", prompt, "of its context's end")
				}
				if tmps, _ := filepath.Glob(filepath.Join(s.Path(), "objects", "pack", "tmp_*")); len(tmps) != 0 {
					t.Errorf("left %v", tmps)
				}
				if got := refs(t, s)["refs/heads/main"]; got != c1 {
					t.Errorf("main = %s, want %s still", got, c1)
				}
			})

			t.Run("the next one succeeds", func(t *testing.T) {
				hold.disarm()
				if err := op.run(context.Background()); err != nil {
					t.Fatal(err)
				}
				op.after(t)
			})
		})
	}
}

// TestFetchRefSilentRemote fetches from a remote that accepts connections
// and never answers: cancelling the context ends FetchRef, and readers do
// not wait meanwhile.
func TestFetchRefSilentRemote(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	accepted := make(chan struct{}, 16)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
			accepted <- struct{}{}
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	s := openStore(t, "http://"+ln.Addr().String()+"/org/prompts.git")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := s.FetchRef(ctx, "refs/pull/1/head")
		done <- err
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-accepted:
	case err := <-done:
		t.Fatalf("FetchRef = %v before connecting", err)
	case <-time.After(prompt):
		t.Fatal("FetchRef did not connect")
	}
	within(t, "Refs", func() {
		if got, err := s.Refs(context.Background()); err != nil || len(got) != 0 {
			t.Errorf("Refs = %v, %v; want none", got, err)
		}
	}, cancel)
	cancel()
	select {
	case err := <-done:
		done <- err
		wantCode(t, err, registry.ETIMEOUT)
	case <-time.After(prompt):
		t.Fatal("FetchRef did not end within", prompt, "of its context's end")
	}
}
