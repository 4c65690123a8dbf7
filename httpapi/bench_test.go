package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkGetPrompt measures the read path in process, without the
// network: GET /v1/prompts/{name} answered 200 and, revalidated, 304.
func BenchmarkGetPrompt(b *testing.B) {
	e := seeded(b)
	h := e.srv.Config.Handler
	etag := e.get("/v1/prompts/support/welcome").header.Get("ETag")
	for _, bc := range []struct {
		name string
		inm  string
		want int
	}{{"200", "", 200}, {"304", etag, 304}} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/v1/prompts/support/welcome", nil)
			if bc.inm != "" {
				req.Header.Set("If-None-Match", bc.inm)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != bc.want {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}
