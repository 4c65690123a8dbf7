package sqlite

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

// The size of the benchmark repository: 10,000 commits touching 3
// of 2,000 prompts each, so 30,000 versions and spans (2,000 open).
const (
	benchCommits   = 10000
	benchPrompts   = 2000
	benchPerCommit = 3
)

// BenchmarkApplyIndex measures the first index of the benchmark repository:
// one batch, applied to an empty database file.
func BenchmarkApplyIndex(b *testing.B) {
	ctx := context.Background()
	batch := bigBatch(benchCommits, benchPrompts, benchPerCommit)
	for b.Loop() {
		b.StopTimer()
		s, err := Open(ctx, Options{Path: dbPath(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := s.ApplyIndex(ctx, "main", batch); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(len(batch.Commits)+len(batch.Versions)+len(batch.Spans)), "rows/op")
}

// BenchmarkApplyIndexIncremental measures a sync that indexes 100 new
// commits on top of the benchmark repository.
func BenchmarkApplyIndexIncremental(b *testing.B) {
	ctx := context.Background()
	s := openAt(b, dbPath(b), nil)
	full := bigBatch(benchCommits+100, benchPrompts, benchPerCommit)
	first := *full
	first.Commits = full.Commits[:benchCommits]
	n := benchCommits * benchPerCommit
	first.Versions, first.Spans = full.Versions[:n], append(full.Spans[:0:0], full.Spans[:n]...)
	// The spans still open at the head of the first batch.
	for i := range first.Spans {
		if first.Spans[i].To > benchCommits {
			first.Spans[i].To = 0
		}
	}
	if err := s.ApplyIndex(ctx, "main", &first); err != nil {
		b.Fatal(err)
	}
	next := &registry.IndexBatch{
		Base:     benchCommits,
		Commits:  full.Commits[benchCommits:],
		Versions: full.Versions[n:],
		Spans:    full.Spans[n:],
	}
	for _, sp := range full.Spans[:n] {
		if sp.To > benchCommits {
			next.Closed = append(next.Closed, sp)
		}
	}
	var shas []string
	for _, c := range next.Commits {
		shas = append(shas, c.SHA)
	}
	newSHAs, err := json.Marshal(shas)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.ApplyIndex(ctx, "main", next); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		// Undo it: a rewrite back to the base, and the new versions,
		// which a rewrite keeps.
		if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Base: benchCommits}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.writer.Exec("DELETE FROM versions WHERE commit_sha IN (SELECT value FROM json_each(?))", string(newSHAs)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkLoadIndex measures loading the index of the benchmark repository,
// as a restart does.
func BenchmarkLoadIndex(b *testing.B) {
	ctx := context.Background()
	s := openAt(b, dbPath(b), nil)
	if err := s.ApplyIndex(ctx, "main", bigBatch(benchCommits, benchPrompts, benchPerCommit)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		st, err := s.LoadIndex(ctx, "main")
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Versions) != benchCommits*benchPerCommit {
			b.Fatalf("%d versions", len(st.Versions))
		}
	}
}

// BenchmarkCheck measures the integrity check of the benchmark repository's
// index, which Open runs on every start (integrity_check), against the
// cheaper quick_check, which misses indexes that disagree with their table.
func BenchmarkCheck(b *testing.B) {
	ctx := context.Background()
	path := dbPath(b)
	s := openAt(b, path, nil)
	if err := s.ApplyIndex(ctx, "main", bigBatch(benchCommits, benchPrompts, benchPerCommit)); err != nil {
		b.Fatal(err)
	}
	if _, err := s.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		b.Fatal(err)
	}
	var pages, size int64
	if err := s.reader.QueryRowContext(ctx, "SELECT page_count, page_size FROM pragma_page_count, pragma_page_size").Scan(&pages, &size); err != nil {
		b.Fatal(err)
	}
	b.Run("integrity_check", func(b *testing.B) {
		for b.Loop() {
			if err := s.Check(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(pages*size)/1e6, "MB")
	})
	b.Run("quick_check", func(b *testing.B) {
		for b.Loop() {
			var ok string
			if err := s.reader.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&ok); err != nil || ok != "ok" {
				b.Fatal(ok, err)
			}
		}
		b.ReportMetric(float64(pages*size)/1e6, "MB")
	})
	b.Run("Open", func(b *testing.B) {
		for b.Loop() {
			s2, err := Open(ctx, Options{Path: path})
			if err != nil {
				b.Fatal(err)
			}
			s2.Close()
		}
	})
}
