package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// execGen makes realistic executions, deterministically: 100 prompts of 5
// versions each, run in 3 environments (60/30/10%) on 4 models (one of them
// unpriced); 95% succeed, 4% fail, 1% are cancelled; latencies are
// log-normal around a median of 300 ms to 3 s that depends on the prompt
// and its version (p99 ≈ 4× the median); one execution every few seconds
// over the days after start.
type execGen struct {
	r       *rand.Rand
	n       int
	start   time.Time
	step    time.Duration // between two executions
	input   string        // the rendered input of every execution
	output  string
	prompts int
}

func newExecGen(seed uint64, bodySize int) *execGen {
	return &execGen{
		r:       rand.New(rand.NewPCG(seed, 1)),
		start:   time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC),
		step:    2500 * time.Millisecond, // 1,000,000 executions over 29 days
		input:   `[{"role":"system","content":"` + strings.Repeat("You answer support questions. ", bodySize/30) + `"},{"role":"user","content":"Where is my order?"}]`,
		output:  strings.Repeat("Your order left our warehouse. ", bodySize/60),
		prompts: 100,
	}
}

var (
	genEnvironments = []string{"production", "staging", "development"}
	genModels       = []struct {
		provider, model string
		in, out         float64 // USD per million tokens; 0: unknown
	}{
		{"openai", "gpt-4o-mini", 0.15, 0.60},
		{"openai", "gpt-4o", 2.50, 10},
		{"anthropic", "claude-sonnet-4", 3, 15},
		{"openai", "llama-3.1-70b", 0, 0}, // a local server: no price
	}
	genModes = []string{"git", "full", "tracking"}
)

// next returns the next execution.
func (g *execGen) next() registry.Execution {
	i := g.n
	g.n++
	r := g.r
	p := r.IntN(g.prompts)
	v := 1 + r.IntN(5)
	env := genEnvironments[0]
	switch x := r.IntN(10); {
	case x >= 9:
		env = genEnvironments[2]
	case x >= 6:
		env = genEnvironments[1]
	}
	m := genModels[(p+r.IntN(2))%len(genModels)]
	created := g.start.Add(time.Duration(i)*g.step + time.Duration(r.IntN(2000))*time.Millisecond)
	median := 300 + float64((p*37+v*101)%2700)
	latency := int64(median * math.Exp(0.6*r.NormFloat64()))
	ttft := latency / 4
	pt, ct := 200+r.IntN(1800), 50+r.IntN(750)
	e := registry.Execution{
		ID:            fmt.Sprintf("ex_%012x%016x%04x", created.UnixMilli(), r.Uint64(), r.Uint32()&0xffff), // as executions.NewID makes them
		Status:        registry.StatusSucceeded,
		Mode:          genModes[p%len(genModes)],
		Origin:        "ingest",
		PromptName:    fmt.Sprintf("team-%02d/prompt-%03d", p%10, p),
		Version:       v,
		Checksum:      checksum(fmt.Sprintf("%d %d", p, v)),
		Commit:        sha(fmt.Sprintf("%d %d", p, v)),
		Environment:   env,
		Provider:      m.provider,
		Model:         m.model,
		Input:         g.input,
		Params:        map[string]any{"temperature": 0.2, "max_tokens": 800.0},
		Output:        g.output,
		Usage:         registry.Usage{PromptTokens: pt, CompletionTokens: ct},
		LatencyMS:     latency,
		TTFTMS:        &ttft,
		Metadata:      map[string]any{"user": fmt.Sprintf("u-%d", r.IntN(5000)), "feature": "support"},
		CorrelationID: fmt.Sprintf("req-%d", i),
		KeyID:         "key-ingest",
		Attempts:      1,
		CreatedAt:     created,
	}
	if m.in > 0 {
		c := (float64(pt)*m.in + float64(ct)*m.out) / 1e6
		e.CostUSD = &c
	}
	started := created
	finished := created.Add(time.Duration(latency) * time.Millisecond)
	e.StartedAt, e.FinishedAt = &started, &finished
	switch x := r.IntN(100); {
	case x < 4:
		e.Status, e.ErrorClass, e.Error, e.Output = registry.StatusFailed, registry.ClassRateLimited, "429 after 3 retries", ""
		e.Usage, e.CostUSD, e.TTFTMS = registry.Usage{}, nil, nil
	case x < 5:
		e.Status, e.ErrorClass, e.Error, e.Output = registry.StatusCancelled, registry.ClassCancelled, "cancelled while running", ""
	}
	return e
}

// batch returns the next n executions.
func (g *execGen) batch(n int) []registry.Execution {
	es := make([]registry.Execution, n)
	for i := range es {
		es[i] = g.next()
	}
	return es
}

// plainInsert inserts es the plain way: one single-row INSERT statement,
// prepared once, executed per row in one transaction on the writer.
func plainInsert(ctx context.Context, s *Store, es []registry.Execution) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, insertSQL("executions", execInsert, 1))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := range es {
		e := &es[i]
		params, _ := json.Marshal(e.Params)
		metadata, _ := json.Marshal(e.Metadata)
		if _, err := stmt.ExecContext(ctx,
			e.ID, e.Status, e.Mode, e.Origin, e.PromptName, e.Version, e.Checksum, e.Commit,
			e.Environment, e.Provider, e.Model, e.Input, e.InputHash, string(params), e.Output,
			e.ErrorClass, e.Error, e.Usage.PromptTokens, e.Usage.CompletionTokens, e.Usage.CachedTokens,
			e.LatencyMS, int64Value(e.TTFTMS), floatValue(e.CostUSD), string(metadata), e.CorrelationID, e.KeyID,
			e.Attempts, timeValue(e.CreatedAt), timePtrValue(e.StartedAt), timePtrValue(e.FinishedAt), nil); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ingestBody is the size of the rendered input and output of the ingest
// benchmark's executions, in bytes (about: a system prompt and an answer).
const ingestBody = 1000

// BenchmarkInsertExecutions measures the ingest path: batches of 100 (and
// of 1,000, the most one ingest call takes) through InsertExecutions,
// against the floor of plain INSERTs of the same kind of rows (a
// single-row statement executed per row, one transaction per batch),
// alternating in the same file, so that both see the same table size and
// the same machine load. Reports rows/s of each and their ratio.
func BenchmarkInsertExecutions(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			ctx := context.Background()
			s := openAt(b, dbPath(b), nil)
			g := newExecGen(1, ingestBody)
			var store, plain time.Duration
			for b.Loop() {
				es := g.batch(size)
				t0 := time.Now()
				if err := s.InsertExecutions(ctx, es); err != nil {
					b.Fatal(err)
				}
				es = g.batch(size)
				t1 := time.Now()
				if err := plainInsert(ctx, s, es); err != nil {
					b.Fatal(err)
				}
				store, plain = store+t1.Sub(t0), plain+time.Since(t1)
			}
			rows := float64(size * b.N)
			b.ReportMetric(rows/store.Seconds(), "rows/s")
			b.ReportMetric(rows/plain.Seconds(), "plain-rows/s")
			b.ReportMetric(plain.Seconds()/store.Seconds(), "x-plain")
		})
	}
}

// execIndexes are the secondary indexes of executions, as migration 6
// creates them.
func execIndexes(t testing.TB, s *Store) map[string]string {
	t.Helper()
	rows, err := s.reader.Query("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'executions' AND sql IS NOT NULL")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			t.Fatal(err)
		}
		out[name] = def
	}
	if err := closeRows(rows); err != nil {
		t.Fatal(err)
	}
	return out
}

// droppedIndexes are indexes of executions that migration 6 does not
// create, because BenchmarkExecutionIndexes showed they cost more on ingest
// than they save: the filters they would serve are on columns of a few
// values, which pages read newest first from the table fill soon.
var droppedIndexes = map[string]string{
	"environment": "CREATE INDEX zz_environment ON executions (environment)",
	"model":       "CREATE INDEX zz_model ON executions (model)",
	"mode":        "CREATE INDEX zz_mode ON executions (mode)",
	// executions_prompt serves the listing by prompt, as (prompt_name,
	// seq) would.
	"prompt-seq": "CREATE INDEX zz_prompt_seq ON executions (prompt_name)",
}

// BenchmarkExecutionIndexes measures what the secondary indexes of
// executions cost the ingest path: batches of 100 through
// InsertExecutions into a file with the migration's indexes ("kept"), with
// none, with each of them alone, and with the kept ones plus each dropped
// one. The variants take turns, one batch each per round, so that they
// share the machine's load and their tables grow alike. Run it with enough
// rounds for the tables to grow (-benchtime 1000x: 100,000 rows each).
func BenchmarkExecutionIndexes(b *testing.B) {
	ctx := context.Background()
	kept := execIndexes(b, openAt(b, dbPath(b), nil))
	type variant struct {
		name  string
		s     *Store
		g     *execGen
		spent time.Duration
	}
	var variants []*variant
	add := func(name string, keep func(index string) bool, extra string) {
		v := &variant{name: name, s: openAt(b, dbPath(b), nil), g: newExecGen(2, ingestBody)}
		for index := range kept {
			if !keep(index) {
				if _, err := v.s.writer.Exec("DROP INDEX " + index); err != nil {
					b.Fatal(err)
				}
			}
		}
		if extra != "" {
			if _, err := v.s.writer.Exec(extra); err != nil {
				b.Fatal(err)
			}
		}
		variants = append(variants, v)
	}
	add("kept", func(string) bool { return true }, "")
	add("none", func(string) bool { return false }, "")
	for index := range kept {
		add("only-"+index, func(i string) bool { return i == index }, "")
	}
	for name, def := range droppedIndexes {
		add("kept+"+name, func(string) bool { return true }, def)
	}
	for b.Loop() {
		for _, v := range variants {
			es := v.g.batch(100)
			t0 := time.Now()
			if err := v.s.InsertExecutions(ctx, es); err != nil {
				b.Fatal(err)
			}
			v.spent += time.Since(t0)
		}
	}
	for _, v := range variants {
		b.ReportMetric(float64(100*b.N)/v.spent.Seconds(), v.name+"-rows/s")
	}
}

// The analytics benchmark's database: 1,000,000 executions of 100 prompts
// × 5 versions × 3 environments over 29 days, with bodies of about this
// size (the figures do not depend on it: analytics read an index).
const (
	fixtureExecutions = 1_000_000
	fixtureBody       = 200
)

// execFixture returns a store holding n executions from newExecGen(3, …).
// It inserts them through InsertExecutions in batches of 1,000 without the
// secondary indexes, then creates them (as the migration defines them):
// building an index at once is several times faster than keeping it up to
// date row by row, and the result is the same.
func execFixture(b *testing.B, n int) (*Store, *execGen) {
	ctx := context.Background()
	path := dbPath(b)
	s := openAt(b, path, nil)
	defs := execIndexes(b, s)
	for name := range defs {
		if _, err := s.writer.Exec("DROP INDEX " + name); err != nil {
			b.Fatal(err)
		}
	}
	g := newExecGen(3, fixtureBody)
	for done := 0; done < n; done += 1000 {
		if err := s.InsertExecutions(ctx, g.batch(min(1000, n-done))); err != nil {
			b.Fatal(err)
		}
	}
	for _, def := range defs {
		if _, err := s.writer.Exec(def); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.writer.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	return s, g
}

// BenchmarkExecutionQueries measures analytics and listing over 1,000,000
// executions; the database is built once (about a minute).
func BenchmarkExecutionQueries(b *testing.B) {
	ctx := context.Background()
	t0 := time.Now()
	s, g := execFixture(b, fixtureExecutions)
	var pages, size int64
	if err := s.reader.QueryRow("SELECT page_count, page_size FROM pragma_page_count, pragma_page_size").Scan(&pages, &size); err != nil {
		b.Fatal(err)
	}
	b.Logf("fixture: %d executions, %.0f MB, built in %v", fixtureExecutions, float64(pages*size)/1e6, time.Since(t0).Round(time.Second))
	end := g.start.Add(time.Duration(fixtureExecutions) * g.step)
	prompt := "team-02/prompt-042"

	analytics := []struct {
		name string
		q    registry.AnalyticsQuery
	}{
		{"PromptAnalytics", registry.AnalyticsQuery{PromptName: prompt}},
		{"PromptAnalytics/day", registry.AnalyticsQuery{PromptName: prompt, Bucket: "day"}},
		{"PromptAnalytics/hour-7d", registry.AnalyticsQuery{PromptName: prompt, Bucket: "hour", Since: end.Add(-7 * 24 * time.Hour)}},
		{"PromptAnalytics/production-1d", registry.AnalyticsQuery{PromptName: prompt, Environment: "production", Since: end.Add(-24 * time.Hour)}},
	}
	for _, a := range analytics {
		b.Run(a.name, func(b *testing.B) {
			for b.Loop() {
				pa, err := s.PromptAnalytics(ctx, a.q)
				if err != nil {
					b.Fatal(err)
				}
				if pa.Total.Executions == 0 {
					b.Fatal("no executions")
				}
			}
		})
	}
	all := []struct {
		name string
		q    registry.AnalyticsQuery
	}{
		{"PromptsAnalytics", registry.AnalyticsQuery{}},
		{"PromptsAnalytics/1d", registry.AnalyticsQuery{Since: end.Add(-24 * time.Hour)}},
	}
	for _, a := range all {
		b.Run(a.name, func(b *testing.B) {
			for b.Loop() {
				ps, err := s.PromptsAnalytics(ctx, a.q)
				if err != nil {
					b.Fatal(err)
				}
				if len(ps) != 100 {
					b.Fatalf("%d prompts", len(ps))
				}
			}
		})
	}

	// A cursor 100 pages into the prompt's executions.
	deep, err := s.Executions(ctx, registry.ExecutionQuery{PromptName: prompt, Limit: 1000})
	if err != nil {
		b.Fatal(err)
	}
	deep, err = s.Executions(ctx, registry.ExecutionQuery{PromptName: prompt, Limit: 1000, Cursor: deep.Next})
	if err != nil {
		b.Fatal(err)
	}
	day10 := g.start.Add(10 * 24 * time.Hour)
	lists := []struct {
		name  string
		q     registry.ExecutionQuery
		empty bool
	}{
		{"Executions", registry.ExecutionQuery{}, false},
		{"Executions/prompt", registry.ExecutionQuery{PromptName: prompt}, false},
		{"Executions/prompt-page-40", registry.ExecutionQuery{PromptName: prompt, Cursor: deep.Next}, false},
		{"Executions/failed", registry.ExecutionQuery{Status: registry.StatusFailed}, false},
		{"Executions/model", registry.ExecutionQuery{Model: "gpt-4o"}, false},
		{"Executions/since-1h", registry.ExecutionQuery{Since: end.Add(-time.Hour)}, false},
		{"Executions/queued-since-1h", registry.ExecutionQuery{Status: registry.StatusQueued, Since: end.Add(-time.Hour)}, true},
		{"Executions/day-10", registry.ExecutionQuery{Since: day10, Until: day10.Add(24 * time.Hour)}, false},
		{"Executions/all-days", registry.ExecutionQuery{Since: g.start, Until: end.Add(time.Hour)}, false},
		{"Executions/prompt-day-10", registry.ExecutionQuery{PromptName: prompt, Since: day10, Until: day10.Add(24 * time.Hour)}, false},
		// The worst case: a filter that no index serves and that matches
		// nothing reads the whole table.
		{"Executions/unused-model", registry.ExecutionQuery{Model: "unused"}, true},
	}
	for _, l := range lists {
		b.Run(l.name, func(b *testing.B) {
			for b.Loop() {
				p, err := s.Executions(ctx, l.q)
				if err != nil {
					b.Fatal(err)
				}
				if (len(p.Executions) == 0) != l.empty {
					b.Fatalf("%d executions", len(p.Executions))
				}
			}
		})
	}
	b.Run("Open", func(b *testing.B) {
		for b.Loop() {
			s2, err := Open(ctx, Options{Path: s.path})
			if err != nil {
				b.Fatal(err)
			}
			s2.Close()
		}
	})
}
