package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Config describes one load test.
type Config struct {
	// URLs are the only URLs requested. With more than one, the workers switch
	// all together from one to the next every Slice (A, B, A, B…), so that
	// every URL sees the same machine conditions: on a shared machine that
	// cancels most of the noise an A-then-B comparison suffers from.
	URLs        []string
	Slice       time.Duration // interleaving period with several URLs
	Method      string        // GET or HEAD
	Connections int           // concurrent workers, each with its own keep-alive connection per URL
	Duration    time.Duration // measured window
	Warmup      time.Duration // unmeasured lead-in, also opens the connections
	Timeout     time.Duration // per-request bound and final grace period
	Header      http.Header   // request headers; "Host" sets the Host header
	Expect      int           // required status; 0 accepts any
	MaxRequests int64         // stop after this many measured requests; 0 = no limit
}

// Result is the outcome of a load test for one URL. Its JSON form is the
// -json output (one line per URL, in -url order) and is part of the contract
// with scripts/bench-http.sh: a flat object on one line, times in microseconds.
type Result struct {
	URL         string           `json:"url"`
	Method      string           `json:"method"`
	Connections int              `json:"connections"`
	Seconds     float64          `json:"duration_s"` // measured time spent on this URL
	Requests    uint64           `json:"requests"`   // measured requests (started in the window)
	RPS         float64          `json:"rps"`        // Requests / Seconds
	P50         float64          `json:"p50_us"`
	P90         float64          `json:"p90_us"`
	P99         float64          `json:"p99_us"`
	P999        float64          `json:"p999_us"`
	Max         float64          `json:"max_us"`
	Mean        float64          `json:"mean_us"`
	BodyBytes   uint64           `json:"body_bytes"` // measured response body bytes read
	Statuses    map[string]int64 `json:"statuses"`   // measured and warm-up responses by status
	Errors      int64            `json:"errors"`     // transport errors, warm-up included
	Unexpected  int64            `json:"unexpected"` // responses whose status was not Config.Expect
	// Failure describes the first error or unexpected status of the run (the
	// same on every URL's result, since one failure stops the run); empty on success.
	Failure string `json:"failure,omitempty"`
}

// errStopped is the cancellation cause when a worker hits an error or an
// unexpected status: the run is over, and its numbers are not to be trusted.
var errStopped = errors.New("stopped after a failure")

// tally is what a worker records for one URL.
type tally struct {
	hist       histogram
	statuses   [600]int64 // by status code; index 0 holds codes outside 1..599
	bodyBytes  uint64
	errors     int64
	unexpected int64
}

// worker is one closed loop. Everything it records is its own until Run
// merges it, so recording needs no synchronisation.
type worker struct {
	tallies []tally // one per URL
	failure string
}

// schedule says which URL is current at a given time.
type schedule struct {
	origin time.Time
	slice  time.Duration
	n      int
}

// at returns the index of the URL current at t.
func (s schedule) at(t time.Time) int {
	if s.n == 1 {
		return 0
	}
	return int(t.Sub(s.origin)/s.slice) % s.n
}

// share returns how much of [from, to) belongs to URL i.
func (s schedule) share(i int, from, to time.Time) time.Duration {
	if !from.Before(to) {
		return 0
	}
	if s.n == 1 {
		return to.Sub(from)
	}
	var total time.Duration
	first := int(from.Sub(s.origin) / s.slice)
	for k := first; ; k++ {
		lo := s.origin.Add(time.Duration(k) * s.slice)
		if !lo.Before(to) {
			break
		}
		if k%s.n != i {
			continue
		}
		hi := lo.Add(s.slice)
		if to.Before(hi) {
			hi = to
		}
		if lo.Before(from) {
			lo = from
		}
		total += hi.Sub(lo)
	}
	return total
}

// Run performs the load test described by cfg and returns one Result per URL.
// It returns an error only when the test could not be set up; failures during
// the test (transport errors, unexpected statuses, the deadline) are reported
// in Result.Failure. Cancelling ctx stops the test early and returns what was
// measured so far.
func Run(ctx context.Context, cfg Config) ([]*Result, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("no URL")
	}
	if len(cfg.URLs) > 1 && cfg.Slice <= 0 {
		return nil, errors.New("several URLs need a positive slice")
	}
	templates := make([]*http.Request, len(cfg.URLs))
	for i, u := range cfg.URLs {
		req, err := http.NewRequest(cfg.Method, u, nil)
		if err != nil {
			return nil, fmt.Errorf("build request: %w", err)
		}
		for name, values := range cfg.Header {
			if http.CanonicalHeaderKey(name) == "Host" {
				req.Host = values[len(values)-1]
				continue
			}
			req.Header[http.CanonicalHeaderKey(name)] = values
		}
		templates[i] = req
	}

	transport := &http.Transport{
		Proxy: nil, // never detour through HTTP_PROXY: we target exactly cfg.URLs
		DialContext: (&net.Dialer{
			Timeout:   cfg.Timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          cfg.Connections * len(cfg.URLs),
		MaxIdleConnsPerHost:   cfg.Connections,
		MaxConnsPerHost:       cfg.Connections,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: cfg.Timeout,
		TLSHandshakeTimeout:   cfg.Timeout,
		DisableCompression:    true, // measure the bytes the server sends, no gzip
		ForceAttemptHTTP2:     false,
	}
	defer transport.CloseIdleConnections()

	start := time.Now()
	sched := schedule{origin: start, slice: cfg.Slice, n: len(cfg.URLs)}
	measureFrom := start.Add(cfg.Warmup)
	stopAt := measureFrom.Add(cfg.Duration)
	// Requests still in flight one timeout after stopAt are cut off: the run is
	// bounded in time whatever the server does.
	runCtx, cancel := context.WithDeadline(ctx, stopAt.Add(cfg.Timeout))
	defer cancel()
	stopCtx, stop := context.WithCancelCause(runCtx)
	defer stop(nil)

	perWorker := int64(0)
	if cfg.MaxRequests > 0 {
		perWorker = (cfg.MaxRequests + int64(cfg.Connections) - 1) / int64(cfg.Connections)
	}

	workers := make([]*worker, cfg.Connections)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{tallies: make([]tally, len(cfg.URLs))}
		workers[i] = w
		reqs := make([]*http.Request, len(templates))
		for j, t := range templates {
			reqs[j] = t.Clone(runCtx)
		}
		wg.Go(func() {
			w.loop(stopCtx, stop, transport, reqs, sched, cfg.Expect, measureFrom, stopAt, perWorker)
		})
	}
	wg.Wait()

	failure := ""
	for _, w := range workers {
		if w.failure != "" {
			failure = w.failure
			break
		}
	}
	switch {
	case failure != "":
	case ctx.Err() != nil:
		failure = "interrupted"
	case runCtx.Err() != nil:
		failure = fmt.Sprintf("requests still in flight %v after the end of the test", cfg.Timeout)
	}
	// An early stop shortens the window to what actually ran.
	end := time.Now()
	if stopAt.Before(end) {
		end = stopAt
	}

	results := make([]*Result, len(cfg.URLs))
	for i, u := range cfg.URLs {
		res := &Result{
			URL:         u,
			Method:      cfg.Method,
			Connections: cfg.Connections,
			Statuses:    map[string]int64{},
			Failure:     failure,
		}
		var all histogram
		for _, w := range workers {
			t := &w.tallies[i]
			all.Merge(&t.hist)
			res.BodyBytes += t.bodyBytes
			res.Errors += t.errors
			res.Unexpected += t.unexpected
			for code, n := range t.statuses {
				if n == 0 {
					continue
				}
				key := "other"
				if code != 0 {
					key = strconv.Itoa(code)
				}
				res.Statuses[key] += n
			}
		}
		if window := sched.share(i, measureFrom, end); window > 0 {
			res.Seconds = window.Seconds()
			res.RPS = float64(all.Count()) / window.Seconds()
		}
		us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
		res.Requests = all.Count()
		res.P50 = us(all.Quantile(0.50))
		res.P90 = us(all.Quantile(0.90))
		res.P99 = us(all.Quantile(0.99))
		res.P999 = us(all.Quantile(0.999))
		res.Max = us(all.Max())
		res.Mean = us(all.Mean())
		results[i] = res
	}
	return results, nil
}

// loop sends requests back to back, each to the URL current in sched, until
// stopAt, until limit measured requests (0 = no limit), or until ctx is done.
// On a transport error or an unexpected status it records the failure and
// stops every worker through stop.
func (w *worker) loop(ctx context.Context, stop context.CancelCauseFunc, rt http.RoundTripper, reqs []*http.Request,
	sched schedule, expect int, measureFrom, stopAt time.Time, limit int64) {
	var measured int64
	for ctx.Err() == nil {
		begin := time.Now()
		if !begin.Before(stopAt) || (limit > 0 && measured >= limit) {
			return
		}
		target := sched.at(begin)
		t := &w.tallies[target]
		resp, err := rt.RoundTrip(reqs[target])
		if err != nil {
			if ctx.Err() != nil {
				return // the run ended (interrupt, another worker's failure, deadline)
			}
			t.errors++
			w.fail(stop, fmt.Sprintf("%s: transport error: %v", reqs[target].URL, err))
			return
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		elapsed := time.Since(begin)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			t.errors++
			w.fail(stop, fmt.Sprintf("%s: reading body after status %d: %v", reqs[target].URL, resp.StatusCode, err))
			return
		}
		code := resp.StatusCode
		if code < 1 || code >= len(t.statuses) {
			code = 0
		}
		t.statuses[code]++
		if expect != 0 && resp.StatusCode != expect {
			t.unexpected++
			w.fail(stop, fmt.Sprintf("%s: got status %d, want %d", reqs[target].URL, resp.StatusCode, expect))
			return
		}
		if begin.Before(measureFrom) {
			continue // warm-up
		}
		t.hist.Record(elapsed)
		t.bodyBytes += uint64(n)
		measured++
	}
}

func (w *worker) fail(stop context.CancelCauseFunc, msg string) {
	if w.failure == "" {
		w.failure = msg
	}
	stop(errStopped)
}
