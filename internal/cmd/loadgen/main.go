package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Limits that keep a mistyped flag from turning a benchmark into an outage.
const (
	maxConnections = 4096
	maxDuration    = 10 * time.Minute
	maxWarmup      = time.Minute
	maxURLs        = 8
	minSlice       = 10 * time.Millisecond
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it parses args, runs the test and writes
// the report. It returns the exit status: 0 success, 1 the test failed, 2 usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, asJSON, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 2
	}
	results, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	for _, res := range results {
		if asJSON {
			if err := enc.Encode(res); err != nil {
				fmt.Fprintf(stderr, "loadgen: %v\n", err)
				return 1
			}
		} else {
			writeText(stdout, res, cfg)
		}
	}
	if failure := results[0].Failure; failure != "" {
		fmt.Fprintf(stderr, "loadgen: FAILED: %s\n", failure)
		return 1
	}
	for _, res := range results {
		if res.Requests == 0 {
			fmt.Fprintf(stderr, "loadgen: FAILED %s %s: no request in the measured window\n", res.Method, res.URL)
			return 1
		}
	}
	return 0
}

// urlFlags collects repeated -url flags.
type urlFlags []string

func (u *urlFlags) String() string { return strings.Join(*u, " ") }

func (u *urlFlags) Set(s string) error {
	*u = append(*u, s)
	return nil
}

// headerFlags collects repeated -H "Name: value" flags.
type headerFlags http.Header

func (h headerFlags) String() string {
	var parts []string
	for name, values := range h {
		for _, v := range values {
			parts = append(parts, name+": "+v)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

func (h headerFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("want \"Name: value\", got %q", s)
	}
	http.Header(h).Add(name, strings.TrimSpace(value))
	return nil
}

func parseFlags(args []string, stderr io.Writer) (cfg Config, asJSON bool, err error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: loadgen -url URL [-url URL2...] [flags]\n\nSends the same request over -c keep-alive connections for -warmup + -d and\nreports req/s and latency quantiles of the -d window, per URL.\n\n")
		fs.PrintDefaults()
	}
	header := headerFlags{}
	var urls urlFlags
	fs.Var(&urls, "url", "`URL` to request (http or https), the only one ever requested; repeat it to compare\nservers: the workers then switch URL together every -slice (A, B, A, B…) and\neach URL gets its own report, all measured under the same machine conditions")
	fs.DurationVar(&cfg.Slice, "slice", 50*time.Millisecond, "interleaving period when several -url are given")
	fs.StringVar(&cfg.Method, "method", http.MethodGet, "request method: GET or HEAD")
	fs.IntVar(&cfg.Connections, "c", 32, "concurrent connections, one closed-loop worker each")
	fs.DurationVar(&cfg.Duration, "d", 5*time.Second, "measured duration")
	fs.DurationVar(&cfg.Warmup, "warmup", time.Second, "unmeasured warm-up before -d")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "per-request timeout (connect, response headers) and end-of-test grace")
	fs.Var(header, "H", "request header `\"Name: value\"`; repeatable (e.g. -H 'If-None-Match: \"abc\"')")
	fs.IntVar(&cfg.Expect, "expect", http.StatusOK, "`status` every response must have; anything else fails the run (0 = accept any)")
	fs.Int64Var(&cfg.MaxRequests, "n", 0, "stop after this many measured requests (0 = run for -d)")
	fs.BoolVar(&asJSON, "json", false, "print the result as one line of JSON")
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	cfg.URLs = urls
	cfg.Header = http.Header(header)
	cfg.Method = strings.ToUpper(cfg.Method)
	return cfg, asJSON, validate(cfg)
}

func validate(cfg Config) error {
	if len(cfg.URLs) == 0 {
		return errors.New("-url is required")
	}
	if len(cfg.URLs) > maxURLs {
		return fmt.Errorf("-url: at most %d, got %d", maxURLs, len(cfg.URLs))
	}
	for _, raw := range cfg.URLs {
		u, err := url.Parse(raw)
		if err != nil {
			return fmt.Errorf("-url: %w", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			return fmt.Errorf("-url: want an absolute http(s) URL, got %q", raw)
		}
	}
	switch {
	case len(cfg.URLs) > 1 && (cfg.Slice < minSlice || cfg.Slice > cfg.Duration):
		return fmt.Errorf("-slice: want %v..-d, got %v", minSlice, cfg.Slice)
	case cfg.Method != http.MethodGet && cfg.Method != http.MethodHead:
		return fmt.Errorf("-method: want GET or HEAD, got %q", cfg.Method)
	case cfg.Connections < 1 || cfg.Connections > maxConnections:
		return fmt.Errorf("-c: want 1..%d, got %d", maxConnections, cfg.Connections)
	case cfg.Duration <= 0 || cfg.Duration > maxDuration:
		return fmt.Errorf("-d: want more than 0 and at most %v, got %v", maxDuration, cfg.Duration)
	case cfg.Warmup < 0 || cfg.Warmup > maxWarmup:
		return fmt.Errorf("-warmup: want 0..%v, got %v", maxWarmup, cfg.Warmup)
	case cfg.Timeout <= 0 || cfg.Timeout > time.Minute:
		return fmt.Errorf("-timeout: want more than 0 and at most 1m, got %v", cfg.Timeout)
	case cfg.Expect != 0 && (cfg.Expect < 100 || cfg.Expect > 599):
		return fmt.Errorf("-expect: want 0 or an HTTP status, got %d", cfg.Expect)
	case cfg.MaxRequests < 0:
		return fmt.Errorf("-n: want 0 or more, got %d", cfg.MaxRequests)
	}
	return nil
}

// writeText prints the human-readable report.
func writeText(w io.Writer, res *Result, cfg Config) {
	ms := func(us float64) string { return fmt.Sprintf("%.3fms", us/1e3) }
	codes := make([]string, 0, len(res.Statuses))
	for code := range res.Statuses {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	var statuses []string
	for _, code := range codes {
		statuses = append(statuses, fmt.Sprintf("%s×%d", code, res.Statuses[code]))
	}
	fmt.Fprintf(w, "%s %s\n", res.Method, res.URL)
	if len(cfg.URLs) > 1 {
		fmt.Fprintf(w, "  %d connections, %v measured after %v warm-up, interleaved with %d other URLs every %v\n",
			res.Connections, cfg.Duration, cfg.Warmup, len(cfg.URLs)-1, cfg.Slice)
	} else {
		fmt.Fprintf(w, "  %d connections, %v measured after %v warm-up\n", res.Connections, cfg.Duration, cfg.Warmup)
	}
	fmt.Fprintf(w, "  requests  %d in %.2fs = %.1f req/s, %d body bytes\n", res.Requests, res.Seconds, res.RPS, res.BodyBytes)
	fmt.Fprintf(w, "  latency   p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  mean %s\n",
		ms(res.P50), ms(res.P90), ms(res.P99), ms(res.P999), ms(res.Max), ms(res.Mean))
	fmt.Fprintf(w, "  statuses  %s (warm-up included)\n", strings.Join(statuses, " "))
	fmt.Fprintf(w, "  errors    %d transport, %d unexpected status\n", res.Errors, res.Unexpected)
}
