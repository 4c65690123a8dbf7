// Command baseline is the reference server of `make bench`: one prompt served
// the fastest plausible way with the Go standard library, to compare against.
//
// It answers GET and HEAD on every path with the bytes of -body, precomputed,
// and does exactly the per-request work a server of precomputed responses has
// to do: set ETag, Cache-Control, Content-Type and Content-Length, and answer
// If-None-Match (a list of entity tags, weak comparison, or "*") with 304 Not
// Modified and no body. Extra response headers given with -H (promptreg's
// X-Promptreg-* headers, for instance) are sent too, so both servers put the
// same bytes on the wire.
//
// The first line it prints on standard output is
//
//	listening on 127.0.0.1:PORT
//
// so a script can start it with -addr 127.0.0.1:0 and read the port. It stops
// gracefully on SIGINT or SIGTERM.
//
// Usage:
//
//	baseline -body prompt.json [-addr 127.0.0.1:0] [-etag '"<sha256>"']
//	         [-content-type application/json] [-cache-control no-cache] [-H 'Name: value']...
package main
