// Package sqlite is promptreg's SQLite adapter (modernc.org/sqlite, no cgo):
// a Store owns the server's database file, promptreg.db in the data
// directory, its schema and every query against it.
//
// Today it implements registry.HistoryStore: the version index of each
// tracked branch (commits, versions, the spans of commits at which each
// version was current) and the promotion ledger (observed moves of
// environment refs). Executions and their telemetry, API keys and the audit
// log are to live in the same database, each in its own file of this
// package with its own migration.
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
// Times are stored as fixed-width RFC 3339 text in UTC with nanoseconds (so
// they sort as text, and SQLite's date functions read them) and returned in
// UTC. Errors carry registry codes, assigned in one place (dbError): unique
// and foreign key violations are ECONFLICT, an ended context ETIMEOUT, a lock
// held past busy_timeout EUNAVAILABLE, anything else EINTERNAL.
package sqlite
