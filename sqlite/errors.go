package sqlite

import (
	"context"
	"errors"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/promptreg/promptreg/registry"
)

// ErrDamaged is in the chain of every error the store returns because its
// database file is damaged: SQLite found a malformed page (SQLITE_CORRUPT) or
// no database at all (SQLITE_NOTADB), the integrity check found problems, or
// a stored value is not one the store writes. Such errors have the code
// EINTERNAL; test with errors.Is(err, sqlite.ErrDamaged).
var ErrDamaged = errors.New("database file is damaged")

// ErrUnwritable is in the chain of every error the store returns because its
// database file cannot be written now: it, its -wal or -shm file or their
// directory is read-only, the disk is full, or the file system failed
// (SQLITE_READONLY, SQLITE_PERM, SQLITE_CANTOPEN, SQLITE_FULL, SQLITE_IOERR).
// Such errors have the code EUNAVAILABLE; test with
// errors.Is(err, sqlite.ErrUnwritable). The store opens a new connection for
// the next write, so writes succeed again once the cause is gone. A read
// that cannot open or read the file (SQLITE_CANTOPEN, SQLITE_IOERR) fails
// the same way, and the next read also uses a new connection.
var ErrUnwritable = errors.New("database file cannot be written")

// failure classes of SQLite errors.
const (
	failOther      = iota
	failDamaged    // the file is damaged: never trust it again
	failUnwritable // the file cannot be written (or read) now: reconnect
)

// failureClass returns the class of err, an error from SQLite.
func failureClass(err error) int {
	if errors.Is(err, ErrDamaged) {
		return failDamaged
	}
	if errors.Is(err, ErrUnwritable) {
		return failUnwritable
	}
	var serr *msqlite.Error
	if !errors.As(err, &serr) {
		return failOther
	}
	switch serr.Code() & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return failDamaged
	case sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR:
		return failUnwritable
	}
	return failOther
}

// causeError wraps a cause so that errors.Is matches its class (ErrDamaged
// or ErrUnwritable) without repeating the class's text in the message.
type causeError struct {
	class error
	err   error
}

func (e *causeError) Error() string        { return e.err.Error() }
func (e *causeError) Unwrap() error        { return e.err }
func (e *causeError) Is(target error) bool { return target == e.class }

// dbError is the one place where errors of the database get their registry
// code, with op (a short lowercase phrase) as context:
//
//   - an error that already has a code (returned by a transaction's own
//     checks) is returned as is;
//   - an ended context is ETIMEOUT;
//   - a UNIQUE, PRIMARY KEY or FOREIGN KEY constraint violation is
//     ECONFLICT (the row exists already, or the row it refers to does not:
//     the stored state is not what the caller assumed); a CHECK or NOT NULL
//     violation is EINVALID;
//   - SQLITE_BUSY (the lock was still held when busy_timeout ran out, by
//     another process) is EUNAVAILABLE;
//   - a damaged file (see ErrDamaged) is EINTERNAL with ErrDamaged in the
//     chain;
//   - a file that cannot be written now (see ErrUnwritable) is EUNAVAILABLE
//     with ErrUnwritable in the chain;
//   - anything else is EINTERNAL.
//
// Messages never quote SQLite's, which name tables and columns. Store.fail
// adds the file's path and acts on the last two classes.
func dbError(op string, err error) error {
	if err == nil {
		return nil
	}
	var rerr *registry.Error
	if errors.As(err, &rerr) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &registry.Error{Code: registry.ETIMEOUT, Message: op + ": " + err.Error(), Err: err}
	}
	switch failureClass(err) {
	case failDamaged:
		return &registry.Error{Code: registry.EINTERNAL, Message: op + ": database file is damaged", Err: &causeError{ErrDamaged, err}}
	case failUnwritable:
		return &registry.Error{Code: registry.EUNAVAILABLE, Message: op + ": database cannot be written", Err: &causeError{ErrUnwritable, err}}
	}
	var serr *msqlite.Error
	if errors.As(err, &serr) {
		// Connections report extended result codes; the low byte is the
		// primary code.
		switch code := serr.Code(); code & 0xff {
		case sqlite3.SQLITE_CONSTRAINT:
			switch code {
			case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
				return &registry.Error{Code: registry.ECONFLICT, Message: op + ": already exists", Err: err}
			case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
				return &registry.Error{Code: registry.ECONFLICT, Message: op + ": refers to something that does not exist", Err: err}
			case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
				return &registry.Error{Code: registry.EINVALID, Message: op + ": invalid value", Err: err}
			}
			return &registry.Error{Code: registry.ECONFLICT, Message: op + ": constraint violated", Err: err}
		case sqlite3.SQLITE_BUSY:
			return &registry.Error{Code: registry.EUNAVAILABLE, Message: op + ": database is busy", Err: err}
		}
	}
	return &registry.Error{Code: registry.EINTERNAL, Message: op, Err: err}
}
