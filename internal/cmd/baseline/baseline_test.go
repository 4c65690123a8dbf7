package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func newTestResponse() *response {
	extra := http.Header{"X-Promptreg-Commit": {"abc123"}}
	return newResponse([]byte(`{"name":"support/welcome"}`), `"e1"`, "application/json", "no-cache", extra)
}

func TestServeHTTP(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		ifNoneMatch []string
		wantStatus  int
		wantBody    string
	}{
		{name: "no condition gives 200", method: "GET", wantStatus: 200, wantBody: `{"name":"support/welcome"}`},
		{name: "exact match gives 304", method: "GET", ifNoneMatch: []string{`"e1"`}, wantStatus: 304},
		{name: "star gives 304", method: "GET", ifNoneMatch: []string{`*`}, wantStatus: 304},
		{name: "weak match gives 304", method: "GET", ifNoneMatch: []string{`W/"e1"`}, wantStatus: 304},
		{name: "match in list gives 304", method: "GET", ifNoneMatch: []string{`"zz", W/"yy" ,"e1"`}, wantStatus: 304},
		{name: "match in second field gives 304", method: "GET", ifNoneMatch: []string{`"zz"`, `"e1"`}, wantStatus: 304},
		{name: "other tag gives 200", method: "GET", ifNoneMatch: []string{`"e2"`}, wantStatus: 200, wantBody: `{"name":"support/welcome"}`},
		{name: "unquoted tag does not match", method: "GET", ifNoneMatch: []string{`e1`}, wantStatus: 200, wantBody: `{"name":"support/welcome"}`},
		{name: "prefix does not match", method: "GET", ifNoneMatch: []string{`"e"`}, wantStatus: 200, wantBody: `{"name":"support/welcome"}`},
		{name: "head gives 200 without body", method: "HEAD", wantStatus: 200},
		{name: "post gives 405", method: "POST", wantStatus: 405, wantBody: "method not allowed\n"},
	}
	h := newTestResponse()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/v1/prompts/anything", nil)
			if tt.ifNoneMatch != nil {
				req.Header["If-None-Match"] = tt.ifNoneMatch
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got := rec.Code; got != tt.wantStatus {
				t.Fatalf("status = %d, want %d", got, tt.wantStatus)
			}
			if got := rec.Body.String(); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			if tt.wantStatus == 405 {
				return
			}
			for name, want := range map[string]string{"Etag": `"e1"`, "Cache-Control": "no-cache", "X-Promptreg-Commit": "abc123"} {
				if got := rec.Header().Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			wantType, wantLength := "application/json", "26"
			if tt.wantStatus == 304 {
				wantType, wantLength = "", ""
			}
			if got := rec.Header().Get("Content-Type"); got != wantType {
				t.Errorf("Content-Type = %q, want %q", got, wantType)
			}
			if got := rec.Header().Get("Content-Length"); got != wantLength {
				t.Errorf("Content-Length = %q, want %q", got, wantLength)
			}
		})
	}
}

func TestNormalizeETag(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{in: `"abc"`, want: `"abc"`},
		{in: `W/"abc"`, want: `W/"abc"`},
		{in: `abc`, want: `"abc"`},
		{in: ``, want: `"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"`}, // sha256("hello")
		{in: `"abc`, wantErr: true},
		{in: `"a"b"`, wantErr: true},
		{in: `a"b`, wantErr: true},
	}
	for _, tt := range tests {
		got, err := normalizeETag(tt.in, []byte("hello"))
		if (err != nil) != tt.wantErr {
			t.Errorf("normalizeETag(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("normalizeETag(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
