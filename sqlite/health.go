package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/promptreg/promptreg/registry"
)

// Health returns nil while the store has seen nothing wrong with its file,
// and otherwise why not, without touching the file (Check reads all of it):
//
//   - an EINTERNAL error with ErrDamaged in its chain once a read, a write
//     or Check found the file damaged; it stays until the process restarts,
//     and every read and write fails with it meanwhile;
//   - an EUNAVAILABLE error with ErrUnwritable in its chain when the last
//     write failed because the file could not be written; it goes with the
//     next write that succeeds.
func (s *Store) Health() error {
	if d := s.damage.Load(); d != nil {
		return d
	}
	if u := s.unwritable.Load(); u != nil {
		return u
	}
	return nil
}

// Check runs SQLite's integrity check on the whole file, as Open does (70–
// 100 ms for the 15 MB index of 10,000 commits and 21,500 versions; reads
// and writes go on meanwhile). It returns nil if the file is sound. If it
// is not, it returns an EINTERNAL error with ErrDamaged in its chain that
// lists the first problems, and from then on the store fails every read
// and write (see Health); a sound result does not clear damage found
// earlier, for instance by a read. Errors: EINTERNAL, ETIMEOUT.
func (s *Store) Check(ctx context.Context) error {
	const op = "check database"
	damage, err := integrity(ctx, s.reader)
	if err != nil {
		return s.fail(op, err, nil, false)
	}
	if damage != nil {
		return s.recordDamage(op, damage)
	}
	return nil
}

// integrityCheck checks the file through db at Open and returns a coded
// error with ErrDamaged in its chain if it is damaged. It does not record
// the damage: Open decides what to do with the file.
func (s *Store) integrityCheck(ctx context.Context, db *sql.DB) error {
	const op = "check database"
	damage, err := integrity(ctx, db)
	if err != nil {
		return dbError(op, err)
	}
	if damage != nil {
		return &registry.Error{Code: registry.EINTERNAL, Message: fmt.Sprintf("%s: database file %s is damaged", op, s.path), Err: damage}
	}
	return nil
}

// maxProblems bounds the problems the integrity check reports.
const maxProblems = 10

// integrity runs PRAGMA integrity_check through db. It returns a non-nil
// damage (with ErrDamaged in its chain) listing the problems found, or err
// if the check could not run for another reason than damage.
//
// integrity_check, not quick_check: quick_check does not compare indexes
// with their tables, and overwriting a few bytes of a stored checksum left
// the file passing quick_check while the checksum no longer matched its
// UNIQUE index; integrity_check found it, for about three times the cost.
// Neither reads the values themselves: bytes changed inside a text column
// that no index covers pass both (reads then find what they can, see
// parseTime).
func integrity(ctx context.Context, db *sql.DB) (damage, err error) {
	rows, err := db.QueryContext(ctx, fmt.Sprintf("PRAGMA integrity_check(%d)", maxProblems))
	if err != nil {
		if failureClass(err) == failDamaged {
			return &causeError{ErrDamaged, err}, nil
		}
		return nil, err
	}
	var problems []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, err
		}
		if p != "ok" {
			p = strings.TrimPrefix(p, "*** in database main ***\n")
			problems = append(problems, strings.ReplaceAll(p, "\n", " "))
		}
	}
	// The check stops with SQLITE_CORRUPT at a page it cannot read at all.
	err = closeRows(rows)
	if err != nil && failureClass(err) != failDamaged {
		return nil, err
	}
	if err == nil && len(problems) == 0 {
		return nil, nil
	}
	msg := "integrity check: " + strings.Join(problems, "; ")
	if err != nil {
		if len(problems) > 0 {
			msg += "; then "
		}
		msg += err.Error()
	}
	return &causeError{ErrDamaged, errors.New(msg)}, nil
}

// recordDamage returns the error of operation op that found the file
// damaged (cause says how) and, the first time, records it for damaged and
// Health and logs it.
func (s *Store) recordDamage(op string, cause error) error {
	if !errors.Is(cause, ErrDamaged) {
		cause = &causeError{ErrDamaged, cause}
	}
	err := &registry.Error{Code: registry.EINTERNAL, Message: fmt.Sprintf("%s: database file %s is damaged", op, s.path), Err: cause}
	if s.damage.CompareAndSwap(nil, err) {
		s.log.Error("database file is damaged: every read and write fails from now on; "+
			"a restart checks the file and starts afresh if it holds nothing Git cannot give back, "+
			"or refuses to start and says how to restore it",
			"path", s.path, "op", op, "err", cause)
	}
	return err
}

// damaged returns the error of operation op if the file was found damaged:
// once SQLite has reported a malformed page, other reads may miss rows
// without any error (a damaged page can drop a whole subtree of a table), so
// nothing read from the file is served as if it were whole, and nothing
// more is written to it.
func (s *Store) damaged(op string) error {
	d := s.damage.Load()
	if d == nil {
		return nil
	}
	return &registry.Error{Code: registry.EINTERNAL, Message: fmt.Sprintf("%s: database file %s is damaged", op, s.path), Err: d.Err}
}

// replaceDamaged handles a file that the check at Open found damaged
// (damage is the check's error). If the file holds nothing Git cannot give
// back, it moves the file aside and opens a new one in its place; otherwise
// it returns the error that refuses to start.
func (s *Store) replaceDamaged(ctx context.Context, damage error) error {
	cause := damage
	var rerr *registry.Error
	if errors.As(damage, &rerr) && rerr.Err != nil {
		cause = rerr.Err
	}
	kept, err := s.irreplaceable(ctx)
	if err != nil || len(kept) > 0 {
		return s.refuseDamaged(kept, err, cause)
	}

	werr := s.writer.Close()
	s.writer = nil
	if werr != nil {
		s.log.Warn("closing the damaged database", "path", s.path, "err", werr)
	}
	moved, err := s.moveAside()
	if err != nil {
		return &registry.Error{Code: registry.EINTERNAL,
			Message: fmt.Sprintf("database file %s is damaged, holds nothing Git cannot give back, but cannot be moved aside (%v); "+
				"move %s, %s-wal and %s-shm aside by hand: the version index is rebuilt from Git", s.path, err, s.path, s.path, s.path),
			Err: cause}
	}
	s.log.Error("database file was damaged; it held no promotion ledger, no audit log, no executions, no API keys and no rewritten history, "+
		"so it was moved aside and a new one started: the next sync rebuilds the version index from Git",
		"path", s.path, "moved_to", moved, "damage", cause)
	if err := s.openWriter(ctx); err != nil {
		return openError(s.path, err)
	}
	return nil
}

// refuseDamaged returns the error with which Open refuses a damaged file
// that holds what Git cannot give back (kept describes it) or whose ledger
// cannot be read (err).
func (s *Store) refuseDamaged(kept []string, err error, cause error) error {
	var what string
	if err != nil {
		what = fmt.Sprintf(", and whether it holds the promotion ledger, the audit log, executions or API keys, which Git cannot give back, cannot be told (%v)", err)
	} else {
		what = " and holds " + strings.Join(kept, " and ") + ", which Git cannot give back"
	}
	base := filepath.Base(s.path)
	return &registry.Error{Code: registry.EINTERNAL,
		Message: fmt.Sprintf("database file %s is damaged%s; with the server stopped, "+
			"restore the data directory (--data) from a backup, or move %s, %s-wal and %s-shm aside "+
			"to start with an empty promotion ledger, audit log and execution history, no API keys but the admin key, and a version index rebuilt from Git", s.path, what, base, base, base),
		Err: cause}
}

// irreplaceable returns what the database holds that Git cannot give back
// (none if nothing), read through the writer of a damaged file: the
// promotion ledger if it has any move, the audit log if it has any entry,
// the execution history if it has any execution, the API keys if there is
// any, and the versions kept from history that a rewrite removed. An error
// means that this cannot be told.
func (s *Store) irreplaceable(ctx context.Context) ([]string, error) {
	db := s.writer
	names, err := queryStrings(ctx, db, "SELECT name FROM sqlite_schema WHERE type = 'table'")
	if err != nil {
		return nil, err
	}
	tables := map[string]bool{}
	for _, name := range names {
		tables[name] = true
	}

	var kept []string
	for _, l := range ledgers {
		if !tables[l.table] {
			continue
		}
		// An append-only table's AUTOINCREMENT counter is the number of
		// rows ever recorded.
		var recorded int64
		if tables["sqlite_sequence"] {
			err := db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = ?", l.table).Scan(&recorded)
			if err != nil {
				return nil, err
			}
		}
		if recorded == 0 {
			// No counter (api_keys, whose rows are deleted, or a counter
			// lost with its page): the rows an index lists count as
			// recorded, as a page of the table can be lost while its
			// index is whole. SQLite counts through its smallest index.
			// An index that cannot be read leaves the table's own count.
			var indexed int64
			if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+l.table).Scan(&indexed); err == nil {
				recorded = indexed
			}
		}
		// NOT INDEXED: count(*) would count the entries of the smaller
		// index, which can be whole while pages of the table are lost.
		var n int64
		err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+l.table+" NOT INDEXED").Scan(&n)
		switch {
		case err != nil && recorded == 0:
			return nil, err
		case err != nil:
			kept = append(kept, fmt.Sprintf("%s (%s recorded, which cannot all be read: %v)",
				l.name, l.count(recorded), err))
		case recorded > n:
			kept = append(kept, fmt.Sprintf("%s (%s readable of %d recorded)", l.name, l.count(n), recorded))
		case n > 0:
			kept = append(kept, fmt.Sprintf("%s (%s)", l.name, l.count(n)))
		}
	}

	rewritten, err := rewrittenBranches(ctx, db, tables)
	if err != nil {
		return nil, err
	}
	for _, r := range rewritten {
		kept = append(kept, fmt.Sprintf("versions of branch %s introduced by commits that a rewrite of its history removed (%s)", r.branch, r.since))
	}
	return kept, nil
}

// ledger is a table that holds what Git cannot give back.
type ledger struct {
	table     string
	name      string // as errors call it
	one, many string // what a row is, and rows are
}

// ledgers are the tables that make a damaged file irreplaceable when they
// hold any row.
var ledgers = []ledger{
	{table: "ref_moves", name: "the promotion ledger", one: "move", many: "moves"},
	{table: "audit_log", name: "the audit log", one: "entry", many: "entries"},
	// Rows change status but are never deleted, so its AUTOINCREMENT
	// counter counts them too. (A retention that deletes executions must
	// change that count.)
	{table: "executions", name: "the execution history", one: "execution", many: "executions"},
	// Keys are deleted, so it has no counter: its rows are counted
	// through its indexes too.
	{table: "api_keys", name: "the API keys", one: "key", many: "keys"},
}

// count returns "1 move" or "n moves", in l's words.
func (l ledger) count(n int64) string {
	if n == 1 {
		return "1 " + l.one
	}
	return fmt.Sprintf("%d %s", n, l.many)
}

// rewritten is a branch whose index dropped commits a rewrite removed.
type rewritten struct {
	branch string
	since  string // when, as the marker says
}

// rewrittenBranches returns the branches whose index was rewritten, from
// the markers ApplyIndex leaves in meta. A database that has not applied
// migration 3 (which sets the markers of rewrites before it) has no
// markers; and since a damaged file may have lost the markers' page, every
// database is also asked directly whether any version was introduced by a
// commit that is no longer indexed.
func rewrittenBranches(ctx context.Context, db *sql.DB, tables map[string]bool) ([]rewritten, error) {
	var out []rewritten
	var schema int
	if tables["schema_migrations"] {
		if err := db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&schema); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	if schema >= 3 {
		rows, err := db.QueryContext(ctx, "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key",
			len(metaRewrittenPrefix), metaRewrittenPrefix)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var key, value string
			if err := rows.Scan(&key, &value); err != nil {
				rows.Close()
				return nil, err
			}
			branch := strings.TrimPrefix(key, metaRewrittenPrefix)
			seen[branch] = true
			out = append(out, rewritten{branch: branch, since: "rewritten since " + value})
		}
		if err := closeRows(rows); err != nil {
			return nil, err
		}
	}
	// The markers live on one page of a damaged file: ask the index
	// itself too, so that a lost marker cannot make irreplaceable
	// versions look rebuildable. With the markers there, an index too
	// damaged to answer is left to them (it is what gets rebuilt).
	if tables["versions"] && tables["commits"] && tables["branches"] {
		branches, err := queryStrings(ctx, db, `SELECT b.name FROM branches b WHERE EXISTS (`+orphanVersions+`) ORDER BY b.name`)
		switch {
		case err != nil && schema >= 3:
			return out, nil
		case err != nil:
			return nil, err
		}
		for _, name := range branches {
			if !seen[name] {
				out = append(out, rewritten{branch: name, since: "rewritten (versions whose commit is no longer indexed)"})
			}
		}
	}
	return out, nil
}

// orphanVersions selects, for the branch b, the versions whose commit is no
// longer in its index: a rewrite dropped it. Migration 0003 holds a copy.
const orphanVersions = `SELECT 1 FROM versions v WHERE v.branch_id = b.id
    AND NOT EXISTS (SELECT 1 FROM commits c WHERE c.branch_id = v.branch_id AND c.sha = v.commit_sha)`

// moveAside renames the (closed) database file and its -wal and -shm files
// to <file>.damaged-<UTC time> (with -wal, -shm), and returns that name.
// The -wal file goes first: a -wal left beside a new database file would be
// replayed into it.
func (s *Store) moveAside() (string, error) {
	base := s.path + ".damaged-" + s.now().UTC().Format("20060102T150405Z")
	to := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(to); errors.Is(err, os.ErrNotExist) {
			break
		}
		to = fmt.Sprintf("%s.%d", base, i)
	}
	for _, suffix := range []string{"-wal", "-shm", ""} {
		err := os.Rename(s.path+suffix, to+suffix)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	// The renames are durable before anything is written to a new file of
	// the same name; best effort, as not every file system syncs a
	// directory.
	if d, err := os.Open(filepath.Dir(s.path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return to, nil
}

// querier is a database or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryStrings returns the one text column of the rows query selects in q.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, v)
	}
	return out, closeRows(rows)
}
