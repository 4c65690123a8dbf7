package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promptreg/promptreg/httpapi"
	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
)

// hangingRemote holds, once hang is set, every fetch of objects (POST
// git-upload-pack) until its client gives up or the test ends, while listing
// refs still answers: a remote that advertises a ref and then never sends it.
type hangingRemote struct {
	hang    atomic.Bool
	holding atomic.Int32
	done    chan struct{}
}

func (h *hangingRemote) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.hang.Load() || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		io.Copy(io.Discard, r.Body) // the server sees a client leave only after the body
		h.holding.Add(1)
		defer h.holding.Add(-1)
		select {
		case <-r.Context().Done():
		case <-h.done:
		}
	})
}

// TestUnknownRefsAgainstAHangingRemote: requests for refs the clone lacks,
// against a remote that hangs, neither slow down reads of served prompts
// nor hold back a sync.
func TestUnknownRefsAgainstAHangingRemote(t *testing.T) {
	repo := gittest.New(t)
	repo.Write("a.prompt", "hello {{ name }}")
	base := repo.Commit("first")
	const lookups = 50
	// Each pull request ref points at a commit of its own that the clone
	// does not have, so looking it up means a transfer.
	tree := repo.Git("rev-parse", base+"^{tree}")
	for i := range lookups {
		sha := repo.Git("commit-tree", "-p", base, "-m", fmt.Sprintf("pull %d", i), tree)
		repo.Git("update-ref", fmt.Sprintf("refs/pull/%d/head", i), sha)
	}
	remote := &hangingRemote{done: make(chan struct{})}
	remoteURL := repo.Serve(remote.wrap)
	t.Cleanup(func() { close(remote.done) }) // before the server closes

	store, db := openStores(t, remoteURL)
	keeper := snapshots.New(snapshots.Options{Source: store, Parser: render.Parser{}, History: db, Git: store,
		FetchUnknownRefs: true, FetchTimeout: 30 * time.Second})
	t.Cleanup(keeper.Close)
	if err := keeper.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httpapi.New(httpapi.Options{Snapshots: keeper, History: keeper.History()})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	url := "http://" + srv.Addr()
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}}

	p99 := func() time.Duration {
		const n = 300
		lat := make([]time.Duration, 0, n)
		for range n {
			start := time.Now()
			res, err := client.Get(url + "/v1/prompts/a")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET /v1/prompts/a = %d", res.StatusCode)
			}
			lat = append(lat, time.Since(start))
		}
		slices.Sort(lat)
		return lat[n*99/100]
	}
	unloaded := p99()

	remote.hang.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var answered atomic.Int32
	statuses := make([]int, lookups)
	for i := range lookups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/v1/prompts/a?ref=refs/pull/%d/head", url, i), nil)
			res, err := client.Do(req)
			if err != nil {
				return // given up: the test ended it
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			statuses[i] = res.StatusCode
			answered.Add(1)
		}()
	}
	// Wait until the remote holds as many fetches as may run at once (the
	// lookups are in the network transfer, where the old code held the
	// store's lock) and every other request was answered (503: too many
	// lookups), so that what is measured next is the hanging state alone.
	held := int32(snapshots.DefaultRemoteLookups)
	for deadline := time.Now().Add(30 * time.Second); remote.holding.Load() < held || answered.Load() < lookups-held; {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s the remote holds %d fetches and %d requests were answered; want %d and %d", remote.holding.Load(), answered.Load(), held, lookups-held)
		}
		time.Sleep(5 * time.Millisecond)
	}

	// A stall would show in every sample: take the best of three, so that
	// a burst of noise on a shared machine does not fail the test.
	loaded := min(p99(), p99(), p99())
	syncDone := make(chan error, 1)
	go func() {
		sctx, scancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer scancel()
		syncDone <- keeper.Sync(sctx)
	}()
	select {
	case err := <-syncDone:
		if err != nil {
			t.Errorf("sync during the hanging lookups: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("a sync did not complete while lookups of unknown refs hang")
	}
	cancel()
	wg.Wait()

	// The bound is 2x the unloaded p99; a millisecond of slack absorbs the
	// scheduling noise of a shared 2-core machine under -race, far below
	// what waiting on a lock held across a network transfer costs (the
	// fetch timeout).
	if limit := 2*unloaded + time.Millisecond; loaded > limit {
		t.Errorf("GET p99 with %d hanging lookups = %v, unloaded %v: over %v", lookups, loaded, unloaded, limit)
	}
	t.Logf("GET p99 unloaded %v, with %d hanging lookups %v; holding %d fetches", unloaded, lookups, loaded, remote.holding.Load())
	for i, code := range statuses {
		if code != 0 && code != http.StatusServiceUnavailable && code != http.StatusGatewayTimeout {
			t.Errorf("lookup %d answered %d, want 503 (too many lookups) or no answer before the client gave up", i, code)
		}
	}
}
