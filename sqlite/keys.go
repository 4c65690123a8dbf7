package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/promptreg/promptreg/registry"
)

var _ registry.KeyStore = (*Store)(nil)

// CreateKey stores k. A zero k.CreatedAt is set to the store's clock;
// k.LastUsedAt is ignored (a new key has not been used). Errors: EINVALID
// for an empty ID, Hash or Name, or no scopes; ECONFLICT for an ID or a
// Hash that a stored key has, saying which; EINTERNAL, ETIMEOUT,
// EUNAVAILABLE.
func (s *Store) CreateKey(ctx context.Context, k registry.APIKey) error {
	op := "create key " + k.ID
	switch {
	case k.ID == "":
		return registry.Errorf(registry.EINVALID, "create key: no id")
	case k.Hash == "":
		return registry.Errorf(registry.EINVALID, "%s: no hash", op)
	case k.Name == "":
		return registry.Errorf(registry.EINVALID, "%s: no name", op)
	case len(k.Scopes) == 0:
		return registry.Errorf(registry.EINVALID, "%s: no scopes", op)
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.now()
	}
	scopes, err := json.Marshal(k.Scopes)
	if err != nil {
		return dbError(op, err)
	}
	var cidrs any // NULL: any network
	if len(k.AllowedCIDRs) > 0 {
		b, err := json.Marshal(k.AllowedCIDRs)
		if err != nil {
			return dbError(op, err)
		}
		cidrs = string(b)
	}
	return s.write(ctx, op, func(tx *sql.Tx) error {
		// Asked first, in the transaction that holds the write lock, to
		// say which one exists; the UNIQUE constraints stay the guard.
		var byID bool
		err := tx.QueryRowContext(ctx, "SELECT id = ? FROM api_keys WHERE id = ? OR hash = ? ORDER BY id = ? DESC LIMIT 1",
			k.ID, k.ID, k.Hash, k.ID).Scan(&byID)
		switch {
		case err == nil && byID:
			return registry.Errorf(registry.ECONFLICT, "%s: a key with id %q exists already", op, k.ID)
		case err == nil:
			return registry.Errorf(registry.ECONFLICT, "%s: a key with the same hash exists already", op)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO api_keys (id, hash, name, scopes, expires_at, allowed_cidrs, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Hash, k.Name, string(scopes), timePtrValue(k.ExpiresAt), cidrs, timeValue(k.CreatedAt))
		return err
	})
}

// Keys returns every stored key, oldest first (by CreatedAt, then ID).
// Times are in UTC; a key without allowed networks has nil AllowedCIDRs.
// Errors: EINTERNAL, ETIMEOUT.
func (s *Store) Keys(ctx context.Context) ([]registry.APIKey, error) {
	var keys []registry.APIKey
	err := s.read(ctx, "list keys", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, hash, name, scopes, expires_at, allowed_cidrs, created_at, last_used_at
FROM api_keys ORDER BY created_at, id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			k, err := scanKey(rows)
			if err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, k)
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

// scanKey scans a row of api_keys, columns in the order Keys selects them.
func scanKey(rows *sql.Rows) (registry.APIKey, error) {
	var k registry.APIKey
	var scopes string
	var cidrs, expires, used sql.NullString
	var created string
	if err := rows.Scan(&k.ID, &k.Hash, &k.Name, &scopes, &expires, &cidrs, &created, &used); err != nil {
		return k, err
	}
	var err error
	if k.Scopes, err = parseStrings(sql.NullString{String: scopes, Valid: true}); err != nil {
		return k, err
	}
	if k.AllowedCIDRs, err = parseStrings(cidrs); err != nil {
		return k, err
	}
	if k.CreatedAt, err = parseTime(sql.NullString{String: created, Valid: true}); err != nil {
		return k, err
	}
	if k.ExpiresAt, err = parseTimePtr(expires); err != nil {
		return k, err
	}
	if k.LastUsedAt, err = parseTimePtr(used); err != nil {
		return k, err
	}
	return k, nil
}

// parseStrings parses a stored JSON array of strings; NULL is nil. Text
// that does not parse was not written by the store: the file is damaged.
func parseStrings(v sql.NullString) ([]string, error) {
	if !v.Valid {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(v.String), &out); err != nil {
		return nil, &causeError{ErrDamaged, fmt.Errorf("stored JSON: %w", err)}
	}
	return out, nil
}

// DeleteKey deletes the key with id. Errors: ENOTFOUND; EINTERNAL,
// ETIMEOUT, EUNAVAILABLE.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	op := "delete key " + id
	return s.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM api_keys WHERE id = ?", id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return registry.Errorf(registry.ENOTFOUND, "%s: no such key", op)
		}
		return nil
	})
}

// TouchKeys records when keys were last used (id → time), in one
// transaction: a key's LastUsedAt becomes the later of the stored time and
// the given one, so touches that arrive out of order never move it back.
// Ids that no longer exist (a key deleted meanwhile) and zero times are
// skipped; an empty map does nothing. Errors: EINTERNAL, ETIMEOUT,
// EUNAVAILABLE.
func (s *Store) TouchKeys(ctx context.Context, used map[string]time.Time) error {
	if len(used) == 0 {
		return nil
	}
	// In a fixed order, so that a run is repeatable.
	ids := make([]string, 0, len(used))
	for id, t := range used {
		if !t.IsZero() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return s.write(ctx, "touch keys", func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE api_keys SET last_used_at = max(coalesce(last_used_at, ?1), ?1) WHERE id = ?2`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, id := range ids {
			// Stored times sort as text in the order they compare.
			if _, err := stmt.ExecContext(ctx, timeValue(used[id]), id); err != nil {
				return err
			}
		}
		return nil
	})
}
