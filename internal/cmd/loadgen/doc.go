// Command loadgen is the closed-loop HTTP load generator behind `make bench`
// (scripts/bench-http.sh).
//
// It keeps -c closed-loop workers, each on its own keep-alive connection,
// busy with one request URL for -warmup plus -d, reads and discards every
// response body, and reports throughput (requests started in the measured
// window per second) and latency quantiles from a log-linear histogram kept
// per worker, so that recording a sample never takes a lock. Requests started
// during the warm-up are sent but not measured.
//
// Given -url several times, it compares servers fairly on a noisy machine: all
// workers switch together from one URL to the next every -slice (A, B, A, B…),
// so each URL is measured during interleaved slices of the same period instead
// of one after the other, and each gets its own report.
//
// It is deliberately narrow: it only ever sends GET or HEAD requests to the
// URLs it is given, follows no redirects, ignores HTTP_PROXY and friends, and
// is bounded in time (-warmup + -d + -timeout at most) and optionally in count (-n).
// Any transport error or any response whose status differs from -expect makes
// it stop and exit with status 1, so a benchmark can never silently measure
// error pages.
//
// Usage:
//
//	loadgen -url http://127.0.0.1:8080/v1/prompts/support/welcome \
//	        -c 32 -d 5s -warmup 1s -expect 304 \
//	        -H 'If-None-Match: "4f1c…"' [-json]
//
// With -json it prints one JSON object per URL, one per line, in -url order
// (see [Result]); otherwise a short human-readable report.
package main
