package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/promptreg/promptreg/registry"
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

// TestStreamSlots: at most MaxStreams event streams at once; the next is a
// 503 until one ends.
func TestStreamSlots(t *testing.T) {
	s := New(Options{MaxStreams: 2})
	r1, err1 := s.streamSlot()
	r2, err2 := s.streamSlot()
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := s.streamSlot(); registry.ErrorCode(err) != registry.EUNAVAILABLE {
		t.Errorf("a third stream: %v, want EUNAVAILABLE", err)
	}
	r1()
	r3, err := s.streamSlot()
	if err != nil {
		t.Errorf("after one ended: %v", err)
	}
	r2()
	r3()
}
