package sqlite

import (
	"context"
	"errors"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/promptreg/promptreg/registry"
)

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
//   - anything else is EINTERNAL.
//
// Messages never quote SQLite's, which name tables and columns.
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
