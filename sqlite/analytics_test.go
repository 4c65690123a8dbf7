package sqlite

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// analyticsDB returns a store holding these executions (mode git unless
// said otherwise), whose figures the tests below work out by hand:
//
//   - prompt a, version 1, production: 100 succeeded with latencies 1…100
//     ms, created 2025-03-01 from 10:00 (the first 50) and from 11:00 (the
//     other 50), 10 + 5 tokens each; the first 60 cost 0.01, the other 40
//     have no known cost;
//   - prompt a, version 2, staging: 80 succeeded with latencies 1000…1079,
//     cost 0.02 and 20 + 10 tokens each, and 20 failed (latency 5, no
//     tokens, no cost), created 2025-03-02 from 15:00;
//   - prompt a, queued, running and cancelled ones in the same hours, with
//     latencies that would show if they counted;
//   - prompt a, 10 succeeded on 2025-02-01 with latency 99999;
//   - prompt a, 5 playground executions (version 0, production) with
//     latency 7 and no known cost, 2025-03-01 10:30;
//   - prompt b, 3 succeeded with latencies 10, 20, 30, cost 1 each,
//     2025-03-01 12:00.
func analyticsDB(t *testing.T) *Store {
	t.Helper()
	s := open(t)
	day1 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	day2 := time.Date(2025, 3, 2, 15, 0, 0, 0, time.UTC)
	var es []registry.Execution
	add := func(prompt string, version int, env, status string, latency int64, created time.Time, f func(e *registry.Execution)) {
		e := registry.Execution{
			ID: fmt.Sprintf("ex_%04d", len(es)), Status: status, Mode: "git", Origin: "ingest",
			PromptName: prompt, Version: version, Environment: env, Model: "gpt-4o",
			LatencyMS: latency, CreatedAt: created,
		}
		if f != nil {
			f(&e)
		}
		es = append(es, e)
	}
	for i := range 100 {
		created := day1.Add(time.Duration(i) * 30 * time.Second)
		if i >= 50 {
			created = day1.Add(time.Hour + time.Duration(i-50)*30*time.Second)
		}
		add("a", 1, "production", registry.StatusSucceeded, int64(i+1), created, func(e *registry.Execution) {
			e.Usage = registry.Usage{PromptTokens: 10, CompletionTokens: 5}
			if i < 60 {
				e.CostUSD = ptr(0.01)
			}
		})
	}
	for i := range 100 {
		created := day2.Add(time.Duration(i) * 10 * time.Second)
		if i < 80 {
			add("a", 2, "staging", registry.StatusSucceeded, int64(1000+i), created, func(e *registry.Execution) {
				e.Usage = registry.Usage{PromptTokens: 20, CompletionTokens: 10}
				e.CostUSD = ptr(0.02)
			})
		} else {
			add("a", 2, "staging", registry.StatusFailed, 5, created, func(e *registry.Execution) { e.ErrorClass = registry.ClassTimeout })
		}
	}
	for _, status := range []string{registry.StatusQueued, registry.StatusRunning, registry.StatusCancelled} {
		for _, created := range []time.Time{day1, day2} {
			add("a", 1, "production", status, 1_000_000, created.Add(5*time.Minute), func(e *registry.Execution) {
				e.Usage = registry.Usage{PromptTokens: 1000, CompletionTokens: 1000}
				e.CostUSD = ptr(100.0)
			})
		}
	}
	for i := range 10 {
		add("a", 1, "production", registry.StatusSucceeded, 99999, time.Date(2025, 2, 1, 0, i, 0, 0, time.UTC), nil)
	}
	for range 5 {
		add("a", 0, "production", registry.StatusSucceeded, 7, day1.Add(30*time.Minute), func(e *registry.Execution) { e.Mode = registry.ModePlayground })
	}
	for i := range 3 {
		add("b", 1, "production", registry.StatusSucceeded, int64(10*(i+1)), day1.Add(2*time.Hour), func(e *registry.Execution) { e.CostUSD = ptr(1.0) })
	}
	insert(t, s, es...)
	return s
}

// stats returns Stats with the figures given, percentiles set unless
// p50 is 0 and cost set unless it is NaN.
func stats(n, failed, p50, p95, p99, promptTokens, completionTokens int64, cost float64, unpriced int64) registry.Stats {
	st := registry.Stats{
		Executions: n, Failed: failed, PromptTokens: promptTokens, CompletionTokens: completionTokens,
		UnpricedExecutions: unpriced,
	}
	if n > 0 {
		st.ErrorRate = float64(failed) / float64(n)
	}
	if p50 != 0 {
		st.LatencyP50MS, st.LatencyP95MS, st.LatencyP99MS = &p50, &p95, &p99
	}
	if !math.IsNaN(cost) {
		st.CostUSD = &cost
	}
	return st
}

// The figures worked out by hand (nearest rank: the value at rank
// ⌈p/100 × n⌉ of the n succeeded latencies, sorted).
var (
	// Version 1: latencies 1…100, so ranks 50, 95, 99; 100 × 10 and
	// 100 × 5 tokens; 60 × 0.01 USD and 40 unpriced.
	statsV1 = stats(100, 0, 50, 95, 99, 1000, 500, 0.6, 40)
	// Version 2: 80 latencies 1000…1079, ranks ⌈40⌉ = 40, ⌈76⌉ = 76 and
	// ⌈79.2⌉ = 80; error rate 20/100; 80 × 20 and 80 × 10 tokens; 80 ×
	// 0.02 USD, the 20 failed unpriced.
	statsV2 = stats(100, 20, 1039, 1075, 1079, 1600, 800, 1.6, 20)
	// Both: 180 latencies, 1…100 then 1000…1079; ranks ⌈90⌉ = 90 (90),
	// ⌈171⌉ = 171 (the 71st of the second run: 1070) and ⌈178.2⌉ = 179
	// (1078); error rate 20/200.
	statsA = stats(200, 20, 90, 1070, 1078, 2600, 1300, 2.2, 60)
	// The hours of version 1: latencies 1…50 (ranks 25, ⌈47.5⌉ = 48,
	// ⌈49.5⌉ = 50), all priced; then 51…100, 10 priced.
	statsV1Hour10 = stats(50, 0, 25, 48, 50, 500, 250, 0.5, 0)
	statsV1Hour11 = stats(50, 0, 75, 98, 100, 500, 250, 0.1, 40)
	// Prompt b: latencies 10, 20, 30: ranks ⌈1.5⌉ = 2, ⌈2.85⌉ = 3, ⌈2.97⌉
	// = 3.
	statsB = stats(3, 0, 20, 30, 30, 0, 0, 3, 0)
)

// wantStats compares figures, costs to within rounding.
func wantStats(t *testing.T, what string, got, want registry.Stats) {
	t.Helper()
	gotCost, wantCost := got.CostUSD, want.CostUSD
	got.CostUSD, want.CostUSD = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got  %s\n%*s want %s", what, statsString(got), len(what), "", statsString(want))
	}
	switch {
	case (gotCost == nil) != (wantCost == nil):
		t.Errorf("%s: cost %v, want %v", what, gotCost, wantCost)
	case gotCost != nil && math.Abs(*gotCost-*wantCost) > 1e-9:
		t.Errorf("%s: cost %v, want %v", what, *gotCost, *wantCost)
	}
}

func statsString(s registry.Stats) string {
	p := func(v *int64) string {
		if v == nil {
			return "nil"
		}
		return fmt.Sprint(*v)
	}
	return fmt.Sprintf("{n %d failed %d rate %g p50 %s p95 %s p99 %s tokens %d+%d unpriced %d}", s.Executions, s.Failed, s.ErrorRate,
		p(s.LatencyP50MS), p(s.LatencyP95MS), p(s.LatencyP99MS), s.PromptTokens, s.CompletionTokens, s.UnpricedExecutions)
}

func TestPromptAnalytics(t *testing.T) {
	ctx := context.Background()
	s := analyticsDB(t)
	march := registry.AnalyticsQuery{PromptName: "a", Mode: "git",
		Since: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)}

	t.Run("totals, versions and environments", func(t *testing.T) {
		got, err := s.PromptAnalytics(ctx, march)
		if err != nil {
			t.Fatal(err)
		}
		if got.PromptName != "a" || got.Series != nil {
			t.Errorf("name %q, series %v; want a and none", got.PromptName, got.Series)
		}
		wantStats(t, "total", got.Total, statsA)
		if len(got.ByVersion) != 2 || got.ByVersion[0].Version != 1 || got.ByVersion[1].Version != 2 {
			t.Fatalf("by version %+v, want versions 1 and 2", got.ByVersion)
		}
		wantStats(t, "version 1", got.ByVersion[0].Stats, statsV1)
		wantStats(t, "version 2", got.ByVersion[1].Stats, statsV2)
		if len(got.ByEnvironment) != 2 || got.ByEnvironment[0].Environment != "production" || got.ByEnvironment[1].Environment != "staging" {
			t.Fatalf("by environment %+v, want production and staging", got.ByEnvironment)
		}
		wantStats(t, "production", got.ByEnvironment[0].Stats, statsV1)
		wantStats(t, "staging", got.ByEnvironment[1].Stats, statsV2)
		for _, ps := range append(got.ByVersion, got.ByEnvironment...) {
			if ps.PromptName != "a" {
				t.Errorf("breakdown of prompt %q, want a", ps.PromptName)
			}
		}
	})

	t.Run("a series per day", func(t *testing.T) {
		q := march
		q.Bucket = "day"
		got, err := s.PromptAnalytics(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		wantStarts(t, got.Series, "2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z")
		if len(got.Series) == 2 {
			wantStats(t, "day 1", got.Series[0].Stats, statsV1)
			wantStats(t, "day 2", got.Series[1].Stats, statsV2)
		}
	})

	t.Run("a series per hour leaves out the hours without executions", func(t *testing.T) {
		q := march
		q.Bucket = "hour"
		got, err := s.PromptAnalytics(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		wantStarts(t, got.Series, "2025-03-01T10:00:00Z", "2025-03-01T11:00:00Z", "2025-03-02T15:00:00Z")
		if len(got.Series) == 3 {
			wantStats(t, "10:00", got.Series[0].Stats, statsV1Hour10)
			wantStats(t, "11:00", got.Series[1].Stats, statsV1Hour11)
			wantStats(t, "15:00", got.Series[2].Stats, statsV2)
		}
	})

	t.Run("an environment filters", func(t *testing.T) {
		q := march
		q.Environment = "staging"
		got, err := s.PromptAnalytics(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		wantStats(t, "total", got.Total, statsV2)
		if len(got.ByVersion) != 1 || got.ByVersion[0].Version != 2 || len(got.ByEnvironment) != 1 {
			t.Errorf("by version %+v, by environment %+v; want only version 2 in staging", got.ByVersion, got.ByEnvironment)
		}
	})

	t.Run("a mode filters", func(t *testing.T) {
		q := march
		q.Mode = registry.ModePlayground
		got, err := s.PromptAnalytics(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		wantStats(t, "total", got.Total, stats(5, 0, 7, 7, 7, 0, 0, math.NaN(), 5))
		if len(got.ByVersion) != 1 || got.ByVersion[0].Version != 0 {
			t.Errorf("by version %+v, want version 0", got.ByVersion)
		}
	})

	t.Run("the window bounds creation times, each end open when zero", func(t *testing.T) {
		got, err := s.PromptAnalytics(ctx, registry.AnalyticsQuery{PromptName: "a", Mode: "git", Until: march.Since})
		if err != nil {
			t.Fatal(err)
		}
		wantStats(t, "before March", got.Total, stats(10, 0, 99999, 99999, 99999, 0, 0, math.NaN(), 10))
		got, err = s.PromptAnalytics(ctx, registry.AnalyticsQuery{PromptName: "a", Mode: "git", Since: time.Date(2025, 3, 2, 15, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		wantStats(t, "from March 2, 15:00", got.Total, statsV2)
		got, err = s.PromptAnalytics(ctx, registry.AnalyticsQuery{PromptName: "a", Mode: "git"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Total.Executions != 210 {
			t.Errorf("all time: %d executions, want 210", got.Total.Executions)
		}
	})

	t.Run("a prompt without executions has zero figures", func(t *testing.T) {
		got, err := s.PromptAnalytics(ctx, registry.AnalyticsQuery{PromptName: "nope", Bucket: "day"})
		if err != nil {
			t.Fatal(err)
		}
		want := registry.PromptAnalytics{PromptName: "nope", ByVersion: []registry.PromptStats{}, ByEnvironment: []registry.PromptStats{}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})

	for _, tt := range []struct {
		name string
		q    registry.AnalyticsQuery
	}{
		{"no prompt", registry.AnalyticsQuery{}},
		{"an unknown bucket", registry.AnalyticsQuery{PromptName: "a", Bucket: "week"}},
		{"until before since", registry.AnalyticsQuery{PromptName: "a", Since: march.Until, Until: march.Since}},
	} {
		t.Run(tt.name+" is invalid", func(t *testing.T) {
			_, err := s.PromptAnalytics(ctx, tt.q)
			wantCode(t, err, registry.EINVALID)
		})
	}
}

// wantStarts checks the starts of a series.
func wantStarts(t *testing.T, series []registry.BucketStats, want ...string) {
	t.Helper()
	var got []string
	for _, b := range series {
		got = append(got, b.Start.Format(time.RFC3339))
		if b.Start.Location() != time.UTC {
			t.Errorf("start %v not in UTC", b.Start)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("series starts %q, want %q", got, want)
	}
}

func TestPromptsAnalytics(t *testing.T) {
	ctx := context.Background()
	s := analyticsDB(t)
	q := registry.AnalyticsQuery{Mode: "git",
		Since: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Until: time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC)}

	got, err := s.PromptsAnalytics(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].PromptName != "a" || got[1].PromptName != "b" {
		t.Fatalf("prompts %+v, want a and b", got)
	}
	wantStats(t, "a", got[0].Stats, statsA)
	wantStats(t, "b", got[1].Stats, statsB)

	q.Environment = "staging"
	if got, err = s.PromptsAnalytics(ctx, q); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].PromptName != "a" {
		t.Fatalf("staging: prompts %+v, want a", got)
	}
	wantStats(t, "a in staging", got[0].Stats, statsV2)

	q.Environment = "nowhere"
	if got, err = s.PromptsAnalytics(ctx, q); err != nil || got == nil || len(got) != 0 {
		t.Errorf("no executions: %#v, %v; want an empty slice", got, err)
	}

	_, err = s.PromptsAnalytics(ctx, registry.AnalyticsQuery{Bucket: "week"})
	wantCode(t, err, registry.EINVALID)
}
