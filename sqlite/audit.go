package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/promptreg/promptreg/registry"
)

var _ registry.AuditLog = (*Store)(nil)

// Limits of Audit.
const (
	DefaultAudit = 100  // entries returned when AuditQuery.Limit is 0
	MaxAudit     = 1000 // the most entries one call returns
)

// RecordAudit appends e to the audit log and returns its ID; IDs grow with
// every entry and are never reused. A zero e.Time is set to the store's
// clock; e.ID is ignored. No field is required: an entry with fields
// missing is still recorded rather than lost. Errors: EINTERNAL, ETIMEOUT,
// EUNAVAILABLE.
func (s *Store) RecordAudit(ctx context.Context, e registry.AuditEntry) (int64, error) {
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	var id int64
	err := s.write(ctx, "record audit entry", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO audit_log
    (time, key_id, actor, method, route, action, prompt, environment, from_hash, to_hash, commit_sha, status, result, message)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			timeValue(e.Time), e.KeyID, e.Actor, e.Method, e.Route, e.Action, e.Prompt, e.Environment,
			e.From, e.To, e.Commit, e.Status, e.Result, e.Message)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, err
	}
	return id, nil
}

// Audit returns recorded entries, newest (highest ID) first: of q.Prompt
// only if it is set, of q.KeyID only if it is set, with IDs below q.Before
// if it is set (the ID of the last entry of the previous page), at most
// q.Limit of them (DefaultAudit if 0, never more than MaxAudit). Times are
// in UTC. Errors: EINVALID for a negative limit or cursor; EINTERNAL,
// ETIMEOUT.
func (s *Store) Audit(ctx context.Context, q registry.AuditQuery) ([]registry.AuditEntry, error) {
	if q.Limit < 0 || q.Before < 0 {
		return nil, registry.Errorf(registry.EINVALID, "audit: negative limit or cursor")
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultAudit
	}
	limit = min(limit, MaxAudit)

	var where []string
	var args []any
	if q.Prompt != "" {
		where = append(where, "prompt = ?")
		args = append(args, q.Prompt)
	}
	if q.KeyID != "" {
		where = append(where, "key_id = ?")
		args = append(args, q.KeyID)
	}
	if q.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, q.Before)
	}
	query := `SELECT id, time, key_id, actor, method, route, action, prompt, environment,
    from_hash, to_hash, commit_sha, status, result, message
FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)

	var entries []registry.AuditEntry
	err := s.read(ctx, "audit", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var e registry.AuditEntry
			var when string
			if err := rows.Scan(&e.ID, &when, &e.KeyID, &e.Actor, &e.Method, &e.Route, &e.Action, &e.Prompt, &e.Environment,
				&e.From, &e.To, &e.Commit, &e.Status, &e.Result, &e.Message); err != nil {
				rows.Close()
				return err
			}
			if e.Time, err = parseTime(sql.NullString{String: when, Valid: true}); err != nil {
				rows.Close()
				return err
			}
			entries = append(entries, e)
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, err
	}
	return entries, nil
}
