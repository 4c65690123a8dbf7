package sqlite

import (
	"context"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// record records moves in order and returns their IDs.
func record(t *testing.T, s *Store, moves ...registry.RefMove) []int64 {
	t.Helper()
	var ids []int64
	for _, m := range moves {
		id, err := s.RecordRefMove(context.Background(), m)
		if err != nil {
			t.Fatalf("RecordRefMove(%+v): %v", m, err)
		}
		ids = append(ids, id)
	}
	return ids
}

func moveIDs(moves []registry.RefMove) []int64 {
	ids := []int64{}
	for _, m := range moves {
		ids = append(ids, m.ID)
	}
	return ids
}

func TestRecordRefMove(t *testing.T) {
	ctx := context.Background()

	t.Run("round-trips every field in UTC", func(t *testing.T) {
		s := open(t)
		zone := time.FixedZone("PST", -8*3600)
		m := registry.RefMove{
			Environment: "production",
			Ref:         "refs/tags/production",
			From:        sha("a"),
			To:          sha("b"),
			ObservedAt:  time.Date(2025, 5, 1, 8, 30, 0, 987654321, zone),
			Via:         "webhook",
			Delivery:    "72d3162e-cc78-11e3-81ab-4c9367dc0958",
			Tagger:      &registry.Signature{Name: "Release Bot", Email: "bot@example.com", Time: time.Date(2025, 5, 1, 8, 29, 0, 0, zone)},
			By:          "release-key",
		}
		ids := record(t, s, m)
		got, err := s.RefMoves(ctx, registry.RefMoveQuery{})
		if err != nil {
			t.Fatal(err)
		}
		want := m
		want.ID = ids[0]
		want.ObservedAt = m.ObservedAt.UTC()
		want.Tagger = &registry.Signature{Name: "Release Bot", Email: "bot@example.com", Time: m.Tagger.Time.UTC()}
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("got %+v\nwant [%+v]", got, want)
		}
		if got[0].Tagger != nil && got[0].Tagger.Time.Location() != time.UTC {
			t.Errorf("tagger time in %v, want UTC", got[0].Tagger.Time.Location())
		}
	})

	t.Run("a zero observed time comes from the injected clock", func(t *testing.T) {
		clk := newClock()
		s := openAt(t, dbPath(t), clk)
		clk.Advance(42 * time.Minute)
		record(t, s, registry.RefMove{Environment: "staging", Ref: "refs/heads/staging", To: sha("a"), Via: "poll"})
		got, err := s.RefMoves(ctx, registry.RefMoveQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if want := clk.Now(); len(got) != 1 || !got[0].ObservedAt.Equal(want) {
			t.Errorf("got %+v, want observed at %v", got, want)
		}
		if got[0].Tagger != nil {
			t.Errorf("tagger %+v, want nil for a move without one", got[0].Tagger)
		}
	})

	t.Run("no environment is invalid", func(t *testing.T) {
		s := open(t)
		_, err := s.RecordRefMove(ctx, registry.RefMove{To: sha("a")})
		if got, want := registry.ErrorCode(err), registry.EINVALID; got != want {
			t.Errorf("code %q, want %q (%v)", got, want, err)
		}
	})
}

func TestRefMoves(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	var moves []registry.RefMove
	for i, env := range []string{"production", "staging", "production", "staging", "production", "canary"} {
		moves = append(moves, registry.RefMove{Environment: env, Ref: "refs/tags/" + env, To: sha(strconv.Itoa(i)), Via: "poll"})
	}
	ids := record(t, s, moves...)

	for _, tt := range []struct {
		name string
		q    registry.RefMoveQuery
		want []int64
	}{
		{"all are newest first", registry.RefMoveQuery{}, []int64{ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"an environment filters", registry.RefMoveQuery{Environment: "production"}, []int64{ids[4], ids[2], ids[0]}},
		{"a limit cuts the page", registry.RefMoveQuery{Limit: 2}, []int64{ids[5], ids[4]}},
		{"a cursor continues after the last id", registry.RefMoveQuery{Before: ids[4], Limit: 2}, []int64{ids[3], ids[2]}},
		{"a cursor and an environment combine", registry.RefMoveQuery{Environment: "production", Before: ids[4]}, []int64{ids[2], ids[0]}},
		{"a cursor past the oldest is empty", registry.RefMoveQuery{Before: ids[0]}, []int64{}},
		{"an unknown environment is empty", registry.RefMoveQuery{Environment: "nope"}, []int64{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.RefMoves(ctx, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(moveIDs(got), tt.want) {
				t.Errorf("ids %v, want %v", moveIDs(got), tt.want)
			}
		})
	}

	t.Run("a negative limit is invalid", func(t *testing.T) {
		_, err := s.RefMoves(ctx, registry.RefMoveQuery{Limit: -1})
		if got, want := registry.ErrorCode(err), registry.EINVALID; got != want {
			t.Errorf("code %q, want %q (%v)", got, want, err)
		}
	})

	t.Run("the limit is capped and defaulted", func(t *testing.T) {
		s := open(t)
		record(t, s, registry.RefMove{Environment: "production", To: sha("first"), Via: "poll"})
		// The rest in one statement: recording them one by one is slow
		// under the race detector.
		if _, err := s.writer.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
INSERT INTO ref_moves (environment, ref, from_sha, to_sha, observed_at, via, delivery)
SELECT environment, ref, from_sha, to_sha, observed_at, via, delivery FROM ref_moves, n`, MaxRefMoves+4); err != nil {
			t.Fatal(err)
		}
		got, err := s.RefMoves(ctx, registry.RefMoveQuery{Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(got), MaxRefMoves; got != want {
			t.Errorf("limit 5000 returned %d, want %d", got, want)
		}
		got, err = s.RefMoves(ctx, registry.RefMoveQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(got), DefaultRefMoves; got != want {
			t.Errorf("limit 0 returned %d, want %d", got, want)
		}
	})

	t.Run("ids are not reused after the newest is deleted", func(t *testing.T) {
		s := open(t)
		first := record(t, s, registry.RefMove{Environment: "production", To: sha("a"), Via: "poll"})
		if _, err := s.writer.ExecContext(ctx, "DELETE FROM ref_moves"); err != nil {
			t.Fatal(err)
		}
		second := record(t, s, registry.RefMove{Environment: "production", To: sha("b"), Via: "poll"})
		if second[0] <= first[0] {
			t.Errorf("id %d after deleting id %d, want a larger one", second[0], first[0])
		}
	})
}

func TestLastRefs(t *testing.T) {
	ctx := context.Background()

	t.Run("is each environment's newest move", func(t *testing.T) {
		s := open(t)
		record(t, s,
			registry.RefMove{Environment: "production", To: sha("1"), Via: "start"},
			registry.RefMove{Environment: "staging", To: sha("2"), Via: "start"},
			registry.RefMove{Environment: "production", From: sha("1"), To: sha("3"), Via: "webhook"},
			registry.RefMove{Environment: "canary", To: sha("4"), Via: "poll"},
			// production moves backward: the newest move wins, not the
			// newest commit.
			registry.RefMove{Environment: "production", From: sha("3"), To: sha("1"), Via: "api"},
			// canary's ref is deleted.
			registry.RefMove{Environment: "canary", From: sha("4"), To: "", Via: "poll"},
		)
		got, err := s.LastRefs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"production": sha("1"), "staging": sha("2"), "canary": ""}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v, want %v", got, want)
		}
	})

	t.Run("an empty ledger is an empty map", func(t *testing.T) {
		s := open(t)
		got, err := s.LastRefs(ctx)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("got %v, %v; want an empty map", got, err)
		}
	})
}
