package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// LoadIndex returns the index of branch, or an empty state if it has none:
// the commits' shas in sequence order, every version (ordered by name, then
// number) and the spans open at the head (ordered by name). The three reads
// share one transaction, so they never mix two states of the index. Errors:
// EINTERNAL, ETIMEOUT.
func (s *Store) LoadIndex(ctx context.Context, branch string) (*registry.IndexState, error) {
	st := &registry.IndexState{}
	err := s.read(ctx, "load index of "+branch, func(tx *sql.Tx) error {
		id, head, err := branchHead(ctx, tx, branch)
		if err != nil || id == 0 {
			return err
		}

		// Sequence numbers are unique and positive: if there are head of
		// them, they are exactly 1…head, and the shas come in that order.
		st.Commits = make([]string, 0, head)
		rows, err := tx.QueryContext(ctx, "SELECT sha FROM commits WHERE branch_id = ? ORDER BY seq", id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var sha string
			if err := rows.Scan(&sha); err != nil {
				rows.Close()
				return err
			}
			st.Commits = append(st.Commits, sha)
		}
		if err := closeRows(rows); err != nil {
			return err
		}
		if len(st.Commits) != head {
			// ApplyIndex keeps them dense: rows went missing.
			return &causeError{ErrDamaged, fmt.Errorf("%d commits indexed up to commit %d", len(st.Commits), head)}
		}

		// Counting first (a scan of the key range, in C) saves growing
		// the slice of big structs by copies.
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM versions WHERE branch_id = ?", id).Scan(&n); err != nil {
			return err
		}
		st.Versions = make([]registry.Version, 0, n)
		rows, err = tx.QueryContext(ctx, `SELECT name, version, checksum, path,
    commit_sha, commit_author, commit_email, commit_time, commit_message
FROM versions WHERE branch_id = ? ORDER BY name, version`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v registry.Version
			var t sql.NullString
			if err := rows.Scan(&v.Name, &v.Version, &v.Checksum, &v.Path,
				&v.Commit.SHA, &v.Commit.Author, &v.Commit.Email, &t, &v.Commit.Message); err != nil {
				rows.Close()
				return err
			}
			if v.Commit.Time, err = parseTime(t); err != nil {
				rows.Close()
				return err
			}
			st.Versions = append(st.Versions, v)
		}
		if err := closeRows(rows); err != nil {
			return err
		}

		// INDEXED BY: this query is on the restart path, and a scan of
		// every span (the plan SQLite picks without statistics) grows
		// with the history; if the index goes, the query fails loudly.
		rows, err = tx.QueryContext(ctx, `SELECT name, version, from_seq FROM spans INDEXED BY spans_open
WHERE branch_id = ? AND to_seq IS NULL ORDER BY name`, id)
		if err != nil {
			return err
		}
		for rows.Next() {
			var sp registry.Span
			if err := rows.Scan(&sp.Name, &sp.Version, &sp.From); err != nil {
				rows.Close()
				return err
			}
			st.Open = append(st.Open, sp)
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// ApplyIndex applies b to the index of branch in one transaction, creating
// the branch's index on its first batch. Following registry.IndexBatch, when
// b.Base is below the indexed head it first drops the commits above Base,
// drops the spans that start above it and reopens those that ended above
// it, and marks the branch as rewritten (see Open); then it adds b's
// commits, versions and spans and closes b.Closed.
//
// Errors: EINVALID for a malformed batch (commits not numbered Base+1,
// Base+2…, a span that does not start in the batch, a closed span that
// did not start before it…); ECONFLICT when Base is above the indexed head, a
// commit, version number or checksum already exists, a span refers to a
// version that does not exist, or a span in Closed is not open. Nothing is
// changed on error. EINTERNAL, ETIMEOUT.
func (s *Store) ApplyIndex(ctx context.Context, branch string, b *registry.IndexBatch) error {
	op := "apply index of " + branch
	if err := checkBatch(branch, b); err != nil {
		return err
	}
	start := time.Now()
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		now := timeValue(s.now())
		var id int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO branches (name, created_at, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at
RETURNING id`, branch, now, now).Scan(&id); err != nil {
			return err
		}
		var head int
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM commits WHERE branch_id = ?", id).Scan(&head); err != nil {
			return err
		}
		switch {
		case b.Base > head:
			return registry.Errorf(registry.ECONFLICT, "%s: base %d is above the indexed head %d", op, b.Base, head)
		case b.Base < head:
			if err := rewind(ctx, tx, id, b.Base); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
ON CONFLICT (key) DO NOTHING`, metaRewrittenPrefix+branch, now); err != nil {
				return err
			}
		}
		if err := insertBatch(ctx, tx, id, b); err != nil {
			return err
		}
		return closeSpans(ctx, tx, id, op, b.Closed)
	})
	if err != nil {
		return err
	}
	s.log.Debug("index applied", "branch", branch, "base", b.Base, "commits", len(b.Commits),
		"versions", len(b.Versions), "spans", len(b.Spans), "closed", len(b.Closed), "took", time.Since(start))
	return nil
}

// rewind forgets the history of branch id above commit base, which was
// rewritten: it drops those commits and the spans that start after base, and
// reopens the spans that ended after it. Versions stay, which Git alone can
// no longer give back: ApplyIndex marks the branch as rewritten in meta.
// These statements scan the branch's spans, which is why ApplyIndex runs
// them only when base is below the head.
func rewind(ctx context.Context, tx *sql.Tx, id int64, base int) error {
	for _, q := range []string{
		"DELETE FROM commits WHERE branch_id = ? AND seq > ?",
		"DELETE FROM spans WHERE branch_id = ? AND from_seq > ?",
		"UPDATE spans SET to_seq = NULL WHERE branch_id = ? AND to_seq > ?",
	} {
		if _, err := tx.ExecContext(ctx, q, id, base); err != nil {
			return err
		}
	}
	return nil
}

// insertBatch inserts b's commits, versions and spans into the index of
// branch id. Versions and spans go in key order, so that the first index of
// a repository fills their tables (clustered on that key: WITHOUT ROWID) by
// appending pages rather than splitting them.
func insertBatch(ctx context.Context, tx *sql.Tx, id int64, b *registry.IndexBatch) error {
	err := insertRows(ctx, tx, "commits",
		[]string{"branch_id", "seq", "sha", "author", "email", "time", "message"},
		len(b.Commits), func(args []any, i int) []any {
			c := &b.Commits[i]
			return append(args, id, c.Seq, c.SHA, c.Author, c.Email, timeValue(c.Time), c.Message)
		})
	if err != nil {
		return err
	}

	vs := keyOrder(len(b.Versions), func(i, j int) int {
		x, y := &b.Versions[i], &b.Versions[j]
		return cmp.Or(strings.Compare(x.Name, y.Name), cmp.Compare(x.Version, y.Version))
	})
	err = insertRows(ctx, tx, "versions",
		[]string{"branch_id", "name", "version", "checksum", "path",
			"commit_sha", "commit_author", "commit_email", "commit_time", "commit_message"},
		len(vs), func(args []any, i int) []any {
			v := &b.Versions[vs[i]]
			return append(args, id, v.Name, v.Version, v.Checksum, v.Path,
				v.Commit.SHA, v.Commit.Author, v.Commit.Email, timeValue(v.Commit.Time), v.Commit.Message)
		})
	if err != nil {
		return err
	}

	spans := keyOrder(len(b.Spans), func(i, j int) int {
		x, y := &b.Spans[i], &b.Spans[j]
		return cmp.Or(strings.Compare(x.Name, y.Name), cmp.Compare(x.From, y.From))
	})
	return insertRows(ctx, tx, "spans",
		[]string{"branch_id", "name", "version", "from_seq", "to_seq"},
		len(spans), func(args []any, i int) []any {
			sp := &b.Spans[spans[i]]
			return append(args, id, sp.Name, sp.Version, sp.From, seqValue(sp.To))
		})
}

// closeSpans sets the end of each span in closed, which must be open, in
// the index of branch id; ECONFLICT if one is not.
func closeSpans(ctx context.Context, tx *sql.Tx, id int64, op string, closed []registry.Span) error {
	if len(closed) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE spans SET to_seq = ?
WHERE branch_id = ? AND name = ? AND from_seq = ? AND version = ? AND to_seq IS NULL`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, sp := range closed {
		res, err := stmt.ExecContext(ctx, sp.To, id, sp.Name, sp.From, sp.Version)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n != 1 {
			return registry.Errorf(registry.ECONFLICT, "%s: no open span of %s version %d from commit %d to close",
				op, sp.Name, sp.Version, sp.From)
		}
	}
	return nil
}

// checkBatch returns an EINVALID error if b is not a well-formed batch for
// the index of branch.
func checkBatch(branch string, b *registry.IndexBatch) error {
	invalid := func(format string, args ...any) error {
		return registry.Errorf(registry.EINVALID, "apply index of %s: "+format, append([]any{branch}, args...)...)
	}
	switch {
	case branch == "":
		return registry.Errorf(registry.EINVALID, "apply index: no branch")
	case b == nil:
		return invalid("no batch")
	case b.Base < 0:
		return invalid("negative base %d", b.Base)
	}
	for i, c := range b.Commits {
		if c.Seq != b.Base+1+i {
			return invalid("commit %s has sequence number %d, want %d", c.SHA, c.Seq, b.Base+1+i)
		}
		if c.SHA == "" {
			return invalid("commit %d has no sha", c.Seq)
		}
	}
	for _, v := range b.Versions {
		if v.Name == "" || v.Version < 1 || v.Checksum == "" {
			return invalid("version %d of %q: no name, number or checksum", v.Version, v.Name)
		}
	}
	for _, sp := range b.Spans {
		if sp.From <= b.Base || (sp.To != 0 && sp.To <= sp.From) {
			return invalid("span of %s version %d from %d to %d does not start in the batch (base %d)",
				sp.Name, sp.Version, sp.From, sp.To, b.Base)
		}
	}
	for _, sp := range b.Closed {
		if sp.From < 1 || sp.From > b.Base || sp.To <= b.Base {
			return invalid("closed span of %s version %d from %d to %d does not cross the base %d",
				sp.Name, sp.Version, sp.From, sp.To, b.Base)
		}
	}
	return nil
}

// Spans returns every span of the named prompt on branch, in order of From;
// none for an unknown branch or prompt. Errors: EINTERNAL, ETIMEOUT.
func (s *Store) Spans(ctx context.Context, branch, name string) ([]registry.Span, error) {
	var spans []registry.Span
	err := s.read(ctx, "spans of "+name, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT s.version, s.from_seq, s.to_seq
FROM spans s JOIN branches b ON b.id = s.branch_id
WHERE b.name = ? AND s.name = ?
ORDER BY s.from_seq`, branch, name)
		if err != nil {
			return err
		}
		for rows.Next() {
			sp := registry.Span{Name: name}
			var to sql.NullInt64
			if err := rows.Scan(&sp.Version, &sp.From, &to); err != nil {
				rows.Close()
				return err
			}
			sp.To = int(to.Int64)
			spans = append(spans, sp)
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, err
	}
	return spans, nil
}

// Commits returns the indexed commits of branch with the given sequence
// numbers; a number that is not indexed is absent from the map. Errors:
// EINTERNAL, ETIMEOUT.
func (s *Store) Commits(ctx context.Context, branch string, seqs []int) (map[int]registry.Commit, error) {
	commits := make(map[int]registry.Commit, len(seqs))
	if len(seqs) == 0 {
		return commits, nil
	}
	// The numbers travel as one JSON array parameter, whatever their count.
	list := make([]byte, 0, 8*len(seqs))
	list = append(list, '[')
	for i, seq := range seqs {
		if i > 0 {
			list = append(list, ',')
		}
		list = strconv.AppendInt(list, int64(seq), 10)
	}
	list = append(list, ']')

	err := s.read(ctx, "commits of "+branch, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT c.seq, c.sha, c.author, c.email, c.time, c.message
FROM commits c JOIN branches b ON b.id = c.branch_id
WHERE b.name = ? AND c.seq IN (SELECT value FROM json_each(?))`, branch, string(list))
		if err != nil {
			return err
		}
		for rows.Next() {
			var seq int
			var c registry.Commit
			var t sql.NullString
			if err := rows.Scan(&seq, &c.SHA, &c.Author, &c.Email, &t, &c.Message); err != nil {
				rows.Close()
				return err
			}
			if c.Time, err = parseTime(t); err != nil {
				rows.Close()
				return err
			}
			commits[seq] = c
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, err
	}
	return commits, nil
}

// ResetIndex drops the index of branch: its commits, versions and spans,
// and the mark that its history was rewritten. It is a no-op for a branch
// without an index. Errors: EINTERNAL, ETIMEOUT.
func (s *Store) ResetIndex(ctx context.Context, branch string) error {
	return s.write(ctx, "reset index of "+branch, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM meta WHERE key = ?", metaRewrittenPrefix+branch); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM branches WHERE name = ?", branch).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		// Children first: the foreign keys have no ON DELETE action.
		for _, q := range []string{
			"DELETE FROM spans WHERE branch_id = ?",
			"DELETE FROM versions WHERE branch_id = ?",
			"DELETE FROM commits WHERE branch_id = ?",
			"DELETE FROM branches WHERE id = ?",
		} {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// branchHead returns the id of branch's index and its head's sequence
// number; id 0 if branch has no index.
func branchHead(ctx context.Context, tx *sql.Tx, branch string) (id int64, head int, err error) {
	err = tx.QueryRowContext(ctx, `SELECT b.id, coalesce((SELECT max(seq) FROM commits WHERE branch_id = b.id), 0)
FROM branches b WHERE b.name = ?`, branch).Scan(&id, &head)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	return id, head, err
}

// seqValue returns the stored form of a span's end: NULL while it is open.
func seqValue(to int) any {
	if to == 0 {
		return nil
	}
	return to
}

// closeRows closes rows and returns the error that ended the iteration.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// maxInsertRows bounds the rows of one multi-row INSERT. Fewer, bigger
// statements save the per-call cost of database/sql and the driver, which
// dominates single-row inserts; SQLite allows 32,766 parameters.
const maxInsertRows = 128

// insertRows inserts n rows into table with multi-row INSERT statements,
// each prepared once in tx; row appends the values of row i, in the order
// of cols, to args and returns it.
func insertRows(ctx context.Context, tx *sql.Tx, table string, cols []string, n int, row func(args []any, i int) []any) error {
	if n == 0 {
		return nil
	}
	per := min(n, maxInsertRows)
	args := make([]any, 0, per*len(cols))
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for start := 0; start < n; start += per {
		k := min(per, n-start)
		args = args[:0]
		for i := start; i < start+k; i++ {
			args = row(args, i)
		}
		var err error
		if k < per {
			_, err = tx.ExecContext(ctx, insertSQL(table, cols, k), args...)
		} else {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertSQL(table, cols, per)); err != nil {
					return err
				}
			}
			_, err = full.ExecContext(ctx, args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// keyOrder returns the indexes 0…n-1 sorted by compare.
func keyOrder(n int, compare func(i, j int) int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, compare)
	return order
}

// insertSQL returns an INSERT of k rows into table.
func insertSQL(table string, cols []string, k int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO ")
	b.WriteString(table)
	b.WriteString(" (")
	b.WriteString(strings.Join(cols, ", "))
	b.WriteString(") VALUES ")
	row := "(" + strings.Repeat("?, ", len(cols)-1) + "?)"
	for i := range k {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}
