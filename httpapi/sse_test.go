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
	pings := func() int {
		s.mu.Lock() // the heartbeat writes under it
		defer s.mu.Unlock()
		return strings.Count(rec.Body.String(), ": ping\n\n")
	}
	for deadline := time.Now().Add(10 * time.Second); pings() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	s.mu.Lock()
	close(s.stop)
	s.mu.Unlock()
	<-s.exited
	if n := pings(); n < 2 {
		t.Errorf("%d heartbeats in 10 s at 5 ms, want several", n)
	}
	if err := s.write("event: late\n\n"); err != nil || strings.Contains(rec.Body.String(), "late") {
		t.Error("a write after the end reached the client")
	}
}
