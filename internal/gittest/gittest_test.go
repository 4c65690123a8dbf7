package gittest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a test ended instead of ending
// it.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = fmt.Sprintf(format, args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestMissingTool(t *testing.T) {
	missing := errors.New(`exec: "git": executable file not found in $PATH`)
	for _, tc := range []struct {
		ci       string
		wantFail bool
	}{
		{"", false},
		{"false", false},
		{"true", true},
	} {
		t.Run(fmt.Sprintf("CI=%q fails=%v", tc.ci, tc.wantFail), func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			r := &recorder{TB: t}
			MissingTool(r, "git", missing)
			got := r.skipped
			if tc.wantFail {
				got = r.failed
			}
			if got == "" || !strings.Contains(got, "git") {
				t.Errorf("skipped %q, failed %q; want it to %s naming git", r.skipped, r.failed, map[bool]string{true: "fail", false: "skip"}[tc.wantFail])
			}
			if tc.wantFail && r.skipped != "" || !tc.wantFail && r.failed != "" {
				t.Errorf("skipped %q and failed %q: want only one", r.skipped, r.failed)
			}
		})
	}
}

func TestServe(t *testing.T) {
	r := New(t)
	r.Write("a", "a")
	sha := r.Commit("c")
	url := r.Serve(nil)
	out, err := Run(t.TempDir(), Epoch, "", "ls-remote", url)
	if err != nil {
		t.Fatal(err)
	}
	if want := sha + "\trefs/heads/main"; !strings.Contains(out, want) {
		t.Errorf("ls-remote = %q, want a line %q", out, want)
	}
}
