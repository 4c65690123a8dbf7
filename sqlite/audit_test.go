package sqlite

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// auditEntry returns the entry of a successful save of prompt through key.
func auditEntry(prompt, key string) registry.AuditEntry {
	return registry.AuditEntry{
		KeyID:  key,
		Actor:  "Ada Lovelace <ada@example.com>",
		Method: "PUT",
		Route:  "PUT /v1/prompts/{name}",
		Action: "save",
		Prompt: prompt,
		From:   checksum(prompt + " before"),
		To:     checksum(prompt + " after"),
		Commit: sha(prompt),
		Status: 200,
		Result: "ok",
	}
}

// recordAudit records entries in order and returns their IDs.
func recordAudit(t *testing.T, s *Store, entries ...registry.AuditEntry) []int64 {
	t.Helper()
	var ids []int64
	for _, e := range entries {
		id, err := s.RecordAudit(context.Background(), e)
		if err != nil {
			t.Fatalf("RecordAudit(%+v): %v", e, err)
		}
		ids = append(ids, id)
	}
	return ids
}

func auditIDs(entries []registry.AuditEntry) []int64 {
	ids := []int64{}
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	return ids
}

func TestRecordAudit(t *testing.T) {
	ctx := context.Background()

	t.Run("round-trips every field in UTC", func(t *testing.T) {
		s := open(t)
		e := registry.AuditEntry{
			ID:          999, // ignored
			Time:        time.Date(2025, 5, 1, 8, 30, 0, 987654321, time.FixedZone("PST", -8*3600)),
			KeyID:       "key-7",
			Actor:       "Release Bot <bot@example.com>",
			Method:      "POST",
			Route:       "POST /v1/environments/{env}/promote",
			Action:      "promote",
			Prompt:      "support/triage",
			Environment: "production",
			From:        sha("a"),
			To:          sha("b"),
			Commit:      sha("c"),
			Status:      409,
			Result:      string(registry.ECONFLICT),
			Message:     "production moved meanwhile",
		}
		ids := recordAudit(t, s, e)
		if ids[0] == e.ID {
			t.Errorf("id %d, want one the store chose", ids[0])
		}
		got, err := s.Audit(ctx, registry.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		want := e
		want.ID = ids[0]
		want.Time = e.Time.UTC()
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("got %+v\nwant [%+v]", got, want)
		}
		if len(got) == 1 && got[0].Time.Location() != time.UTC {
			t.Errorf("time in %v, want UTC", got[0].Time.Location())
		}
	})

	t.Run("a zero time comes from the injected clock", func(t *testing.T) {
		clk := newClock()
		s := openAt(t, dbPath(t), clk)
		clk.Advance(42 * time.Minute)
		recordAudit(t, s, auditEntry("p", "key-1"))
		got, err := s.Audit(ctx, registry.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if want := clk.Now(); len(got) != 1 || !got[0].Time.Equal(want) {
			t.Errorf("got %+v, want time %v", got, want)
		}
	})

	t.Run("an entry without optional fields is recorded", func(t *testing.T) {
		s := open(t)
		e := registry.AuditEntry{Method: "POST", Route: "POST /v1/register", Action: "register", Status: 401, Result: string(registry.EUNAUTHORIZED)}
		ids := recordAudit(t, s, e)
		got, err := s.Audit(ctx, registry.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		want := e
		want.ID, want.Time = ids[0], newClock().Now()
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("got %+v\nwant [%+v]", got, want)
		}
	})

	t.Run("entries outlive the store", func(t *testing.T) {
		path := dbPath(t)
		s, err := Open(ctx, Options{Path: path, Now: newClock().Now})
		if err != nil {
			t.Fatal(err)
		}
		ids := recordAudit(t, s, auditEntry("a", "key-1"), auditEntry("b", "key-2"))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s = openAt(t, path, newClock())
		got, err := s.Audit(ctx, registry.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []int64{ids[1], ids[0]}; !reflect.DeepEqual(auditIDs(got), want) {
			t.Fatalf("ids %v after reopen, want %v", auditIDs(got), want)
		}
		if got[0].Prompt != "b" || got[1].Prompt != "a" {
			t.Errorf("prompts %q, %q after reopen, want b, a", got[0].Prompt, got[1].Prompt)
		}
		next := recordAudit(t, s, auditEntry("c", "key-1"))
		if next[0] <= ids[1] {
			t.Errorf("id %d after reopen, want one above %d", next[0], ids[1])
		}
	})
}

func TestAudit(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	ids := recordAudit(t, s,
		auditEntry("a", "key-1"),
		auditEntry("b", "key-2"),
		auditEntry("a", "key-2"),
		auditEntry("b", "key-1"),
		auditEntry("a", "key-1"),
		auditEntry("c", "admin"),
	)

	for _, tt := range []struct {
		name string
		q    registry.AuditQuery
		want []int64
	}{
		{"all are newest first", registry.AuditQuery{}, []int64{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"a prompt filters", registry.AuditQuery{Prompt: "a"}, []int64{ids[4], ids[2], ids[0]}},
		{"a key filters", registry.AuditQuery{KeyID: "key-2"}, []int64{ids[2], ids[1]}},
		{"a prompt and a key combine", registry.AuditQuery{Prompt: "a", KeyID: "key-1"}, []int64{ids[4], ids[0]}},
		{"a limit cuts the page", registry.AuditQuery{Limit: 2}, []int64{ids[5], ids[4]}},
		{"a cursor continues after the last id", registry.AuditQuery{Before: ids[4], Limit: 2}, []int64{ids[3], ids[2]}},
		{"a cursor and a prompt combine", registry.AuditQuery{Prompt: "a", Before: ids[4]}, []int64{ids[2], ids[0]}},
		{"a cursor and a key combine", registry.AuditQuery{KeyID: "key-1", Before: ids[3]}, []int64{ids[0]}},
		{"a cursor past the oldest is empty", registry.AuditQuery{Before: ids[0]}, []int64{}},
		{"an unknown prompt is empty", registry.AuditQuery{Prompt: "nope"}, []int64{}},
		{"an unknown key is empty", registry.AuditQuery{KeyID: "nope"}, []int64{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Audit(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(auditIDs(got), tt.want) {
				t.Errorf("ids %v, want %v", auditIDs(got), tt.want)
			}
		})
	}

	for _, tt := range []struct {
		name string
		q    registry.AuditQuery
	}{
		{"a negative limit is invalid", registry.AuditQuery{Limit: -1}},
		{"a negative cursor is invalid", registry.AuditQuery{Before: -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Audit(ctx, tt.q)
			if got, want := registry.ErrorCode(err), registry.EINVALID; got != want {
				t.Errorf("code %q, want %q (%v)", got, want, err)
			}
		})
	}

	t.Run("the limit is capped and defaulted", func(t *testing.T) {
		s := open(t)
		recordAudit(t, s, auditEntry("a", "key-1"))
		// The rest in one statement: recording them one by one is slow
		// under the race detector.
		if _, err := s.writer.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO audit_log (time, key_id, actor, method, route, action, prompt, environment, from_hash, to_hash, commit_sha, status, result, message)
SELECT time, key_id, actor, method, route, action, prompt, environment, from_hash, to_hash, commit_sha, status, result, message
FROM audit_log, n`, MaxAudit+4); err != nil {
			t.Fatal(err)
		}
		got, err := s.Audit(ctx, registry.AuditQuery{Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(got), MaxAudit; got != want {
			t.Errorf("limit 5000 returned %d, want %d", got, want)
		}
		got, err = s.Audit(ctx, registry.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(got), DefaultAudit; got != want {
			t.Errorf("limit 0 returned %d, want %d", got, want)
		}
	})

	t.Run("ids are not reused after the newest is deleted", func(t *testing.T) {
		s := open(t)
		first := recordAudit(t, s, auditEntry("a", "key-1"))
		if _, err := s.writer.ExecContext(ctx, "DELETE FROM audit_log"); err != nil {
			t.Fatal(err)
		}
		second := recordAudit(t, s, auditEntry("a", "key-1"))
		if second[0] <= first[0] {
			t.Errorf("id %d after deleting id %d, want a larger one", second[0], first[0])
		}
	})

	for _, tt := range []struct{ column, index string }{{"prompt", "audit_log_prompt"}, {"key_id", "audit_log_key"}} {
		t.Run("a page of one "+tt.column+" is read through "+tt.index, func(t *testing.T) {
			rows, err := s.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN SELECT id FROM audit_log WHERE "+tt.column+
				" = ? AND id < ? ORDER BY id DESC LIMIT ?", "a", 10, 5)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var id, parent, notused int
				var detail string
				if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := closeRows(rows); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(plan, "; "); !strings.Contains(got, "INDEX "+tt.index) || strings.Contains(got, "TEMP B-TREE") {
				t.Errorf("plan %q, want a search of %s without a sort", got, tt.index)
			}
		})
	}
}
