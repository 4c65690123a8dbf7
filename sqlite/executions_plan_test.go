package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// plan returns SQLite's query plan of query, one step a line.
func plan(t *testing.T, tx *sql.Tx, query string, args ...any) string {
	t.Helper()
	rows, err := tx.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	var steps []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := closeRows(rows); err != nil {
		t.Fatal(err)
	}
	return strings.Join(steps, "\n")
}

// The queries of executions use the indexes they were designed for: a
// change of a query or of the schema that makes SQLite read the whole
// table instead fails here rather than only in the benchmarks.
func TestExecutionQueryPlans(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	insert(t, s, succeeded("a", 0), queued("b", 1))
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()

	page := func(q registry.ExecutionQuery) string {
		t.Helper()
		q.Limit = DefaultExecutions
		query, args, err := pageQuery(ctx, tx, q, 42)
		if err != nil {
			t.Fatal(err)
		}
		return plan(t, tx, query, args...)
	}
	where, args, _, err := analyticsFilter("test", registry.AnalyticsQuery{PromptName: "p", Mode: "git", Since: t0, Until: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	allWhere, allArgs, _, err := analyticsFilter("test", registry.AnalyticsQuery{Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name, plan string
		want       []string
		not        []string
	}{
		{"one execution, by id", plan(t, tx, "SELECT "+execSelect+" FROM executions WHERE id = ?", "a"),
			[]string{"USING INDEX sqlite_autoindex_executions_1 (id=?)"}, nil},
		{"the claim, oldest queued first", plan(t, tx, claimSQL, "", 1),
			[]string{"COVERING INDEX executions_status (status=?)"}, []string{"TEMP B-TREE"}},
		{"a page", page(registry.ExecutionQuery{}),
			[]string{"INTEGER PRIMARY KEY (rowid<?)"}, []string{"TEMP B-TREE"}},
		{"a page of one prompt, whatever the filters", page(registry.ExecutionQuery{PromptName: "p", Status: registry.StatusFailed, Model: "m", Environment: "e", Mode: "git", Version: 2}),
			[]string{"COVERING INDEX executions_prompt (prompt_name=?)"}, nil},
		{"a page of one prompt in a window", page(registry.ExecutionQuery{PromptName: "p", Since: t0, Until: t0.Add(time.Hour)}),
			[]string{"COVERING INDEX executions_prompt (prompt_name=? AND created_at>? AND created_at<?)"}, nil},
		{"a page of one status", page(registry.ExecutionQuery{Status: registry.StatusFailed}),
			[]string{"executions_status (status=? AND rowid<?)"}, []string{"TEMP B-TREE"}},
		{"a page in a small window", page(registry.ExecutionQuery{Since: t0, Model: "m"}),
			[]string{"INDEX executions_created (created_at>?)"}, nil},
		{"one prompt's figures", plan(t, tx, groupQuery("version", where), args...),
			[]string{"COVERING INDEX executions_prompt (prompt_name=? AND created_at>? AND created_at<?)"}, nil},
		{"every prompt's figures", plan(t, tx, groupQuery("prompt_name", allWhere), allArgs...),
			[]string{"SCAN executions USING COVERING INDEX executions_prompt"}, []string{"TEMP B-TREE"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(tt.plan, w) {
					t.Errorf("plan does not say %q:\n%s", w, tt.plan)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(tt.plan, n) {
					t.Errorf("plan says %q:\n%s", n, tt.plan)
				}
			}
		})
	}

	t.Run("a page in a big window reads the table newest first", func(t *testing.T) {
		query, args := pageSQL(registry.ExecutionQuery{Since: t0, Limit: DefaultExecutions}, 42, "table")
		got := plan(t, tx, query, args...)
		if strings.Contains(got, "executions_created") || strings.Contains(got, "TEMP B-TREE") {
			t.Errorf("plan:\n%s", got)
		}
	})
}
