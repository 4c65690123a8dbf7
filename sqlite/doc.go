// Package sqlite is promptreg's SQLite adapter (modernc.org/sqlite, no cgo): it
// owns promptreg.db in the data directory, its schema and every query on it.
//
// Today it implements registry.HistoryStore: the version index of each
// tracked branch (commits, versions, the spans of commits at which each
// version was current) and the promotion ledger (observed moves of
// environment refs); registry.AuditLog, the audit log of writes through
// the API; and registry.ExecutionStore, the executions (the server's runs
// and reported ones, with their telemetry), the queue of asynchronous runs
// and the analytics over them; and registry.KeyStore, the API keys, stored
// as hashes.
//
// The schema is owned here: migrations are embedded (migrations/*.sql),
// numbered, and applied at Open, each in its own transaction together with its
// row in schema_migrations, so a migration is applied exactly once even if the
// process dies halfway or two processes open the file at once.
//
// Every connection runs in WAL mode with a busy timeout and foreign keys on.
// Writes go through one connection (the write helper), so they never contend
// for SQLite's single write lock inside the process; reads use a separate
// pool of query-only connections (the read helper) and, in WAL mode, never
// wait for the writer. Each method is one transaction: killing the process at
// any moment leaves either the whole write or none of it. A new table adds a
// migration, and its methods use the same two helpers and dbError.
//
// The file is checked at every Open (PRAGMA integrity_check, about 0.1 s for
// the index of 10,000 commits) and on demand (Check). A damaged file is
// never served in part: a read or write that meets damage fails with an
// error carrying ErrDamaged, and so does every read and write after it
// (Health reports it). At Open, a damaged file that holds nothing Git cannot
// give back (an empty promotion ledger, audit log and execution history, no
// API keys, and no index that dropped commits of a rewritten history, marked
// in meta) is moved aside and replaced by an empty database, which the next
// sync fills from Git; any other damaged file is refused with an error that
// says how to restore it.
//
// A write that fails because the file cannot be written (read-only file,
// -wal, -shm or directory, full disk, I/O error) carries ErrUnwritable and
// discards its connection, which SQLite would otherwise keep read-only for
// its whole life: the next write opens a new one, so writes resume once the
// file is writable, without a restart. A read-only but migrated file opens,
// and reads work.
//
// Times are stored as fixed-width RFC 3339 text in UTC with nanoseconds (so
// they sort as text, and SQLite's date functions read them) and returned in
// UTC. Errors carry registry codes, assigned in one place (dbError): unique
// and foreign key violations are ECONFLICT, an ended context ETIMEOUT, a lock
// held past busy_timeout and a file that cannot be written EUNAVAILABLE, a
// damaged file and anything else EINTERNAL.
package sqlite
