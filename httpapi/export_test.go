package httpapi

import "time"

// ReadHeaderTimeout is how long s waits for a request's headers.
func ReadHeaderTimeout(s *Server) time.Duration { return s.http.ReadHeaderTimeout }

// SetReadHeaderTimeout shortens the header timeout, for a test that cannot
// wait the default out. Call it before Start.
func SetReadHeaderTimeout(s *Server, d time.Duration) { s.http.ReadHeaderTimeout = d }
