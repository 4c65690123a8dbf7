package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// migrationFiles are the schema's migrations, NNNN_what.sql, applied in the
// order of NNNN. A released migration is never edited: a change to the schema
// is a new file. Each runs in one transaction, so it must not change
// PRAGMA foreign_keys (a no-op inside a transaction); a table rebuild that
// needs it off would need a step outside the transaction, added here.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one file of migrations/.
type migration struct {
	version int
	name    string // the file name
	sql     string
}

// migrations returns the embedded migrations in order, checking that their
// versions are 1, 2, 3… without gaps or duplicates.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || path.Ext(name) != ".sql" {
			return nil, fmt.Errorf("migration %s: name is not NNNN_what.sql", name)
		}
		b, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d", m.name, m.version, i+1)
		}
	}
	return ms, nil
}

// migrate applies the migrations the database has not applied yet, each in
// its own transaction together with its row in schema_migrations. The check
// is repeated inside the transaction, which holds the write lock, so two
// processes opening one new database cannot both apply a migration.
func (s *Store) migrate(ctx context.Context) error {
	const op = "migrate database"
	ms, err := migrations()
	if err != nil {
		return dbError(op, err)
	}
	if _, err := s.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)`); err != nil {
		return dbError(op, err)
	}
	var newest int
	if err := s.writer.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&newest); err != nil {
		return dbError(op, err)
	}
	if newest > len(ms) {
		return dbError(op, fmt.Errorf("the database has schema version %d, newer than this program's %d", newest, len(ms)))
	}
	for _, m := range ms[newest:] {
		applied := false
		err := s.write(ctx, op+" "+m.name, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, timeValue(s.now()))
			applied = err == nil
			return err
		})
		if err != nil {
			return err
		}
		if applied {
			s.log.Info("database migrated", "migration", m.name)
		}
	}
	return nil
}
