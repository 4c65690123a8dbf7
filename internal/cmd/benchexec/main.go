// Command benchexec measures the ingest of executions over HTTP, in one
// run: POST /v1/executions/ingest with batches of 100 from several clients,
// against the floor of plain batched INSERTs of the same rows into the same
// SQLite file, while GET /v1/prompts/{name} runs under load — its latency
// measured before the ingest and during it.
//
//	go run ./internal/cmd/benchexec -seconds 5
//
// Client and server share the machine's CPUs, so the figures are ratios
// within the run, not absolutes.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite"

	"github.com/promptreg/promptreg/executions"
	"github.com/promptreg/promptreg/gitstore"
	"github.com/promptreg/promptreg/httpapi"
	"github.com/promptreg/promptreg/internal/genrepo"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
	"github.com/promptreg/promptreg/sqlite"
)

const adminKey = "bench-admin-key"

func main() {
	seconds := flag.Float64("seconds", 5, "length of each measured phase")
	clients := flag.Int("clients", 4, "concurrent ingest clients")
	readers := flag.Int("readers", 4, "concurrent GET clients")
	batch := flag.Int("batch", 100, "executions per ingest call")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchexec:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(time.Duration(*seconds*float64(time.Second)), *clients, *readers, *batch); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "benchexec:", err)
		os.Exit(1)
	}
}

// server is the server under test, in this process, on 127.0.0.1.
type server struct {
	base, prompt, dbPath string
	versions             []int
	close                func()
}

func start(ctx context.Context, dir string) (*server, error) {
	repo := filepath.Join(dir, "repo")
	sum, err := genrepo.Generate(ctx, genrepo.Options{Dir: repo, Prompts: 50, Commits: 200, Seed: 1})
	if err != nil {
		return nil, err
	}
	store, err := gitstore.Open(gitstore.Options{URL: repo, Dir: filepath.Join(dir, "data")})
	if err != nil {
		return nil, err
	}
	dbPath := filepath.Join(dir, "data", "promptreg.db")
	db, err := sqlite.Open(ctx, sqlite.Options{Path: dbPath})
	if err != nil {
		return nil, err
	}
	keeper := snapshots.New(snapshots.Options{Source: store, Parser: render.NewParser(), History: db, Git: store})
	if err := keeper.Sync(ctx); err != nil {
		return nil, err
	}
	svc := executions.New(executions.Options{Renderer: render.NewRenderer(render.Options{}), Store: db})
	srv := httpapi.New(httpapi.Options{Snapshots: keeper, History: keeper.History(), AdminKey: adminKey, PublicRead: true,
		Executions: svc, ExecutionStore: db, Logger: slog.New(slog.DiscardHandler)})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		return nil, err
	}
	vs, err := keeper.History().Versions(ctx, sum.Busiest)
	if err != nil {
		return nil, err
	}
	s := &server{base: "http://" + srv.Addr(), prompt: sum.Busiest, dbPath: dbPath}
	for _, v := range vs {
		s.versions = append(s.versions, v.Version.Version)
	}
	s.close = func() {
		srv.Shutdown(context.Background())
		keeper.Close()
		db.Close()
		store.Close()
	}
	return s, nil
}

func run(d time.Duration, clients, readers, batch int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "benchexec")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	s, err := start(ctx, dir)
	if err != nil {
		return err
	}
	defer s.close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients + readers}}

	// 1. GET alone.
	idle := s.reads(hc, readers, d, nil)
	// 2. Ingest over HTTP, GET running beside it.
	var ingested atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var ingestErr atomic.Value
	t0 := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			body := s.ingestBody(c, batch)
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, s.base+"/v1/executions/ingest", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+adminKey)
				res, err := hc.Do(req)
				if err != nil {
					ingestErr.Store(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					ingestErr.Store(fmt.Errorf("ingest: status %d", res.StatusCode))
					return
				}
				ingested.Add(int64(batch))
			}
		}(c)
	}
	loaded := s.reads(hc, readers, d, stop)
	wg.Wait()
	httpRate := float64(ingested.Load()) / time.Since(t0).Seconds()
	if err, ok := ingestErr.Load().(error); ok {
		return err
	}
	// 3. The floor: plain batched INSERTs of as many rows, same file.
	floorRate, err := s.floor(ctx, int(ingested.Load()), batch)
	if err != nil {
		return err
	}

	fmt.Printf("ingest over HTTP (%d clients, batches of %d): %8.0f executions/s\n", clients, batch, httpRate)
	fmt.Printf("plain batched INSERTs, same file and rows:      %8.0f rows/s\n", floorRate)
	fmt.Printf("ingest vs floor: %.2fx (target >= 0.5x and >= 20,000/s)\n", httpRate/floorRate)
	fmt.Printf("GET /v1/prompts/%s (%d clients): idle p50 %.2f ms p99 %.2f ms (%d requests); during ingest p50 %.2f ms p99 %.2f ms (%d requests; target p99 < 5 ms)\n",
		s.prompt, readers, idle.p(50), idle.p(99), len(idle.ms), loaded.p(50), loaded.p(99), len(loaded.ms))
	return nil
}

// ingestBody is a batch of executions of the busiest prompt's versions,
// as an application reports them.
func (s *server) ingestBody(client, n int) []byte {
	items := make([]executions.IngestItem, n)
	out := make([]byte, 600)
	for i := range out {
		out[i] = 'a' + byte(i%26)
	}
	for i := range items {
		items[i] = executions.IngestItem{PromptName: s.prompt, Version: s.versions[(client+i)%len(s.versions)],
			Provider: "openai", Model: "gpt-4o-mini", Input: "rendered input " + string(out[:400]), Output: string(out),
			PromptTokens: 400 + i, CompletionTokens: 120, LatencyMS: int64(300 + i*7%900), Environment: "production",
			Metadata: map[string]any{"client": client}}
	}
	b, _ := json.Marshal(map[string]any{"executions": items})
	return b
}

// latencies are request latencies in milliseconds.
type latencies struct{ ms []float64 }

func (l latencies) p(q float64) float64 {
	if len(l.ms) == 0 {
		return 0
	}
	s := slices.Clone(l.ms)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*q/100))]
}

// reads runs GET /v1/prompts/{prompt} from n clients for d (then closes
// stop, if given) and returns the latencies.
func (s *server) reads(hc *http.Client, n int, d time.Duration, stop chan struct{}) latencies {
	var mu sync.Mutex
	var all latencies
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []float64
			for time.Now().Before(end) {
				t := time.Now()
				res, err := hc.Get(s.base + "/v1/prompts/" + s.prompt)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				mine = append(mine, float64(time.Since(t).Microseconds())/1000)
			}
			mu.Lock()
			all.ms = append(all.ms, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	time.Sleep(time.Until(end)) // with no readers, the phase still lasts d
	if stop != nil {
		close(stop)
	}
	return all
}

// floor inserts rows rows the plain way — one single-row INSERT, prepared
// once per transaction, a transaction per batch — into the executions
// table of the same file, and returns rows per second.
func (s *server) floor(ctx context.Context, rows, batch int) (float64, error) {
	// The store's own settings (sqlite/store.go), so the floor differs
	// from the store only by how it inserts.
	db, err := sql.Open("sqlite", "file:"+s.dbPath+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(4000)&_txlock=immediate")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	out := make([]byte, 600)
	for i := range out {
		out[i] = 'a' + byte(i%26)
	}
	now := time.Now().UTC().Format(time.RFC3339Nano)
	start := time.Now()
	for done := 0; done < rows; done += batch {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO executions
(id, status, mode, origin, prompt_name, version, environment, provider, model, created_at, started_at, finished_at,
 attempts, latency_ms, prompt_tokens, completion_tokens, cached_tokens, cost_usd, error_class, checksum, commit_sha,
 input_hash, correlation_id, key_id, error, metadata, input, output)
VALUES (?, 'succeeded', 'git', 'ingest', ?, ?, 'production', 'openai', 'gpt-4o-mini', ?, ?, ?, 1, ?, ?, 120, 0, 0.0001, '', ?, ?, ?, '', 'admin', '', '{"client":0}', ?, ?)`)
		if err != nil {
			tx.Rollback()
			return 0, err
		}
		for i := 0; i < batch; i++ {
			n := done + i
			if _, err := stmt.ExecContext(ctx, executions.NewID(time.Now()), s.prompt, s.versions[n%len(s.versions)], now, now, now,
				300+n*7%900, 400+i, registry.Checksum([]byte{byte(n)}), "0123456789abcdef0123456789abcdef01234567",
				registry.Checksum(out[:400]), "rendered input "+string(out[:400]), string(out)); err != nil {
				tx.Rollback()
				return 0, err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return 0, err
		}
	}
	return float64(rows) / time.Since(start).Seconds(), nil
}
