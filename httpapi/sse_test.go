package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// TestSSEHeartbeat: a stream with nothing to say sends comments, and stops
// when the stream ends.
func TestSSEHeartbeat(t *testing.T) {
	rec := httptest.NewRecorder()
	s := &sse{w: echo.NewResponse(rec, echo.New()), stop: make(chan struct{}), exited: make(chan struct{})}
	go s.heartbeat(make(chan struct{}), 5*time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	s.mu.Lock()
	close(s.stop)
	s.mu.Unlock()
	<-s.exited
	got := rec.Body.String()
	if n := strings.Count(got, ": ping\n\n"); n < 2 {
		t.Errorf("%d heartbeats in 30 ms at 5 ms, want several: %q", n, got)
	}
	if err := s.write("event: late\n\n"); err != nil || strings.Contains(rec.Body.String(), "late") {
		t.Error("a write after the end reached the client")
	}
}
