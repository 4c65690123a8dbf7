package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func testConfig(url string) Config {
	return Config{
		URLs:        []string{url},
		Slice:       20 * time.Millisecond,
		Method:      http.MethodGet,
		Connections: 4,
		Duration:    200 * time.Millisecond,
		Warmup:      50 * time.Millisecond,
		Timeout:     2 * time.Second,
		Header:      http.Header{},
		Expect:      http.StatusOK,
	}
}

func TestRunMeasuresSuccessfulRequests(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte("hello"))
	}))
	defer srv.Close()

	t.Run("200 counts bodies", func(t *testing.T) {
		results, err := Run(context.Background(), testConfig(srv.URL))
		if err != nil {
			t.Fatal(err)
		}
		res := results[0]
		if res.Failure != "" {
			t.Fatalf("Failure = %q, want none", res.Failure)
		}
		if res.Requests == 0 || res.RPS <= 0 {
			t.Fatalf("Requests = %d, RPS = %v, want > 0", res.Requests, res.RPS)
		}
		if got, want := res.BodyBytes, res.Requests*5; got != want {
			t.Errorf("BodyBytes = %d, want %d", got, want)
		}
		if !(res.P50 > 0 && res.P50 <= res.P99 && res.P99 <= res.Max) {
			t.Errorf("quantiles not ordered: p50=%v p99=%v max=%v", res.P50, res.P99, res.Max)
		}
		// Warm-up requests are served and counted by status but not measured.
		if got := uint64(res.Statuses["200"]); got <= res.Requests {
			t.Errorf("statuses[200] = %d, want more than the %d measured (warm-up)", got, res.Requests)
		}
	})

	t.Run("304 with If-None-Match", func(t *testing.T) {
		cfg := testConfig(srv.URL)
		cfg.Header.Set("If-None-Match", `"v1"`)
		cfg.Expect = http.StatusNotModified
		results, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		res := results[0]
		if res.Failure != "" || res.Requests == 0 || res.BodyBytes != 0 {
			t.Fatalf("Failure = %q, Requests = %d, BodyBytes = %d; want none, > 0, 0", res.Failure, res.Requests, res.BodyBytes)
		}
	})

	t.Run("-n bounds the count", func(t *testing.T) {
		cfg := testConfig(srv.URL)
		cfg.Warmup = 0
		cfg.Duration = 10 * time.Second
		cfg.MaxRequests = 40
		start := time.Now()
		results, err := Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res := results[0]; res.Requests != 40 {
			t.Errorf("Requests = %d, want 40", res.Requests)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("took %v, want it to stop after 40 requests", time.Since(start))
		}
	})
}

func TestRunFailsOnUnexpectedStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	defer srv.Close()
	start := time.Now()
	results, err := Run(context.Background(), testConfig(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	res := results[0]
	if !strings.Contains(res.Failure, "got status 404, want 200") {
		t.Errorf("Failure = %q, want it to name the status", res.Failure)
	}
	if res.Unexpected == 0 {
		t.Errorf("Unexpected = 0, want > 0")
	}
	if time.Since(start) > time.Second {
		t.Errorf("took %v, want it to stop at the first unexpected status", time.Since(start))
	}
}

func TestRunFailsOnTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	results, err := Run(context.Background(), testConfig(url))
	if err != nil {
		t.Fatal(err)
	}
	res := results[0]
	if !strings.Contains(res.Failure, "transport error") || res.Errors == 0 {
		t.Errorf("Failure = %q, Errors = %d; want a transport error", res.Failure, res.Errors)
	}
}

func TestRunIsBoundedWhenServerHangs(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select { // body never ends until the test is over
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	cfg := testConfig(srv.URL)
	cfg.Timeout = 300 * time.Millisecond
	start := time.Now()
	results, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := results[0]
	if elapsed := time.Since(start); elapsed > cfg.Warmup+cfg.Duration+cfg.Timeout+time.Second {
		t.Errorf("took %v, want at most warm-up + duration + timeout", elapsed)
	}
	if res.Failure == "" {
		t.Errorf("Failure is empty, want the deadline reported")
	}
}

func TestRunInterleavesURLs(t *testing.T) {
	var hitsA, hitsB atomic.Int64
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hitsA.Add(1)
		w.Write([]byte("a"))
	}))
	defer a.Close()
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hitsB.Add(1)
		w.Write([]byte("bb"))
	}))
	defer b.Close()
	cfg := testConfig(a.URL)
	cfg.URLs = append(cfg.URLs, b.URL)
	cfg.Duration = 400 * time.Millisecond
	results, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("got %d results, want 2", len(results))
	}
	for i, res := range results {
		if res.URL != cfg.URLs[i] {
			t.Errorf("results[%d].URL = %q, want %q", i, res.URL, cfg.URLs[i])
		}
		if res.Failure != "" || res.Requests == 0 {
			t.Errorf("results[%d]: Failure = %q, Requests = %d; want none, > 0", i, res.Failure, res.Requests)
		}
		// Each URL owns half of the measured window.
		if got, want := res.Seconds, cfg.Duration.Seconds()/2; got < want*0.99 || got > want*1.01 {
			t.Errorf("results[%d].Seconds = %v, want %v", i, got, want)
		}
		if got, want := res.BodyBytes, res.Requests*uint64(i+1); got != want {
			t.Errorf("results[%d].BodyBytes = %d, want %d (bodies from the wrong server?)", i, got, want)
		}
	}
	if hitsA.Load() == 0 || hitsB.Load() == 0 {
		t.Errorf("hits a=%d b=%d, want both > 0", hitsA.Load(), hitsB.Load())
	}
}

func TestScheduleShare(t *testing.T) {
	origin := time.Unix(1000, 0)
	s := schedule{origin: origin, slice: 100 * time.Millisecond, n: 2}
	at := func(ms int) time.Time { return origin.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		i        int
		from, to int
		want     time.Duration
	}{
		{i: 0, from: 0, to: 400, want: 200 * time.Millisecond},
		{i: 1, from: 0, to: 400, want: 200 * time.Millisecond},
		{i: 0, from: 50, to: 250, want: 100 * time.Millisecond}, // [50,100) + [200,250)
		{i: 1, from: 50, to: 250, want: 100 * time.Millisecond}, // [100,200)
		{i: 1, from: 120, to: 130, want: 10 * time.Millisecond}, // inside one slice
		{i: 0, from: 120, to: 130, want: 0},                     // inside the other's slice
		{i: 0, from: 300, to: 300, want: 0},                     // empty window
	}
	for _, tt := range tests {
		if got := s.share(tt.i, at(tt.from), at(tt.to)); got != tt.want {
			t.Errorf("share(%d, %dms, %dms) = %v, want %v", tt.i, tt.from, tt.to, got, tt.want)
		}
	}
	if got := s.at(at(150)); got != 1 {
		t.Errorf("at(150ms) = %d, want 1", got)
	}
	if got := s.at(at(250)); got != 0 {
		t.Errorf("at(250ms) = %d, want 0", got)
	}
}

func TestParseFlags(t *testing.T) {
	t.Run("defaults and headers", func(t *testing.T) {
		cfg, asJSON, err := parseFlags([]string{"-url", "http://127.0.0.1:1/x", "-H", `If-None-Match: "a b"`, "-H", "Host: example", "-json"}, &strings.Builder{})
		if err != nil {
			t.Fatal(err)
		}
		if !asJSON || cfg.Connections != 32 || cfg.Duration != 5*time.Second || cfg.Warmup != time.Second || cfg.Expect != 200 {
			t.Errorf("got json=%v c=%d d=%v warmup=%v expect=%d, want true 32 5s 1s 200", asJSON, cfg.Connections, cfg.Duration, cfg.Warmup, cfg.Expect)
		}
		if got := cfg.Header.Get("If-None-Match"); got != `"a b"` {
			t.Errorf("If-None-Match = %q, want %q", got, `"a b"`)
		}
	})
	for _, args := range [][]string{
		{},
		{"-url", "127.0.0.1:8080/x"},
		{"-url", "ftp://127.0.0.1/x"},
		{"-url", "http://127.0.0.1/x", "-c", "0"},
		{"-url", "http://127.0.0.1/x", "-d", "1h"},
		{"-url", "http://127.0.0.1/x", "-H", "no colon"},
		{"-url", "http://127.0.0.1/x", "-method", "POST"},
		{"-url", "http://127.0.0.1/x", "-expect", "42"},
		{"-url", "http://127.0.0.1/x", "-url", "http://127.0.0.1/y", "-slice", "1ms"},
	} {
		if _, _, err := parseFlags(args, &strings.Builder{}); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", args)
		}
	}
}
