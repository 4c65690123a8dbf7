package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/promptreg/promptreg/registry"
)

var (
	_ registry.HistoryStore = (*Store)(nil)
	_ registry.StoreHealth  = (*Store)(nil)
)

// Options configures Open.
type Options struct {
	// Path is the database file, promptreg.db in the data directory. It is
	// created if missing; its directory must exist. It must be a file: the
	// writer and the readers are separate connections to it.
	Path string
	// Now is the clock for the times the store assigns itself (a RefMove's
	// ObservedAt when the caller left it zero, bookkeeping columns);
	// time.Now if nil.
	Now func() time.Time
	// Logger receives the migrations applied and warnings; discarded if nil.
	Logger *slog.Logger
}

// Store is promptreg's SQLite database. It is safe for concurrent use.
type Store struct {
	// path is the database file, absolute.
	path string
	// writer has exactly one connection: every write transaction goes
	// through it, so writes queue in database/sql rather than failing on
	// SQLite's write lock, and BEGIN IMMEDIATE takes that lock up front
	// (a deferred transaction that reads and then writes could fail with
	// SQLITE_BUSY when another process holds the lock). A write that fails
	// because the file cannot be written discards the connection (see
	// fail), so the next write opens a new one.
	writer *sql.DB
	// reader is a pool of query-only connections; in WAL mode a reader sees
	// the last committed state and never waits for the writer.
	reader *sql.DB

	// damage is the first error that showed the file damaged (nil while
	// none did); from then on every read and write fails with it.
	damage atomic.Pointer[registry.Error]
	// unwritable is the error of the last write if it failed because the
	// file could not be written; nil once a write succeeds.
	unwritable atomic.Pointer[registry.Error]

	// execInserts are the INSERTs of executions, prepared on the writer.
	execInserts insertStmts

	now       func() time.Time
	log       *slog.Logger
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the database at opts.Path, checks its
// integrity and applies the migrations it has not applied yet.
//
// A damaged file (see ErrDamaged) that holds nothing Git cannot give back
// (the promotion ledger, the audit log, the execution history and the API
// keys are readable and empty, and no history rewrite ever dropped commits
// from the version index) is moved aside, with its -wal and -shm files, to
// promptreg.db.damaged-<UTC time>, logged as an error, and replaced by a
// new empty database, which the next sync fills from Git.
// Otherwise Open refuses it, with an error that says what is damaged, what
// would be lost and how to restore.
//
// A file that is read-only (but migrated) opens: reads work, and writes fail
// with ErrUnwritable until it is writable again.
//
// Errors: EINVALID without a path; EINTERNAL when the file cannot be
// opened, is damaged and holds what Git cannot give back (ErrDamaged in the
// chain), or cannot be migrated.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, registry.Errorf(registry.EINVALID, "open database: no path")
	}
	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, dbError("open database", err)
	}
	s := &Store{path: path, now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.open(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.log.Debug("database open", "path", path)
	return s, nil
}

// open opens the writer, checks the file (replacing it if it is damaged
// and holds nothing Git cannot give back), migrates it and opens the
// readers. The writer is opened, checked and migrated before any reader
// exists, so readers only ever see a sound, migrated database in WAL mode.
func (s *Store) open(ctx context.Context) error {
	err := s.openWriter(ctx)
	if err == nil {
		err = s.integrityCheck(ctx, s.writer)
	}
	if errors.Is(err, ErrDamaged) {
		// Its errors say all there is to say.
		if err := s.replaceDamaged(ctx, err); err != nil {
			return err
		}
	} else if err != nil {
		return openError(s.path, err)
	}
	if err := s.migrate(ctx); err != nil {
		return openError(s.path, err)
	}

	s.reader, err = sql.Open("sqlite", dsn(s.path, false))
	if err != nil {
		return openError(s.path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.reader.SetMaxOpenConns(n)
	s.reader.SetMaxIdleConns(n)
	if err := s.reader.PingContext(ctx); err != nil {
		return openError(s.path, err)
	}
	return nil
}

// openWriter opens the writer's pool and its connection.
func (s *Store) openWriter(ctx context.Context) error {
	var err error
	s.writer, err = sql.Open("sqlite", dsn(s.path, true))
	if err != nil {
		return err
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)
	return s.checkWriter(ctx)
}

// openError is an error of Open, naming the file. A file that cannot be
// opened or written is EINTERNAL here (the store cannot start without it);
// other codes are kept. The cause stays in the chain, so errors.Is(err,
// ErrUnwritable) still tells what happened.
func openError(path string, err error) error {
	code := registry.ErrorCode(err)
	msg := "open database " + path
	if failureClass(err) == failUnwritable {
		code = registry.EINTERNAL
		if hint := unwritableHint(path); hint != "" {
			msg += " (" + hint + ")"
		}
	}
	return &registry.Error{Code: code, Message: msg, Err: err}
}

// dsn returns the data source name of the database file at path, for the
// writer or for a reader. The pragmas are in the DSN so that the driver
// applies them to every connection it opens, not just the first.
//
// synchronous=NORMAL in WAL mode syncs the WAL at checkpoints, not at every
// commit. A committed transaction is in the WAL file (in the OS page cache)
// when COMMIT returns, so killing the process at any moment loses nothing
// and never corrupts the database; only an OS crash or a power cut can roll
// back the last transactions, still without corruption. That is acceptable
// for what this database holds: the version index is derived from Git and
// re-indexed from the last commit it kept, and a ledger entry lost that way
// is observed again (as a move from the last recorded commit) by the first
// poll after the restart. FULL would add an fsync to every commit.
func dsn(path string, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	if writer {
		q.Set("_txlock", "immediate")
		// A bigger page cache for the writer (the default is 2 MB): the
		// first index of a big repository touches a few thousand pages.
		q.Add("_pragma", "cache_size(-32000)")
		// Statement journals (which undo one failed statement of a
		// multi-row INSERT inside a transaction) in memory, not in temp
		// files: they were a fifth of the time of a first index.
		q.Add("_pragma", "temp_store(MEMORY)")
		// Checkpoint the WAL every 4,000 pages (16 MB) rather than 1,000:
		// a page written by several transactions between two checkpoints
		// is copied into the file once. Ingesting executions in batches
		// of 100 (each writes some 60 leaves of executions_prompt) went
		// from 10,800 to 12,800 rows/s; the slowest commit, the one that
		// checkpoints, from 38 to 58 ms.
		q.Add("_pragma", "wal_autocheckpoint(4000)")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	// A file: URI, so that a path with '?' or '#' in it stays a path.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// checkWriter opens the writer's connection and warns if the database did
// not switch to WAL mode (some network file systems cannot share memory
// between processes): it still works, but readers then block the writer.
func (s *Store) checkWriter(ctx context.Context) error {
	var mode string
	if err := s.writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return dbError("open database", err)
	}
	if mode != "wal" {
		s.log.Warn("database is not in WAL mode; readers will block writes", "path", s.path, "journal_mode", mode)
	}
	return nil
}

// Close closes the database; it waits for the queries in progress. Calling
// it again returns the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.reader != nil {
			errs = append(errs, s.reader.Close())
		}
		// The writer's prepared statements, then the writer last: closing
		// the last connection checkpoints the WAL into the database file.
		errs = append(errs, s.execInserts.close())
		if s.writer != nil {
			errs = append(errs, s.writer.Close())
		}
		if err := errors.Join(errs...); err != nil {
			s.closeErr = dbError("close database", err)
		}
	})
	return s.closeErr
}

// write runs fn in a transaction on the writer connection and commits it if
// fn returns nil; any error rolls the whole transaction back. op names the
// operation in errors, which fail codes.
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if err := s.damaged(op); err != nil {
		return err
	}
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return s.fail(op, err, nil, true)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(op, err, conn, true)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return s.fail(op, err, conn, true)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(op, err, conn, true)
	}
	if prev := s.unwritable.Swap(nil); prev != nil {
		s.log.Info("database writable again", "path", s.path)
	}
	return nil
}

// read runs fn in a read-only transaction on the read pool, so that all the
// queries fn makes see one consistent state of the database.
func (s *Store) read(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if err := s.damaged(op); err != nil {
		return err
	}
	conn, err := s.reader.Conn(ctx)
	if err != nil {
		return s.fail(op, err, nil, false)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return s.fail(op, err, conn, false)
	}
	err = fn(tx)
	// Ended before fail, which may discard conn: a Conn cannot be closed
	// while a transaction on it is open.
	_ = tx.Rollback() // a read-only transaction has nothing to lose
	if err != nil {
		return s.fail(op, err, conn, false)
	}
	return nil
}

// fail returns the coded error (dbError) of operation op that failed with
// err on conn (nil if it failed before it had one; writing says whether op
// is a write), and acts on its class:
//
//   - a damaged file is recorded, so that every later read and write fails
//     with the same error instead of returning what the damaged pages
//     leave (see damaged);
//   - a file that cannot be written, opened or read now discards conn: a
//     connection opened while the file was read-only stays read-only for
//     its whole life, so the next operation needs a new one. A write's
//     failure is kept for Health until a write succeeds.
func (s *Store) fail(op string, err error, conn *sql.Conn, writing bool) error {
	err = dbError(op, err)
	var rerr *registry.Error
	if !errors.As(err, &rerr) {
		return err
	}
	switch failureClass(err) {
	case failDamaged:
		return s.recordDamage(op, rerr.Err)
	case failUnwritable:
		if conn != nil {
			// Raw returning ErrBadConn makes database/sql close the
			// connection rather than return it to the pool.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		cause := rerr.Err
		if hint := unwritableHint(s.path); hint != "" {
			cause = fmt.Errorf("%w (%s)", cause, hint)
		}
		out := &registry.Error{Code: rerr.Code, Message: rerr.Message,
			Err: &causeError{ErrUnwritable, fmt.Errorf("%s: %w", s.path, cause)}}
		if !writing {
			out.Message = op + ": database cannot be read"
			return out
		}
		if prev := s.unwritable.Swap(out); prev == nil {
			s.log.Error("database cannot be written; the next write retries with a new connection",
				"path", s.path, "op", op, "err", cause)
		}
		return out
	}
	return err
}

// unwritableHint says which of the database file, its -wal and -shm files
// and their directory have no write permission at all, "" if none: a -wal
// or -shm file created while the database file was read-only is read-only
// too, and stays so after the database file is made writable again.
func unwritableHint(path string) string {
	var ro []string
	for _, p := range []string{path, path + "-wal", path + "-shm", filepath.Dir(path)} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o222 == 0 {
			ro = append(ro, fmt.Sprintf("%s is read-only (%s)", p, fi.Mode()))
		}
	}
	return strings.Join(ro, ", ")
}

// timeLayout is how times are stored: UTC, fixed width, so that stored
// times sort as text in the order they compare.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// timeValue returns the stored form of t: NULL for the zero time.
func timeValue(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(timeLayout)
}

// parseTime parses a stored time; NULL is the zero time. A time that does
// not parse was not written by the store: bytes of the file changed under
// it, which the integrity check cannot see, so the error says the file is
// damaged (ErrDamaged).
func parseTime(v sql.NullString) (time.Time, error) {
	if !v.Valid {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, v.String)
	if err != nil {
		return time.Time{}, &causeError{ErrDamaged, fmt.Errorf("stored time %q: %w", v.String, err)}
	}
	return t, nil
}
