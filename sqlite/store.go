package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/promptreg/promptreg/registry"
)

var _ registry.HistoryStore = (*Store)(nil)

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
	// writer has exactly one connection: every write transaction goes
	// through it, so writes queue in database/sql rather than failing on
	// SQLite's write lock, and BEGIN IMMEDIATE takes that lock up front
	// (a deferred transaction that reads and then writes could fail with
	// SQLITE_BUSY when another process holds the lock).
	writer *sql.DB
	// reader is a pool of query-only connections; in WAL mode a reader sees
	// the last committed state and never waits for the writer.
	reader *sql.DB

	now       func() time.Time
	log       *slog.Logger
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the database at opts.Path and applies the
// migrations it has not applied yet. Errors: EINVALID without a path,
// EINTERNAL when the file cannot be opened or migrated.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, registry.Errorf(registry.EINVALID, "open database: no path")
	}
	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, dbError("open database", err)
	}
	s := &Store{now: opts.Now, log: opts.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}

	// The writer is opened, checked and migrated before any reader exists,
	// so readers only ever see a migrated database in WAL mode.
	s.writer, err = sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, dbError("open database", err)
	}
	s.writer.SetMaxOpenConns(1)
	s.writer.SetMaxIdleConns(1)
	s.writer.SetConnMaxLifetime(0)
	s.writer.SetConnMaxIdleTime(0)
	if err := s.checkWriter(ctx, path); err != nil {
		s.writer.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.writer.Close()
		return nil, err
	}

	s.reader, err = sql.Open("sqlite", dsn(path, false))
	if err != nil {
		s.writer.Close()
		return nil, dbError("open database", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.reader.SetMaxOpenConns(n)
	s.reader.SetMaxIdleConns(n)
	if err := s.reader.PingContext(ctx); err != nil {
		s.Close()
		return nil, dbError("open database", err)
	}
	s.log.Debug("database open", "path", path)
	return s, nil
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
func (s *Store) checkWriter(ctx context.Context, path string) error {
	var mode string
	if err := s.writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return dbError(fmt.Sprintf("open database %s", path), err)
	}
	if mode != "wal" {
		s.log.Warn("database is not in WAL mode; readers will block writes", "path", path, "journal_mode", mode)
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
		// The writer last: closing the last connection checkpoints the
		// WAL into the database file.
		errs = append(errs, s.writer.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = dbError("close database", err)
		}
	})
	return s.closeErr
}

// write runs fn in a transaction on the writer connection and commits it if
// fn returns nil; any error rolls the whole transaction back. op names the
// operation in errors, which dbError codes.
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return dbError(op, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return dbError(op, err)
	}
	if err := tx.Commit(); err != nil {
		return dbError(op, err)
	}
	return nil
}

// read runs fn in a read-only transaction on the read pool, so that all the
// queries fn makes see one consistent state of the database.
func (s *Store) read(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return dbError(op, err)
	}
	defer tx.Rollback() //nolint:errcheck // a read-only transaction has nothing to lose
	if err := fn(tx); err != nil {
		return dbError(op, err)
	}
	return nil
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

// parseTime parses a stored time; NULL is the zero time.
func parseTime(v sql.NullString) (time.Time, error) {
	if !v.Valid {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, v.String)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", v.String, err)
	}
	return t, nil
}
