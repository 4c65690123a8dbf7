// Command benchhistory measures the version history index at scale on a
// generated repository: first index, restart, 100 new commits, RSS, /versions.
//
// Each phase runs in a fresh process so that memory figures are its own;
// GET /v1/prompts/{busiest}/versions is timed over HTTP on 127.0.0.1.
//
//	go run ./internal/cmd/benchhistory -prompts 2000 -commits 10000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/promptreg/promptreg/gitstore"
	"github.com/promptreg/promptreg/httpapi"
	"github.com/promptreg/promptreg/internal/genrepo"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
	"github.com/promptreg/promptreg/sqlite"
)

// result is what one phase reports.
type result struct {
	Phase      string  `json:"phase"`
	Seconds    float64 `json:"seconds"`            // the phase's main measurement
	Append     float64 `json:"append_seconds"`     // restart phase: indexing the appended commits
	Walked     int64   `json:"commits_walked"`     // commits the index diffed
	Commits    int     `json:"commits"`            // commits in the index
	Versions   int     `json:"versions"`           // versions in the index
	Prompts    int     `json:"prompts"`            // prompts served at the head
	PeakRSSMB  float64 `json:"peak_rss_mb"`        // VmHWM
	RSSMB      float64 `json:"rss_mb"`             // VmRSS at the end
	P50ms      float64 `json:"versions_p50_ms"`    // GET …/versions latency
	P99ms      float64 `json:"versions_p99_ms"`    //
	VersionsOf int     `json:"busiest_versions"`   // versions of the busiest prompt
	BodyBytes  int     `json:"versions_body_size"` // size of its first page
}

func main() {
	phase := flag.String("phase", "", "internal: run one phase (first, restart, append)")
	prompts := flag.Int("prompts", 2000, "prompts in the generated repository")
	commits := flag.Int("commits", 10000, "commits in the generated repository")
	appendN := flag.Int("append", 100, "commits appended before the incremental measurement")
	repo := flag.String("repo", "", "repository (generated here if it does not exist; default: a temporary directory)")
	data := flag.String("data", "", "internal: data directory")
	busiest := flag.String("busiest", "", "internal: the busiest prompt")
	requests := flag.Int("requests", 300, "GET …/versions requests to time")
	cpuprofile := flag.String("cpuprofile", "", "with -phase: write a CPU profile of the phase to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	ctx := context.Background()
	var err error
	switch *phase {
	case "":
		err = orchestrate(ctx, *repo, *prompts, *commits, *appendN, *requests)
	case "append":
		// A process of its own, so that the generator's memory is not
		// counted as the server's.
		_, err = genrepo.Append(ctx, *repo, *appendN)
	case "first", "restart":
		var r result
		r, err = runPhase(ctx, *phase, *repo, *data, *busiest, *appendN, *requests)
		if err == nil {
			err = json.NewEncoder(os.Stdout).Encode(r)
		}
	default:
		err = fmt.Errorf("unknown phase %q", *phase)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "benchhistory:", err)
		os.Exit(1)
	}
}

func orchestrate(ctx context.Context, repo string, prompts, commits, appendN, requests int) error {
	tmp, err := os.MkdirTemp("", "benchhistory-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if repo == "" {
		repo = filepath.Join(tmp, "repo")
	}
	var sum genrepo.Summary
	if _, err := os.Stat(filepath.Join(repo, ".git")); err == nil {
		return fmt.Errorf("%s exists: give a path to generate into (the benchmark appends to it)", repo)
	}
	fmt.Fprintf(os.Stderr, "benchhistory: generating %d prompts × %d commits in %s\n", prompts, commits, repo)
	if sum, err = genrepo.Generate(ctx, genrepo.Options{Dir: repo, Prompts: prompts, Commits: commits, Seed: 1}); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchhistory: generated in %s; busiest prompt %s (%d commits)\n", sum.Elapsed.Round(time.Millisecond), sum.Busiest, sum.BusiestTouches)
	data := filepath.Join(tmp, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	first, err := subphase("first", repo, data, sum.Busiest, appendN, requests)
	if err != nil {
		return err
	}
	restart, err := subphase("restart", repo, data, sum.Busiest, appendN, requests)
	if err != nil {
		return err
	}
	fmt.Printf("\nHistory index: P=%d prompts, C=%d commits (%d versions indexed), busiest prompt %s with %d versions\n\n",
		prompts, commits, first.Versions, sum.Busiest, restart.VersionsOf)
	fmt.Printf("%-44s %12s %10s\n", "measurement", "figure", "target")
	fmt.Printf("%-44s %11.2fs %10s\n", "first index (clone, walk, snapshot, ready)", first.Seconds, "<= 15 s")
	fmt.Printf("%-44s %11.2fs %10s\n", "restart to ready on the persisted index", restart.Seconds, "<= 2 s")
	fmt.Printf("%-44s %11.2fs %10s\n", fmt.Sprintf("index %d new commits", appendN), restart.Append, "<= 1 s")
	fmt.Printf("%-44s %10.0fMB %10s\n", "peak RSS, first index", first.PeakRSSMB, "<= 300 MB")
	fmt.Printf("%-44s %10.0fMB %10s\n", "peak RSS, restart + append + serving", restart.PeakRSSMB, "<= 300 MB")
	fmt.Printf("%-44s %9.2fms %10s\n", "GET …/versions of the busiest prompt, p50", restart.P50ms, "")
	fmt.Printf("%-44s %9.2fms %10s\n", "GET …/versions of the busiest prompt, p99", restart.P99ms, "")
	fmt.Printf("\n(restart walked %d commits: the %d appended; a restart itself walks none)\n", restart.Walked, appendN)
	return nil
}

// subphase runs one phase in a fresh process of this program.
func subphase(phase, repo, data, busiest string, appendN, requests int) (result, error) {
	cmd := exec.Command(os.Args[0], "-phase", phase, "-repo", repo, "-data", data, "-busiest", busiest,
		"-append", strconv.Itoa(appendN), "-requests", strconv.Itoa(requests))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("phase %s: %w", phase, err)
	}
	var r result
	if err := json.Unmarshal(out, &r); err != nil {
		return result{}, fmt.Errorf("phase %s: %w (%s)", phase, err, out)
	}
	return r, nil
}

func runPhase(ctx context.Context, phase, repo, data, busiest string, appendN, requests int) (result, error) {
	r := result{Phase: phase}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	start := time.Now()
	store, err := gitstore.Open(gitstore.Options{URL: repo, Dir: data, Logger: log})
	if err != nil {
		return r, err
	}
	defer store.Close()
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(data, "promptreg.db")})
	if err != nil {
		return r, err
	}
	defer db.Close()
	reg := snapshots.New(snapshots.Options{Source: store, Parser: render.NewParser(), History: db, Git: store, Logger: log})
	defer reg.Close()
	if err := reg.Sync(ctx); err != nil {
		return r, err
	}
	r.Seconds = time.Since(start).Seconds()
	if phase == "restart" {
		app := exec.Command(os.Args[0], "-phase", "append", "-repo", repo, "-append", strconv.Itoa(appendN))
		app.Stderr = os.Stderr
		if err := app.Run(); err != nil {
			return r, fmt.Errorf("append %d commits: %w", appendN, err)
		}
		start := time.Now()
		if err := reg.Sync(ctx); err != nil {
			return r, err
		}
		r.Append = time.Since(start).Seconds()
		if err := timeVersions(ctx, reg, busiest, requests, &r); err != nil {
			return r, err
		}
	}
	st := reg.IndexStats()
	r.Walked, r.Commits, r.Versions = st.CommitsWalked, st.Commits, st.Versions
	if s := reg.Status(); s.Head != nil {
		r.Prompts = s.Head.Prompts
	}
	r.PeakRSSMB, r.RSSMB = memory()
	return r, nil
}

// timeVersions serves the API on 127.0.0.1 and times sequential GETs of the
// busiest prompt's versions.
func timeVersions(ctx context.Context, reg *snapshots.Keeper, name string, n int, r *result) error {
	srv := httpapi.New(httpapi.Options{Snapshots: reg, History: reg.History()})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		return err
	}
	defer srv.Shutdown(ctx)
	url := "http://" + srv.Addr() + "/v1/prompts/" + name + "/versions"
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n+20; i++ {
		t := time.Now()
		res, err := client.Get(url)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != 200 {
			return fmt.Errorf("GET %s: %d %v", url, res.StatusCode, err)
		}
		if i < 20 {
			if i == 0 {
				var page struct {
					Total int `json:"total"`
				}
				json.Unmarshal(b, &page)
				r.VersionsOf, r.BodyBytes = page.Total, len(b)
			}
			continue // warm-up
		}
		lat = append(lat, time.Since(t))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r.P50ms = float64(lat[len(lat)/2].Microseconds()) / 1000
	r.P99ms = float64(lat[len(lat)*99/100].Microseconds()) / 1000
	return nil
}

// memory returns the peak and current resident set size, in MB.
func memory() (peak, now float64) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmHWM:":
			peak = kb / 1024
		case "VmRSS:":
			now = kb / 1024
		}
	}
	return peak, now
}
