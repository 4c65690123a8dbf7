package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// options are the parsed command-line flags.
type options struct {
	addr         string
	bodyFile     string
	etag         string
	contentType  string
	cacheControl string
	header       http.Header
}

// run is main without the process. It serves until ctx is done and returns the
// exit status: 0 after a graceful stop, 1 on a runtime error, 2 on bad usage.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "baseline: %v\n", err)
		return 2
	}
	body, err := os.ReadFile(opts.bodyFile)
	if err != nil {
		fmt.Fprintf(stderr, "baseline: %v\n", err)
		return 1
	}
	etag, err := normalizeETag(opts.etag, body)
	if err != nil {
		fmt.Fprintf(stderr, "baseline: -etag: %v\n", err)
		return 2
	}

	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		fmt.Fprintf(stderr, "baseline: %v\n", err)
		return 1
	}
	srv := &http.Server{
		Handler:           newResponse(body, etag, opts.contentType, opts.cacheControl, opts.header),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "baseline: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		fmt.Fprintf(stderr, "baseline: shutdown: %v\n", err)
		return 1
	}
	<-errc // http.ErrServerClosed
	return 0
}

// headerFlags collects repeated -H "Name: value" flags.
type headerFlags http.Header

func (h headerFlags) String() string { return fmt.Sprint(http.Header(h)) }

func (h headerFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
		return fmt.Errorf("want \"Name: value\", got %q", s)
	}
	http.Header(h).Add(name, strings.TrimSpace(value))
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var opts options
	fs := flag.NewFlagSet("baseline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: baseline -body FILE [flags]\n\nServes FILE's bytes on every path with ETag and If-None-Match support.\n\n")
		fs.PrintDefaults()
	}
	header := headerFlags{}
	fs.StringVar(&opts.addr, "addr", "127.0.0.1:0", "listen `address` (port 0 picks a free port; see the first output line)")
	fs.StringVar(&opts.bodyFile, "body", "", "`file` whose exact bytes are the response body")
	fs.StringVar(&opts.etag, "etag", "", "entity tag, `\"…\"` or W/\"…\" (quotes added if missing); default: the quoted sha256 hex of the body")
	fs.StringVar(&opts.contentType, "content-type", "application/json", "Content-Type of the body")
	fs.StringVar(&opts.cacheControl, "cache-control", "no-cache", "Cache-Control sent with 200 and 304 (empty: none)")
	fs.Var(header, "H", "extra response header `\"Name: value\"` sent with 200 and 304; repeatable")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}
	if fs.NArg() > 0 {
		return opts, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	if opts.bodyFile == "" {
		return opts, errors.New("-body is required")
	}
	opts.header = http.Header(header)
	for _, reserved := range []string{"Etag", "Content-Type", "Content-Length", "Cache-Control"} {
		if _, ok := opts.header[reserved]; ok {
			return opts, fmt.Errorf("-H %s: use the dedicated flag", reserved)
		}
	}
	return opts, nil
}

// normalizeETag returns etag as a well-formed entity tag: quoted if it was
// bare, or the quoted sha256 hex of body if empty (what promptreg sends for a
// prompt without partials).
func normalizeETag(etag string, body []byte) (string, error) {
	if etag == "" {
		sum := sha256.Sum256(body)
		return `"` + hex.EncodeToString(sum[:]) + `"`, nil
	}
	opaque := strings.TrimPrefix(etag, "W/")
	if !strings.HasPrefix(opaque, `"`) {
		if strings.Contains(etag, `"`) {
			return "", fmt.Errorf("malformed entity tag %q", etag)
		}
		return `"` + etag + `"`, nil
	}
	if len(opaque) < 2 || !strings.HasSuffix(opaque, `"`) || strings.Contains(opaque[1:len(opaque)-1], `"`) {
		return "", fmt.Errorf("malformed entity tag %q", etag)
	}
	return etag, nil
}
