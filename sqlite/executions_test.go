package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// t0 is the creation time of the first test execution.
var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// succeeded returns a succeeded execution of prompt "p" version 1 in production,
// created at t0 plus i minutes, with ID id.
func succeeded(id string, i int) registry.Execution {
	created := t0.Add(time.Duration(i) * time.Minute)
	finished := created.Add(time.Second)
	return registry.Execution{
		ID: id, Status: registry.StatusSucceeded, Mode: "git", Origin: "server",
		PromptName: "p", Version: 1, Environment: "production", Provider: "openai", Model: "gpt-4o",
		Output: "ok", LatencyMS: 1000, Attempts: 1,
		CreatedAt: created, StartedAt: &created, FinishedAt: &finished,
	}
}

// queued returns a queued execution of prompt "p" with its work.
func queued(id string, i int) registry.Execution {
	e := succeeded(id, i)
	e.Status, e.Output, e.LatencyMS, e.Attempts = registry.StatusQueued, "", 0, 0
	e.StartedAt, e.FinishedAt = nil, nil
	e.Work = json.RawMessage(`{"request":{"model":"gpt-4o","n":` + fmt.Sprint(i) + `}}`)
	return e
}

// insert inserts es in one call.
func insert(t *testing.T, s *Store, es ...registry.Execution) {
	t.Helper()
	if err := s.InsertExecutions(context.Background(), es); err != nil {
		t.Fatalf("InsertExecutions: %v", err)
	}
}

// execIDs returns the IDs of es.
func execIDs(es []registry.Execution) []string {
	ids := []string{}
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return ids
}

// storedWork returns the work column of execution id (nil for NULL).
func storedWork(t *testing.T, s *Store, id string) []byte {
	t.Helper()
	var w []byte
	if err := s.reader.QueryRow("SELECT work FROM executions WHERE id = ?", id).Scan(&w); err != nil {
		t.Fatal(err)
	}
	return w
}

// wantCode checks that err has code.
func wantCode(t *testing.T, err error, code string, parts ...string) {
	t.Helper()
	if got := registry.ErrorCode(err); got != code {
		t.Fatalf("code %q, want %q (%v)", got, code, err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestInsertExecutions(t *testing.T) {
	ctx := context.Background()

	t.Run("round-trips every field, times in UTC", func(t *testing.T) {
		s := open(t)
		zone := time.FixedZone("PST", -8*3600)
		created := time.Date(2025, 5, 1, 8, 30, 0, 987654321, zone)
		started, finished := created.Add(time.Second), created.Add(3*time.Second)
		e := registry.Execution{
			ID: "ex_1", Status: registry.StatusFailed, Mode: "tracking", Origin: "ingest",
			PromptName: "support/triage", Version: 7, Checksum: checksum("v7"), Commit: sha("c7"),
			Environment: "staging", Provider: "anthropic", Model: "claude-sonnet-4",
			Input: `[{"role":"user","content":"hi"}]`, InputHash: checksum("input"),
			Params: map[string]any{"temperature": 0.2, "stop": []any{"\n"}, "nested": map[string]any{"a": true}},
			Output: "partial", ErrorClass: registry.ClassRateLimited, Error: "429 after 3 retries",
			Usage:     registry.Usage{PromptTokens: 120, CompletionTokens: 30, CachedTokens: 100},
			LatencyMS: 2345, TTFTMS: ptr(int64(456)), CostUSD: ptr(0.00123),
			Metadata:      map[string]any{"user": "u-1", "n": 3.0},
			CorrelationID: "req-9", KeyID: "key-1", Attempts: 2,
			CreatedAt: created, StartedAt: &started, FinishedAt: &finished,
		}
		insert(t, s, e)
		got, err := s.Execution(ctx, "ex_1")
		if err != nil {
			t.Fatal(err)
		}
		want := e
		want.CreatedAt = created.UTC()
		want.StartedAt, want.FinishedAt = ptr(started.UTC()), ptr(finished.UTC())
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("created_at in %v, want UTC", got.CreatedAt.Location())
		}
	})

	t.Run("optional fields stay unset", func(t *testing.T) {
		s := open(t)
		e := registry.Execution{ID: "ex_min", Status: registry.StatusSucceeded, CreatedAt: t0}
		insert(t, s, e)
		got, err := s.Execution(ctx, "ex_min")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("got  %+v\nwant %+v", got, e)
		}
	})

	t.Run("a zero CreatedAt comes from the injected clock", func(t *testing.T) {
		clk := newClock()
		s := openAt(t, dbPath(t), clk)
		clk.Advance(time.Hour)
		insert(t, s, registry.Execution{ID: "ex_1", Status: registry.StatusSucceeded})
		got, err := s.Execution(ctx, "ex_1")
		if err != nil {
			t.Fatal(err)
		}
		if !got.CreatedAt.Equal(clk.Now()) {
			t.Errorf("created_at %v, want %v", got.CreatedAt, clk.Now())
		}
	})

	t.Run("the work of a queued execution is kept and of a finished one dropped", func(t *testing.T) {
		s := open(t)
		q := queued("ex_q", 0)
		done := succeeded("ex_done", 1)
		done.Work = json.RawMessage(`{"stale":true}`)
		insert(t, s, q, done)
		if got := storedWork(t, s, "ex_q"); string(got) != string(q.Work) {
			t.Errorf("work of the queued execution %q, want %q", got, q.Work)
		}
		if got := storedWork(t, s, "ex_done"); got != nil {
			t.Errorf("work of the finished execution %q, want none", got)
		}
		got, err := s.Execution(ctx, "ex_q")
		if err != nil {
			t.Fatal(err)
		}
		if got.Work != nil {
			t.Errorf("Execution returned work %q, want none", got.Work)
		}
	})

	t.Run("batches of any size keep their order", func(t *testing.T) {
		s := open(t)
		var want []string
		for _, n := range []int{1, 2, 63, 64, 65, 127, 1000} {
			var es []registry.Execution
			for i := range n {
				id := fmt.Sprintf("ex_%d_%04d", n, i)
				es = append(es, succeeded(id, i))
				want = append(want, id)
			}
			insert(t, s, es...)
		}
		got, err := queryStrings(ctx, s.reader, "SELECT id FROM executions ORDER BY seq")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d ids stored, want %d in insertion order", len(got), len(want))
		}
	})

	t.Run("an empty batch does nothing", func(t *testing.T) {
		if err := open(t).InsertExecutions(ctx, nil); err != nil {
			t.Errorf("InsertExecutions(nil) = %v", err)
		}
	})

	t.Run("a stored id refuses the whole batch, naming it", func(t *testing.T) {
		s := open(t)
		insert(t, s, succeeded("ex_a", 0))
		var batch []registry.Execution
		for i := range 150 {
			batch = append(batch, succeeded(fmt.Sprintf("ex_new_%03d", i), i))
		}
		batch[140] = succeeded("ex_a", 140)
		err := s.InsertExecutions(ctx, batch)
		wantCode(t, err, registry.EINVALID, `"ex_a"`, "exists")
		var n int
		if err := s.reader.QueryRow("SELECT count(*) FROM executions").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%d executions stored, want only the first", n)
		}
		// The store still takes the batch without the duplicate.
		if err := s.InsertExecutions(ctx, batch[:140]); err != nil {
			t.Errorf("the batch without the duplicate: %v", err)
		}
	})

	for _, tt := range []struct {
		name  string
		es    []registry.Execution
		parts []string
	}{
		{"an id twice in the batch is refused", []registry.Execution{succeeded("ex_1", 0), succeeded("ex_2", 1), succeeded("ex_1", 2)}, []string{`"ex_1"`, "twice"}},
		{"a missing id is refused", []registry.Execution{succeeded("ex_1", 0), succeeded("", 1)}, []string{"2 of 2", "no id"}},
		{"an unknown status is refused", []registry.Execution{func() registry.Execution { e := succeeded("ex_1", 0); e.Status = "done"; return e }()}, []string{`"ex_1"`, `"done"`}},
		{"params that are not JSON are refused", []registry.Execution{func() registry.Execution {
			e := succeeded("ex_1", 0)
			e.Params = map[string]any{"t": math.NaN()}
			return e
		}()}, []string{`"ex_1"`, "params"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			wantCode(t, s.InsertExecutions(ctx, tt.es), registry.EINVALID, tt.parts...)
			var n int
			if err := s.reader.QueryRow("SELECT count(*) FROM executions").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Errorf("%d executions stored, want none", n)
			}
		})
	}

	t.Run("an unknown id is not found", func(t *testing.T) {
		_, err := open(t).Execution(ctx, "ex_nope")
		wantCode(t, err, registry.ENOTFOUND, "ex_nope")
	})
}

func TestExecutions(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	// Inserted in this order; created one minute apart, but for x9, an
	// ingested execution created before all the others.
	vary := []func(e *registry.Execution){
		func(e *registry.Execution) {},
		func(e *registry.Execution) { e.PromptName = "q" },
		func(e *registry.Execution) { e.Status, e.ErrorClass = registry.StatusFailed, registry.ClassTimeout },
		func(e *registry.Execution) { e.Environment = "staging" },
		func(e *registry.Execution) { e.Model = "gpt-4o-mini" },
		func(e *registry.Execution) { e.Mode = registry.ModePlayground; e.Version = 0 },
		func(e *registry.Execution) { e.Version = 2 },
		func(e *registry.Execution) { e.PromptName, e.Environment = "q", "staging" },
		func(e *registry.Execution) { e.Status, e.StartedAt, e.FinishedAt = registry.StatusQueued, nil, nil },
		func(e *registry.Execution) { e.Origin, e.CreatedAt = "ingest", t0.Add(-24*time.Hour) },
	}
	var all []registry.Execution
	for i, f := range vary {
		e := succeeded(fmt.Sprintf("x%d", i), i)
		f(&e)
		all = append(all, e)
	}
	insert(t, s, all...)

	for _, tt := range []struct {
		name string
		q    registry.ExecutionQuery
		want string
	}{
		{"all are newest first", registry.ExecutionQuery{}, "x9 x8 x7 x6 x5 x4 x3 x2 x1 x0"},
		{"a prompt filters", registry.ExecutionQuery{PromptName: "q"}, "x7 x1"},
		{"a version filters", registry.ExecutionQuery{PromptName: "p", Version: 2}, "x6"},
		{"a status filters", registry.ExecutionQuery{Status: registry.StatusFailed}, "x2"},
		{"the queued status filters", registry.ExecutionQuery{Status: registry.StatusQueued}, "x8"},
		{"an environment filters", registry.ExecutionQuery{Environment: "staging"}, "x7 x3"},
		{"a model filters", registry.ExecutionQuery{Model: "gpt-4o-mini"}, "x4"},
		{"a mode filters", registry.ExecutionQuery{Mode: registry.ModePlayground}, "x5"},
		{"filters combine", registry.ExecutionQuery{PromptName: "q", Environment: "staging"}, "x7"},
		{"since includes its instant", registry.ExecutionQuery{Since: t0.Add(7 * time.Minute)}, "x8 x7"},
		{"until excludes its instant", registry.ExecutionQuery{Until: t0.Add(time.Minute)}, "x9 x0"},
		{"a window and a prompt combine", registry.ExecutionQuery{PromptName: "p", Since: t0.Add(2 * time.Minute), Until: t0.Add(7 * time.Minute)}, "x6 x5 x4 x3 x2"},
		{"a window and a status combine", registry.ExecutionQuery{Status: registry.StatusSucceeded, Since: t0.Add(2 * time.Minute), Until: t0.Add(7 * time.Minute)}, "x6 x5 x4 x3"},
		{"a limit cuts the page", registry.ExecutionQuery{Limit: 3}, "x9 x8 x7"},
		{"a cursor continues after its row", registry.ExecutionQuery{Cursor: "8", Limit: 3}, "x6 x5 x4"},
		{"a cursor and a filter combine", registry.ExecutionQuery{PromptName: "q", Cursor: "8"}, "x1"},
		{"a cursor past the oldest is empty", registry.ExecutionQuery{Cursor: "1"}, ""},
		{"an unknown prompt is empty", registry.ExecutionQuery{PromptName: "nope"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			page, err := s.Executions(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(execIDs(page.Executions), " "); got != tt.want {
				t.Errorf("ids %q, want %q", got, tt.want)
			}
			if tt.q.PromptName != "" || (tt.q.Since.IsZero() && tt.q.Until.IsZero()) {
				return
			}
			// Both ways of reading a time window find the same.
			for _, via := range []string{"executions_created", "table"} {
				if got := strings.Join(pageIDs(t, s, tt.q, via), " "); got != tt.want {
					t.Errorf("via %s: ids %q, want %q", via, got, tt.want)
				}
			}
		})
	}

	t.Run("pages carry every field but the work", func(t *testing.T) {
		page, err := s.Executions(ctx, registry.ExecutionQuery{PromptName: "q"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Executions) != 2 || !reflect.DeepEqual(page.Executions[1], all[1]) {
			t.Errorf("got %+v\nwant [… %+v]", page.Executions, all[1])
		}
		page, err = s.Executions(ctx, registry.ExecutionQuery{Status: registry.StatusQueued})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Executions) != 1 || page.Executions[0].Work != nil {
			t.Errorf("got %+v, want x8 without its work", page.Executions)
		}
	})

	t.Run("the cursor is the last row's and ends empty", func(t *testing.T) {
		var got []string
		q := registry.ExecutionQuery{Limit: 4}
		var cursors []string
		for {
			page, err := s.Executions(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, execIDs(page.Executions)...)
			if page.Next == "" {
				break
			}
			cursors = append(cursors, page.Next)
			q.Cursor = page.Next
		}
		if want := "x9 x8 x7 x6 x5 x4 x3 x2 x1 x0"; strings.Join(got, " ") != want {
			t.Errorf("pages %q, want %q", got, want)
		}
		// x6 and x2 end the first two pages: their sequence numbers.
		if want := []string{"7", "3"}; !reflect.DeepEqual(cursors, want) {
			t.Errorf("cursors %q, want %q", cursors, want)
		}
	})

	t.Run("a last page exactly full has no next", func(t *testing.T) {
		page, err := s.Executions(ctx, registry.ExecutionQuery{Cursor: "3", Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(execIDs(page.Executions), " "); got != "x1 x0" || page.Next != "" {
			t.Errorf("ids %q next %q, want x1 x0 and none", got, page.Next)
		}
	})

	for _, tt := range []struct {
		name string
		q    registry.ExecutionQuery
	}{
		{"a negative limit", registry.ExecutionQuery{Limit: -1}},
		{"a limit over the maximum", registry.ExecutionQuery{Limit: MaxExecutions + 1}},
		{"a cursor that is not a number", registry.ExecutionQuery{Cursor: "abc"}},
		{"a cursor of zero", registry.ExecutionQuery{Cursor: "0"}},
		{"a negative cursor", registry.ExecutionQuery{Cursor: "-5"}},
		{"a cursor with a leading zero", registry.ExecutionQuery{Cursor: "05"}},
		{"a negative version", registry.ExecutionQuery{Version: -1}},
		{"an unknown status", registry.ExecutionQuery{Status: "done"}},
		{"until before since", registry.ExecutionQuery{Since: t0, Until: t0.Add(-time.Second)}},
		{"until equal to since", registry.ExecutionQuery{Since: t0, Until: t0}},
	} {
		t.Run(tt.name+" is invalid", func(t *testing.T) {
			_, err := s.Executions(ctx, tt.q)
			wantCode(t, err, registry.EINVALID)
		})
	}

	t.Run("the limit defaults to 50 and goes up to 1000", func(t *testing.T) {
		s := open(t)
		var es []registry.Execution
		for i := range MaxExecutions + 5 {
			es = append(es, succeeded(fmt.Sprintf("ex_%04d", i), i))
		}
		insert(t, s, es...)
		for _, tt := range []struct{ limit, want int }{{0, DefaultExecutions}, {MaxExecutions, MaxExecutions}} {
			page, err := s.Executions(ctx, registry.ExecutionQuery{Limit: tt.limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Executions) != tt.want || page.Next == "" {
				t.Errorf("limit %d: %d executions, next %q; want %d and a next page", tt.limit, len(page.Executions), page.Next, tt.want)
			}
		}
	})
}

// pageIDs returns the IDs of the first page of q read via (see pageSQL).
func pageIDs(t *testing.T, s *Store, q registry.ExecutionQuery, via string) []string {
	t.Helper()
	var after int64
	if q.Cursor != "" {
		after, _ = strconv.ParseInt(q.Cursor, 10, 64)
	}
	if q.Limit == 0 {
		q.Limit = DefaultExecutions
	}
	query, args := pageSQL(q, after, via)
	rows, err := s.reader.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	var es []registry.Execution
	for rows.Next() {
		e, err := scanExecution(rows, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	if err := closeRows(rows); err != nil {
		t.Fatal(err)
	}
	return execIDs(es[:min(len(es), q.Limit)])
}

func TestExecutionsPagingWhileInserting(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	var want []string
	var es []registry.Execution
	for i := range 100 {
		id := fmt.Sprintf("ex_old_%03d", i)
		es = append(es, succeeded(id, i))
		want = append([]string{id}, want...)
	}
	insert(t, s, es...)

	var got []string
	q := registry.ExecutionQuery{PromptName: "p", Limit: 7}
	for page := 0; ; page++ {
		p, err := s.Executions(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, execIDs(p.Executions)...)
		if p.Next == "" {
			break
		}
		q.Cursor = p.Next
		// New executions, of the same prompt, between every two pages.
		insert(t, s, succeeded(fmt.Sprintf("ex_new_%02da", page), 200+page), succeeded(fmt.Sprintf("ex_new_%02db", page), 200+page))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("pages returned %d executions %v\nwant the %d there were at the first page, newest first", len(got), got, len(want))
	}
}

func TestClaimExecutions(t *testing.T) {
	ctx := context.Background()

	t.Run("claims the oldest queued ones with their work", func(t *testing.T) {
		clk := newClock()
		s := openAt(t, dbPath(t), clk)
		insert(t, s, queued("q0", 0), succeeded("done", 1), queued("q1", 2), queued("q2", 3))
		now := t0.Add(time.Hour)
		got, err := s.ClaimExecutions(ctx, 2, now)
		if err != nil {
			t.Fatal(err)
		}
		if ids := strings.Join(execIDs(got), " "); ids != "q0 q1" {
			t.Fatalf("claimed %q, want q0 q1", ids)
		}
		want := queued("q0", 0)
		want.Status, want.Attempts, want.StartedAt = registry.StatusRunning, 1, &now
		if !reflect.DeepEqual(got[0], want) {
			t.Errorf("got  %+v\nwant %+v", got[0], want)
		}
		stored, err := s.Execution(ctx, "q1")
		if err != nil {
			t.Fatal(err)
		}
		if stored.Status != registry.StatusRunning || stored.Attempts != 1 || stored.StartedAt == nil || !stored.StartedAt.Equal(now) {
			t.Errorf("stored %+v, want running since %v, attempt 1", stored, now)
		}

		got, err = s.ClaimExecutions(ctx, 10, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != "q2" || !got[0].StartedAt.Equal(clk.Now()) {
			t.Errorf("second claim %+v, want q2 started at the clock's %v", got, clk.Now())
		}
		got, err = s.ClaimExecutions(ctx, 10, now)
		if err != nil || len(got) != 0 {
			t.Errorf("claim with nothing queued = %v, %v; want none", got, err)
		}
	})

	t.Run("n below 1 is invalid", func(t *testing.T) {
		_, err := open(t).ClaimExecutions(ctx, 0, t0)
		wantCode(t, err, registry.EINVALID)
	})

	t.Run("two claimers never get the same execution", func(t *testing.T) {
		s := open(t)
		const n = 300
		var es []registry.Execution
		for i := range n {
			es = append(es, queued(fmt.Sprintf("q%03d", i), i))
		}
		insert(t, s, es...)
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := s.ClaimExecutions(ctx, 1+w, t0)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, e := range got {
						seen[e.ID]++
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != n {
			t.Errorf("%d executions claimed, want %d", len(seen), n)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("%s claimed %d times", id, k)
			}
		}
	})
}

// finish returns e finished: succeeded at t0 + 1h by a fallback model.
func finish(e registry.Execution) registry.Execution {
	done := t0.Add(time.Hour)
	e.Status, e.Output, e.FinishedAt = registry.StatusSucceeded, "answer", &done
	e.Provider, e.Model = "anthropic", "claude-sonnet-4"
	e.Usage = registry.Usage{PromptTokens: 10, CompletionTokens: 5, CachedTokens: 2}
	e.LatencyMS, e.TTFTMS, e.CostUSD = 1234, ptr(int64(100)), ptr(0.5)
	e.Work = nil
	return e
}

func TestFinishExecution(t *testing.T) {
	ctx := context.Background()

	t.Run("records the end of a running execution and drops its work", func(t *testing.T) {
		s := open(t)
		insert(t, s, queued("q", 0))
		claimed, err := s.ClaimExecutions(ctx, 1, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := finish(claimed[0])
		ok, err := s.FinishExecution(ctx, want)
		if err != nil || !ok {
			t.Fatalf("FinishExecution = %v, %v; want true", ok, err)
		}
		got, err := s.Execution(ctx, "q")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		if w := storedWork(t, s, "q"); w != nil {
			t.Errorf("work %q kept, want none", w)
		}
		// Finished: a second end changes nothing.
		again := want
		again.Output = "other"
		if ok, err := s.FinishExecution(ctx, again); ok || err != nil {
			t.Errorf("second FinishExecution = %v, %v; want false", ok, err)
		}
	})

	t.Run("a zero FinishedAt comes from the clock", func(t *testing.T) {
		clk := newClock()
		s := openAt(t, dbPath(t), clk)
		insert(t, s, queued("q", 0))
		claimed, err := s.ClaimExecutions(ctx, 1, t0)
		if err != nil {
			t.Fatal(err)
		}
		e := finish(claimed[0])
		e.FinishedAt = nil
		if ok, err := s.FinishExecution(ctx, e); !ok || err != nil {
			t.Fatalf("FinishExecution = %v, %v", ok, err)
		}
		got, _ := s.Execution(ctx, "q")
		if got.FinishedAt == nil || !got.FinishedAt.Equal(clk.Now()) {
			t.Errorf("finished_at %v, want %v", got.FinishedAt, clk.Now())
		}
	})

	t.Run("a queued execution is not finished", func(t *testing.T) {
		s := open(t)
		insert(t, s, queued("q", 0))
		if ok, err := s.FinishExecution(ctx, finish(queued("q", 0))); ok || err != nil {
			t.Errorf("FinishExecution = %v, %v; want false", ok, err)
		}
		if got, _ := s.Execution(ctx, "q"); got.Status != registry.StatusQueued {
			t.Errorf("status %q, want queued", got.Status)
		}
	})

	t.Run("an unknown execution is not found", func(t *testing.T) {
		_, err := open(t).FinishExecution(ctx, finish(queued("nope", 0)))
		wantCode(t, err, registry.ENOTFOUND, "nope")
	})

	t.Run("a status that does not end it is invalid", func(t *testing.T) {
		e := finish(queued("q", 0))
		e.Status = registry.StatusRunning
		_, err := open(t).FinishExecution(ctx, e)
		wantCode(t, err, registry.EINVALID)
	})
}

func TestCancelExecution(t *testing.T) {
	ctx := context.Background()

	t.Run("cancels a queued and a running execution", func(t *testing.T) {
		s := open(t)
		insert(t, s, queued("q0", 0), queued("q1", 1))
		if _, err := s.ClaimExecutions(ctx, 1, t0); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(time.Hour)
		for _, tt := range []struct{ id, was string }{{"q1", "queued"}, {"q0", "running"}} {
			got, err := s.CancelExecution(ctx, tt.id, now)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != registry.StatusCancelled || got.ErrorClass != registry.ClassCancelled ||
				got.Error != "cancelled while "+tt.was || got.FinishedAt == nil || !got.FinishedAt.Equal(now) {
				t.Errorf("%s: got %+v, want cancelled while %s at %v", tt.id, got, tt.was, now)
			}
			if stored, _ := s.Execution(ctx, tt.id); !reflect.DeepEqual(stored, got) {
				t.Errorf("%s: stored %+v\nreturned %+v", tt.id, stored, got)
			}
			if w := storedWork(t, s, tt.id); w != nil {
				t.Errorf("%s: work %q kept, want none", tt.id, w)
			}
		}
		// The worker of q0 learns it when it finishes.
		if ok, err := s.FinishExecution(ctx, finish(queued("q0", 0))); ok || err != nil {
			t.Errorf("FinishExecution after the cancel = %v, %v; want false", ok, err)
		}
		if got, _ := s.Execution(ctx, "q0"); got.Status != registry.StatusCancelled || got.Output != "" {
			t.Errorf("after the worker's end: %+v, want it still cancelled", got)
		}
	})

	t.Run("a finished execution conflicts", func(t *testing.T) {
		s := open(t)
		insert(t, s, succeeded("done", 0))
		_, err := s.CancelExecution(ctx, "done", t0)
		wantCode(t, err, registry.ECONFLICT, "done", "succeeded")
		if _, err := s.CancelExecution(ctx, "nope", t0); registry.ErrorCode(err) != registry.ENOTFOUND {
			t.Errorf("cancel of an unknown execution: %v, want not found", err)
		}
	})

	t.Run("a cancel racing a finish: exactly one wins", func(t *testing.T) {
		s := open(t)
		const n = 100
		var es []registry.Execution
		for i := range n {
			es = append(es, queued(fmt.Sprintf("q%03d", i), i))
		}
		insert(t, s, es...)
		running, err := s.ClaimExecutions(ctx, n, t0)
		if err != nil || len(running) != n {
			t.Fatalf("claimed %d, %v", len(running), err)
		}
		type result struct {
			cancelled, finished bool
		}
		results := make([]result, n)
		var wg sync.WaitGroup
		for i, e := range running {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, err := s.CancelExecution(ctx, e.ID, t0)
				switch registry.ErrorCode(err) {
				case "":
					results[i].cancelled = true
				case registry.ECONFLICT:
				default:
					t.Error(err)
				}
			}()
			go func() {
				defer wg.Done()
				ok, err := s.FinishExecution(ctx, finish(e))
				if err != nil {
					t.Error(err)
				}
				results[i].finished = ok
			}()
		}
		wg.Wait()
		for i, r := range results {
			got, err := s.Execution(ctx, running[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			want := registry.StatusSucceeded
			if r.cancelled {
				want = registry.StatusCancelled
			}
			if r.cancelled == r.finished || got.Status != want {
				t.Errorf("%s: cancelled %v, finished %v, status %s; want exactly one to win", got.ID, r.cancelled, r.finished, got.Status)
			}
		}
	})
}

func TestRecoverExecutions(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	insert(t, s, queued("once", 0), queued("twice", 1), queued("thrice", 2), queued("waiting", 3), succeeded("done", 4))
	// twice and thrice were started before, by runs that also stopped.
	if _, err := s.writer.Exec("UPDATE executions SET attempts = 1 WHERE id = 'twice'; UPDATE executions SET attempts = 2 WHERE id = 'thrice'"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimExecutions(ctx, 3, t0); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Hour)
	requeued, failed, err := s.RecoverExecutions(ctx, 2, now)
	if err != nil {
		t.Fatal(err)
	}
	if requeued != 1 || failed != 2 {
		t.Errorf("requeued %d, failed %d; want 1, 2", requeued, failed)
	}

	once, _ := s.Execution(ctx, "once")
	if once.Status != registry.StatusQueued || once.Attempts != 1 || once.StartedAt != nil || storedWork(t, s, "once") == nil {
		t.Errorf("once: %+v, want queued again with its work, 1 attempt, not started", once)
	}
	for _, tt := range []struct {
		id, msg string
	}{{"twice", "the server stopped while it ran, 2 times"}, {"thrice", "the server stopped while it ran, 3 times"}} {
		got, _ := s.Execution(ctx, tt.id)
		if got.Status != registry.StatusFailed || got.ErrorClass != registry.ClassInterrupted || got.Error != tt.msg ||
			got.FinishedAt == nil || !got.FinishedAt.Equal(now) {
			t.Errorf("%s: %+v, want failed (interrupted, %q) at %v", tt.id, got, tt.msg, now)
		}
		if w := storedWork(t, s, tt.id); w != nil {
			t.Errorf("%s: work %q kept, want none", tt.id, w)
		}
	}
	for _, id := range []string{"waiting", "done"} {
		got, _ := s.Execution(ctx, id)
		if got.Status == registry.StatusFailed || got.Status == registry.StatusRunning {
			t.Errorf("%s: status %s, want it untouched", id, got.Status)
		}
	}

	// Once requeued, it is claimed again, and its second stop fails it.
	if got, err := s.ClaimExecutions(ctx, 5, now); err != nil || len(got) != 2 || got[0].ID != "once" || got[0].Attempts != 2 {
		t.Fatalf("claim after recovery = %+v, %v; want once (attempt 2) and waiting", got, err)
	}
	if requeued, failed, err := s.RecoverExecutions(ctx, 2, now); err != nil || requeued != 1 || failed != 1 {
		t.Errorf("second recovery = %d, %d, %v; want waiting requeued and once failed", requeued, failed, err)
	}

	s1 := open(t)
	insert(t, s1, queued("one", 0))
	if _, err := s1.ClaimExecutions(ctx, 1, t0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s1.RecoverExecutions(ctx, 1, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := s1.Execution(ctx, "one"); got.Error != "the server stopped while it ran, 1 time" {
		t.Errorf("error %q, want the singular", got.Error)
	}
	_, _, err = s1.RecoverExecutions(ctx, 0, now)
	wantCode(t, err, registry.EINVALID)
}
