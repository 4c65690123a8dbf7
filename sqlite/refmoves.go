package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/promptreg/promptreg/registry"
)

// Limits of RefMoves.
const (
	DefaultRefMoves = 100  // moves returned when RefMoveQuery.Limit is 0
	MaxRefMoves     = 1000 // the most moves one call returns
)

// RecordRefMove appends m to the promotion ledger and returns its ID; IDs
// grow with every move and are never reused. A zero m.ObservedAt is set to
// the store's clock; m.ID is ignored. Errors: EINVALID without an
// environment; EINTERNAL, ETIMEOUT.
func (s *Store) RecordRefMove(ctx context.Context, m registry.RefMove) (int64, error) {
	if m.Environment == "" {
		return 0, registry.Errorf(registry.EINVALID, "record ref move: no environment")
	}
	if m.ObservedAt.IsZero() {
		m.ObservedAt = s.now()
	}
	var name, email, when any
	if m.Tagger != nil {
		name, email, when = m.Tagger.Name, m.Tagger.Email, timeValue(m.Tagger.Time)
	}
	var id int64
	err := s.write(ctx, "record move of "+m.Environment, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO ref_moves
    (environment, ref, from_sha, to_sha, observed_at, via, delivery, tagger_name, tagger_email, tagger_time, by_actor)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.Environment, m.Ref, m.From, m.To, timeValue(m.ObservedAt), m.Via, m.Delivery, name, email, when, m.By)
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

// RefMoves returns recorded moves, newest (highest ID) first: of
// q.Environment only if it is set, with IDs below q.Before if it is set (the
// ID of the last move of the previous page), at most q.Limit of them
// (DefaultRefMoves if 0, never more than MaxRefMoves). Errors: EINVALID for a
// negative limit or cursor; EINTERNAL, ETIMEOUT.
func (s *Store) RefMoves(ctx context.Context, q registry.RefMoveQuery) ([]registry.RefMove, error) {
	if q.Limit < 0 || q.Before < 0 {
		return nil, registry.Errorf(registry.EINVALID, "ref moves: negative limit or cursor")
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultRefMoves
	}
	limit = min(limit, MaxRefMoves)

	var where []string
	var args []any
	if q.Environment != "" {
		where = append(where, "environment = ?")
		args = append(args, q.Environment)
	}
	if q.Before > 0 {
		where = append(where, "id < ?")
		args = append(args, q.Before)
	}
	query := `SELECT id, environment, ref, from_sha, to_sha, observed_at, via, delivery,
    tagger_name, tagger_email, tagger_time, by_actor
FROM ref_moves`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, limit)

	var moves []registry.RefMove
	err := s.read(ctx, "ref moves", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var m registry.RefMove
			var observed string
			var name, email, when sql.NullString
			if err := rows.Scan(&m.ID, &m.Environment, &m.Ref, &m.From, &m.To, &observed, &m.Via, &m.Delivery,
				&name, &email, &when, &m.By); err != nil {
				rows.Close()
				return err
			}
			if m.ObservedAt, err = parseTime(sql.NullString{String: observed, Valid: true}); err != nil {
				rows.Close()
				return err
			}
			if name.Valid {
				m.Tagger = &registry.Signature{Name: name.String, Email: email.String}
				if m.Tagger.Time, err = parseTime(when); err != nil {
					rows.Close()
					return err
				}
			}
			moves = append(moves, m)
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, err
	}
	return moves, nil
}

// LastRefs returns, for each environment in the ledger, the commit its ref
// pointed at after its newest recorded move ("" if that move deleted the
// ref). Errors: EINTERNAL, ETIMEOUT.
func (s *Store) LastRefs(ctx context.Context) (map[string]string, error) {
	last := map[string]string{}
	err := s.read(ctx, "last refs", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT environment, to_sha FROM ref_moves
WHERE id IN (SELECT max(id) FROM ref_moves GROUP BY environment)`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var env, sha string
			if err := rows.Scan(&env, &sha); err != nil {
				rows.Close()
				return err
			}
			last[env] = sha
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, err
	}
	return last, nil
}
