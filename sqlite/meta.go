package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// Keys of the meta table.
const (
	metaLastFetchSuccess = "last_fetch_success"
	metaLastSync         = "last_sync"
	// metaRewrittenPrefix and a branch name are the key of the marker
	// that the branch's index dropped commits a history rewrite removed
	// (value: when that first happened). The versions those commits
	// introduced keep their numbers in the index, but an index rebuilt
	// from Git would not have them, so Open does not replace a damaged
	// file that has such a marker. ResetIndex removes the branch's marker
	// with its versions.
	metaRewrittenPrefix = "history_rewritten:"
)

// SaveSyncTimes records the times of the last successful fetch and sync; a
// zero time leaves the stored one as it is. Errors: EINTERNAL, ETIMEOUT.
func (s *Store) SaveSyncTimes(ctx context.Context, t registry.SyncTimes) error {
	return s.write(ctx, "save sync times", func(tx *sql.Tx) error {
		for key, at := range map[string]time.Time{metaLastFetchSuccess: t.LastFetchSuccess, metaLastSync: t.LastSync} {
			if at.IsZero() {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, timeValue(at)); err != nil {
				return err
			}
		}
		return nil
	})
}

// LoadSyncTimes returns the times SaveSyncTimes recorded; zero when none
// were. Errors: EINTERNAL, ETIMEOUT.
func (s *Store) LoadSyncTimes(ctx context.Context) (registry.SyncTimes, error) {
	var out registry.SyncTimes
	err := s.read(ctx, "load sync times", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT key, value FROM meta WHERE key IN (?, ?)`, metaLastFetchSuccess, metaLastSync)
		if err != nil {
			return err
		}
		for rows.Next() {
			var key string
			var value sql.NullString
			if err := rows.Scan(&key, &value); err != nil {
				rows.Close()
				return err
			}
			at, err := parseTime(value)
			if err != nil {
				rows.Close()
				return err
			}
			switch key {
			case metaLastFetchSuccess:
				out.LastFetchSuccess = at
			case metaLastSync:
				out.LastSync = at
			}
		}
		return closeRows(rows)
	})
	return out, err
}
