package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/promptreg/promptreg/registry"
)

var _ registry.ExecutionStore = (*Store)(nil)

// Limits of Executions.
const (
	DefaultExecutions = 50   // executions returned when ExecutionQuery.Limit is 0
	MaxExecutions     = 1000 // the most executions one call returns
)

// execColumns are the stored fields of an execution but its sequence
// number and work, in the order scanExecution reads them.
var execColumns = []string{
	"id", "status", "mode", "origin", "prompt_name", "version", "checksum", "commit_sha",
	"environment", "provider", "model", "input", "input_hash", "params", "output",
	"error_class", "error", "prompt_tokens", "completion_tokens", "cached_tokens",
	"latency_ms", "ttft_ms", "cost_usd", "metadata", "correlation_id", "key_id",
	"attempts", "created_at", "started_at", "finished_at",
}

var (
	// execSelect selects the columns scanExecution reads: seq, then
	// execColumns.
	execSelect = "seq, " + strings.Join(execColumns, ", ")
	// execInsert are the columns InsertExecutions writes.
	execInsert = append(slices.Clone(execColumns), "work")
)

// stored is what InsertExecutions computes of an execution before writing it.
type stored struct {
	params, metadata any // JSON text or NULL
	work             any // bytes or NULL
	created          any // CreatedAt, or the store's clock if zero
}

// InsertExecutions records es in one transaction, with multi-row INSERTs:
// all of them or, on any error, none. Every execution needs an ID that is
// new (not stored, not twice in es) and a known status; a zero CreatedAt is
// set to the store's clock. Work is kept for a queued or running execution
// only. Errors: EINVALID for a missing, repeated or existing ID (named), an
// unknown status, or params or metadata that are not JSON; EINTERNAL,
// ETIMEOUT, EUNAVAILABLE.
func (s *Store) InsertExecutions(ctx context.Context, es []registry.Execution) error {
	const op = "insert executions"
	if len(es) == 0 {
		return nil
	}
	rows := make([]stored, len(es))
	seen := make(map[string]struct{}, len(es))
	var now time.Time
	for i := range es {
		e := &es[i]
		if e.ID == "" {
			return registry.Errorf(registry.EINVALID, "%s: execution %d of %d has no id", op, i+1, len(es))
		}
		if _, ok := seen[e.ID]; ok {
			return registry.Errorf(registry.EINVALID, "%s: id %q appears twice", op, e.ID)
		}
		seen[e.ID] = struct{}{}
		if !validStatus(e.Status) {
			return registry.Errorf(registry.EINVALID, "%s: execution %q: unknown status %q", op, e.ID, e.Status)
		}
		var err error
		if rows[i].params, err = jsonValue(e.Params); err != nil {
			return registry.Errorf(registry.EINVALID, "%s: execution %q: params: %v", op, e.ID, err)
		}
		if rows[i].metadata, err = jsonValue(e.Metadata); err != nil {
			return registry.Errorf(registry.EINVALID, "%s: execution %q: metadata: %v", op, e.ID, err)
		}
		if !registry.Terminal(e.Status) && len(e.Work) > 0 {
			rows[i].work = []byte(e.Work)
		}
		created := e.CreatedAt
		if created.IsZero() {
			if now.IsZero() {
				now = s.now()
			}
			created = now
		}
		rows[i].created = timeValue(created)
	}
	chunks, err := s.execInserts.prepare(ctx, s.writer, len(es))
	if err != nil {
		return s.fail(op, err, nil, true)
	}
	err = s.write(ctx, op, func(tx *sql.Tx) error {
		return insertChunks(ctx, tx, chunks, func(args []any, i int) []any {
			e := &es[i]
			return append(args,
				e.ID, e.Status, e.Mode, e.Origin, e.PromptName, e.Version, e.Checksum, e.Commit,
				e.Environment, e.Provider, e.Model, e.Input, e.InputHash, rows[i].params, e.Output,
				e.ErrorClass, e.Error, e.Usage.PromptTokens, e.Usage.CompletionTokens, e.Usage.CachedTokens,
				e.LatencyMS, int64Value(e.TTFTMS), floatValue(e.CostUSD), rows[i].metadata, e.CorrelationID, e.KeyID,
				e.Attempts, rows[i].created, timePtrValue(e.StartedAt), timePtrValue(e.FinishedAt),
				rows[i].work)
		})
	})
	if registry.ErrorCode(err) == registry.ECONFLICT {
		// The one unique key is id. Named after the rollback, so that
		// only IDs stored before count.
		var id string
		if rerr := s.read(ctx, op, func(tx *sql.Tx) error {
			var ferr error
			id, ferr = existingID(ctx, tx, es)
			return ferr
		}); rerr != nil {
			return rerr
		}
		if id != "" {
			return registry.Errorf(registry.EINVALID, "%s: id %q exists already", op, id)
		}
	}
	return err
}

// insertChunk is the most rows of one INSERT of executions: 64 rows of 31
// values. Bigger statements gain little, and smaller ones are cheap to
// keep prepared.
const insertChunk = 64

// insertStmts keeps the INSERTs of 1, 2, 4… insertChunk executions
// prepared on the writer: parsing a statement of a few thousand
// parameters cost about as much as running it, per transaction. Any number
// of rows is inserted with full chunks and the binary digits of the rest.
type insertStmts struct {
	mu    sync.Mutex
	stmts map[int]*sql.Stmt // by rows
}

// chunk is a prepared INSERT of rows executions.
type chunk struct {
	stmt *sql.Stmt
	rows int
}

// prepare returns the statements that insert n rows, in order, prepared on
// db. It is called outside the transaction that runs them: preparing on
// db needs its (only) connection.
func (c *insertStmts) prepare(ctx context.Context, db *sql.DB, n int) ([]chunk, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []chunk
	for done := 0; done < n; {
		k := insertChunk
		for k > n-done {
			k /= 2
		}
		st := c.stmts[k]
		if st == nil {
			var err error
			if st, err = db.PrepareContext(ctx, insertSQL("executions", execInsert, k)); err != nil {
				return nil, err
			}
			if c.stmts == nil {
				c.stmts = map[int]*sql.Stmt{}
			}
			c.stmts[k] = st
		}
		out = append(out, chunk{st, k})
		done += k
	}
	return out, nil
}

// insertChunks runs chunks (from prepare) in tx; row appends the values of
// row i, in the order of execInsert, to args and returns it.
func insertChunks(ctx context.Context, tx *sql.Tx, chunks []chunk, row func(args []any, i int) []any) error {
	args := make([]any, 0, insertChunk*len(execInsert))
	done := 0
	for _, c := range chunks {
		args = args[:0]
		for i := done; i < done+c.rows; i++ {
			args = row(args, i)
		}
		if _, err := tx.StmtContext(ctx, c.stmt).ExecContext(ctx, args...); err != nil {
			return err
		}
		done += c.rows
	}
	return nil
}

// close closes the prepared statements.
func (c *insertStmts) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, st := range c.stmts {
		errs = append(errs, st.Close())
	}
	c.stmts = nil
	return errors.Join(errs...)
}

// existingID returns the first ID of es that is stored, "" if none is.
func existingID(ctx context.Context, tx *sql.Tx, es []registry.Execution) (string, error) {
	found := map[string]bool{}
	const per = 500
	for start := 0; start < len(es); start += per {
		part := es[start:min(start+per, len(es))]
		args := make([]any, len(part))
		for i := range part {
			args[i] = part[i].ID
		}
		ids, err := queryStrings(ctx, tx, "SELECT id FROM executions WHERE id IN (?"+strings.Repeat(", ?", len(part)-1)+")", args...)
		if err != nil {
			return "", err
		}
		for _, id := range ids {
			found[id] = true
		}
	}
	for i := range es {
		if found[es[i].ID] {
			return es[i].ID, nil
		}
	}
	return "", nil
}

// claimSQL claims the oldest queued executions (through executions_status).
var claimSQL = `UPDATE executions SET status = 'running', started_at = ?, attempts = attempts + 1
WHERE seq IN (SELECT seq FROM executions WHERE status = 'queued' ORDER BY seq LIMIT ?)
RETURNING ` + execSelect + `, work`

// ClaimExecutions moves up to n queued executions, oldest (lowest seq)
// first, to running, with StartedAt now (the store's clock if zero) and
// one more attempt, and returns them in that order with their Work. It is
// one write transaction, so two claims never return the same execution.
// Errors: EINVALID for n < 1; EINTERNAL, ETIMEOUT, EUNAVAILABLE.
func (s *Store) ClaimExecutions(ctx context.Context, n int, now time.Time) ([]registry.Execution, error) {
	if n < 1 {
		return nil, registry.Errorf(registry.EINVALID, "claim executions: n is %d, want at least 1", n)
	}
	if now.IsZero() {
		now = s.now()
	}
	var out []registry.Execution
	var seqs []int64
	err := s.write(ctx, "claim executions", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, claimSQL, timeValue(now), n)
		if err != nil {
			return err
		}
		for rows.Next() {
			var seq int64
			var work []byte
			e, err := scanExecution(rows, &seq, &work)
			if err != nil {
				rows.Close()
				return err
			}
			e.Work = work
			out = append(out, e)
			seqs = append(seqs, seq)
		}
		return closeRows(rows)
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order.
	order := keyOrder(len(out), func(i, j int) int { return cmp.Compare(seqs[i], seqs[j]) })
	sorted := make([]registry.Execution, len(out))
	for i, k := range order {
		sorted[i] = out[k]
	}
	return sorted, nil
}

// FinishExecution records the end of the running execution e.ID: e's
// status (terminal), provider and model (a fallback may have answered),
// output, error class and message, usage, latency, time to first token,
// cost and FinishedAt (the store's clock if nil); it drops its Work. Its
// other fields stay as stored. It returns false, changing nothing, if the
// execution is not running (cancelled meanwhile). Errors: EINVALID without
// an ID or with a status that is not terminal; ENOTFOUND; EINTERNAL,
// ETIMEOUT, EUNAVAILABLE.
func (s *Store) FinishExecution(ctx context.Context, e registry.Execution) (bool, error) {
	op := "finish execution " + e.ID
	if e.ID == "" {
		return false, registry.Errorf(registry.EINVALID, "finish execution: no id")
	}
	if !registry.Terminal(e.Status) {
		return false, registry.Errorf(registry.EINVALID, "%s: status %q is not succeeded, failed or cancelled", op, e.Status)
	}
	finished := s.now()
	if e.FinishedAt != nil && !e.FinishedAt.IsZero() {
		finished = *e.FinishedAt
	}
	var done bool
	err := s.write(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE executions SET status = ?, provider = ?, model = ?, output = ?, error_class = ?, error = ?,
    prompt_tokens = ?, completion_tokens = ?, cached_tokens = ?, latency_ms = ?, ttft_ms = ?, cost_usd = ?,
    finished_at = ?, work = NULL
WHERE id = ? AND status = 'running'`,
			e.Status, e.Provider, e.Model, e.Output, e.ErrorClass, e.Error,
			e.Usage.PromptTokens, e.Usage.CompletionTokens, e.Usage.CachedTokens, e.LatencyMS, int64Value(e.TTFTMS), floatValue(e.CostUSD),
			timeValue(finished), e.ID)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 1 {
			done = n == 1
			return err
		}
		_, err = executionStatus(ctx, tx, e.ID)
		return err
	})
	if err != nil {
		return false, err
	}
	return done, nil
}

// CancelExecution cancels the queued or running execution id: status
// cancelled, error class cancelled, FinishedAt now (the store's clock if
// zero), Work dropped. It returns the execution as it is now. A running
// execution's worker learns it when FinishExecution returns false. Errors:
// ENOTFOUND; ECONFLICT when it already finished; EINTERNAL, ETIMEOUT,
// EUNAVAILABLE.
func (s *Store) CancelExecution(ctx context.Context, id string, now time.Time) (registry.Execution, error) {
	if now.IsZero() {
		now = s.now()
	}
	var e registry.Execution
	err := s.write(ctx, "cancel execution "+id, func(tx *sql.Tx) error {
		var err error
		e, err = scanExecution(tx.QueryRowContext(ctx, `UPDATE executions
SET status = 'cancelled', error_class = 'cancelled', error = 'cancelled while ' || status, finished_at = ?, work = NULL
WHERE id = ? AND status IN ('queued', 'running')
RETURNING `+execSelect, timeValue(now), id), nil, nil)
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		status, err := executionStatus(ctx, tx, id)
		if err != nil {
			return err
		}
		return registry.Errorf(registry.ECONFLICT, "cancel execution %s: it already %s", id, status)
	})
	if err != nil {
		return registry.Execution{}, err
	}
	return e, nil
}

// RecoverExecutions, at start, puts back in the queue the executions a
// previous run left running that were attempted fewer than maxAttempts
// times (StartedAt cleared, Work kept), and fails the others: error class
// interrupted, a message saying how many times the server stopped while it
// ran them, FinishedAt now (the store's clock if zero), Work dropped. One
// transaction. Errors: EINVALID for maxAttempts < 1; EINTERNAL, ETIMEOUT,
// EUNAVAILABLE.
func (s *Store) RecoverExecutions(ctx context.Context, maxAttempts int, now time.Time) (requeued, failed int, err error) {
	if maxAttempts < 1 {
		return 0, 0, registry.Errorf(registry.EINVALID, "recover executions: maxAttempts is %d, want at least 1", maxAttempts)
	}
	if now.IsZero() {
		now = s.now()
	}
	err = s.write(ctx, "recover executions", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE executions SET status = 'queued', started_at = NULL
WHERE status = 'running' AND attempts < ?`, maxAttempts)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		requeued = int(n)
		res, err = tx.ExecContext(ctx, `UPDATE executions SET status = 'failed', error_class = ?,
    error = 'the server stopped while it ran, ' || attempts || iif(attempts = 1, ' time', ' times'),
    finished_at = ?, work = NULL
WHERE status = 'running'`, registry.ClassInterrupted, timeValue(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		failed = int(n)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	return requeued, failed, nil
}

// Execution returns the execution id, without its Work. Errors: ENOTFOUND;
// EINTERNAL, ETIMEOUT.
func (s *Store) Execution(ctx context.Context, id string) (registry.Execution, error) {
	var e registry.Execution
	err := s.read(ctx, "execution "+id, func(tx *sql.Tx) error {
		var err error
		e, err = scanExecution(tx.QueryRowContext(ctx, "SELECT "+execSelect+" FROM executions WHERE id = ?", id), nil, nil)
		if errors.Is(err, sql.ErrNoRows) {
			return registry.Errorf(registry.ENOTFOUND, "execution %s not found", id)
		}
		return err
	})
	if err != nil {
		return registry.Execution{}, err
	}
	return e, nil
}

// Executions returns the executions q selects, newest (last inserted)
// first, without their Work: at most q.Limit (DefaultExecutions if 0),
// after q.Cursor if set. Next is the cursor of the following page (the
// last execution's sequence number, as text), "" on the last page; pages
// neither repeat nor skip executions inserted while they are read, which
// come before the first page. Errors: EINVALID for a cursor this method
// did not return, a negative limit or one over MaxExecutions, a negative
// version, an unknown status or Until not after Since; EINTERNAL, ETIMEOUT.
func (s *Store) Executions(ctx context.Context, q registry.ExecutionQuery) (registry.ExecutionPage, error) {
	const op = "executions"
	if q.Limit < 0 || q.Limit > MaxExecutions {
		return registry.ExecutionPage{}, registry.Errorf(registry.EINVALID, "%s: limit %d is not between 0 and %d", op, q.Limit, MaxExecutions)
	}
	if q.Limit == 0 {
		q.Limit = DefaultExecutions
	}
	var after int64
	if q.Cursor != "" {
		seq, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || seq < 1 || strconv.FormatInt(seq, 10) != q.Cursor {
			return registry.ExecutionPage{}, registry.Errorf(registry.EINVALID, "%s: bad cursor %q", op, q.Cursor)
		}
		after = seq
	}
	if q.Version < 0 {
		return registry.ExecutionPage{}, registry.Errorf(registry.EINVALID, "%s: negative version %d", op, q.Version)
	}
	if q.Status != "" && !validStatus(q.Status) {
		return registry.ExecutionPage{}, registry.Errorf(registry.EINVALID, "%s: unknown status %q", op, q.Status)
	}
	if err := checkWindow(op, q.Since, q.Until); err != nil {
		return registry.ExecutionPage{}, err
	}

	page := registry.ExecutionPage{Executions: []registry.Execution{}}
	err := s.read(ctx, op, func(tx *sql.Tx) error {
		query, args, err := pageQuery(ctx, tx, q, after)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		var last int64
		for rows.Next() {
			if len(page.Executions) == q.Limit {
				page.Next = strconv.FormatInt(last, 10)
				break
			}
			e, err := scanExecution(rows, &last, nil)
			if err != nil {
				rows.Close()
				return err
			}
			page.Executions = append(page.Executions, e)
		}
		return closeRows(rows)
	})
	if err != nil {
		return registry.ExecutionPage{}, err
	}
	return page, nil
}

// pageQuery returns the query of Executions for q (validated, its limit
// set) after sequence number after (0: from the newest), and its
// arguments: through executions_prompt for one prompt, which covers every
// filter; for a time window, through executions_created or not as
// windowByIndex says; otherwise as SQLite chooses (newest first from the
// table, or through executions_status).
func pageQuery(ctx context.Context, tx *sql.Tx, q registry.ExecutionQuery, after int64) (string, []any, error) {
	via := ""
	switch {
	case q.PromptName != "":
		via = "executions_prompt"
	case !q.Since.IsZero() || !q.Until.IsZero():
		byIndex, err := windowByIndex(ctx, tx, q.Since, q.Until)
		if err != nil {
			return "", nil, err
		}
		via = "table"
		if byIndex {
			via = "executions_created"
		}
	}
	query, args := pageSQL(q, after, via)
	return query, args, nil
}

// pageSQL returns the query of pageQuery read via an index (its name),
// "table" (newest first, not through executions_created) or "" (as SQLite
// chooses). It selects one row more than the page, which says whether
// another page follows, and the page's sequence numbers first, then their
// rows: through an index, the page is found and ordered without reading
// the rows it passes over.
func pageSQL(q registry.ExecutionQuery, after int64, via string) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, arg any) {
		conds = append(conds, cond)
		args = append(args, arg)
	}
	if after > 0 {
		add("seq < ?", after)
	}
	for _, f := range []struct {
		col, val string
	}{{"prompt_name", q.PromptName}, {"status", q.Status}, {"environment", q.Environment}, {"model", q.Model}, {"mode", q.Mode}} {
		if f.val != "" {
			add(f.col+" = ?", f.val)
		}
	}
	if q.Version > 0 {
		add("version = ?", q.Version)
	}
	created := "created_at"
	if via == "table" {
		created = "+created_at" // unary + keeps SQLite from using its index
	}
	if !q.Since.IsZero() {
		add(created+" >= ?", timeValue(q.Since))
	}
	if !q.Until.IsZero() {
		add(created+" < ?", timeValue(q.Until))
	}
	sub := "SELECT seq FROM executions"
	if via != "" && via != "table" {
		sub += " INDEXED BY " + via
	}
	if len(conds) > 0 {
		sub += " WHERE " + strings.Join(conds, " AND ")
	}
	query := "SELECT " + execSelect + " FROM executions WHERE seq IN (" + sub + " ORDER BY seq DESC LIMIT ?) ORDER BY seq DESC"
	return query, append(args, q.Limit+1)
}

// windowRows bounds the executions counted to choose how Executions reads
// a time window.
const windowRows = 100_000

// windowByIndex reports whether Executions should read the time window
// that since and until bound (zero: open) through executions_created.
//
// Through the index, a page costs a sort of the sequence numbers of every
// execution created in the window, whatever the other filters: 40 ms for a
// day of 34,000, 0.9 s for 1,000,000. Read newest first from the table, it
// costs the rows created after the window, then the rows up to the page's
// last match, which for a filter that matches little may be every row
// below the window: SQLite cannot stop at the window's start, creation
// times being only roughly in insertion order. So the index, unless the
// window holds windowRows executions or more and fewer were created after
// it. (SQLite itself took the index for every window with both ends and
// the table for every other.)
func windowByIndex(ctx context.Context, tx *sql.Tx, since, until time.Time) (bool, error) {
	count := func(conds []string, args ...any) (int, error) {
		var n int
		err := tx.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM executions INDEXED BY executions_created WHERE "+
			strings.Join(conds, " AND ")+" LIMIT ?)", append(args, windowRows)...).Scan(&n)
		return n, err
	}
	var conds []string
	var args []any
	if !since.IsZero() {
		conds, args = append(conds, "created_at >= ?"), append(args, timeValue(since))
	}
	if !until.IsZero() {
		conds, args = append(conds, "created_at < ?"), append(args, timeValue(until))
	}
	in, err := count(conds, args...)
	if err != nil || in < windowRows {
		return true, err
	}
	if until.IsZero() {
		return false, nil
	}
	after, err := count([]string{"created_at >= ?"}, timeValue(until))
	return after >= windowRows, err
}

// executionStatus returns the status of execution id. Errors: ENOTFOUND.
func executionStatus(ctx context.Context, tx *sql.Tx, id string) (string, error) {
	var status string
	err := tx.QueryRowContext(ctx, "SELECT status FROM executions WHERE id = ?", id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
		return "", registry.Errorf(registry.ENOTFOUND, "execution %s not found", id)
	}
	return status, err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanExecution scans the columns of execSelect, and work after them if
// work is not nil.
func scanExecution(sc scanner, seq *int64, work *[]byte) (registry.Execution, error) {
	var e registry.Execution
	var params, metadata, created, started, finished sql.NullString
	var ttft sql.NullInt64
	var cost sql.NullFloat64
	if seq == nil {
		seq = new(int64)
	}
	dest := []any{seq,
		&e.ID, &e.Status, &e.Mode, &e.Origin, &e.PromptName, &e.Version, &e.Checksum, &e.Commit,
		&e.Environment, &e.Provider, &e.Model, &e.Input, &e.InputHash, &params, &e.Output,
		&e.ErrorClass, &e.Error, &e.Usage.PromptTokens, &e.Usage.CompletionTokens, &e.Usage.CachedTokens,
		&e.LatencyMS, &ttft, &cost, &metadata, &e.CorrelationID, &e.KeyID,
		&e.Attempts, &created, &started, &finished}
	if work != nil {
		dest = append(dest, work)
	}
	if err := sc.Scan(dest...); err != nil {
		return registry.Execution{}, err
	}
	if ttft.Valid {
		e.TTFTMS = &ttft.Int64
	}
	if cost.Valid {
		e.CostUSD = &cost.Float64
	}
	var err error
	if e.Params, err = parseJSON(params); err != nil {
		return registry.Execution{}, err
	}
	if e.Metadata, err = parseJSON(metadata); err != nil {
		return registry.Execution{}, err
	}
	if e.CreatedAt, err = parseTime(created); err != nil {
		return registry.Execution{}, err
	}
	if e.StartedAt, err = parseTimePtr(started); err != nil {
		return registry.Execution{}, err
	}
	if e.FinishedAt, err = parseTimePtr(finished); err != nil {
		return registry.Execution{}, err
	}
	return e, nil
}

// validStatus reports whether status is one of registry's Status*.
func validStatus(status string) bool {
	switch status {
	case registry.StatusQueued, registry.StatusRunning, registry.StatusSucceeded, registry.StatusFailed, registry.StatusCancelled:
		return true
	}
	return false
}

// checkWindow returns an EINVALID error of op if since and until are both
// set and until is not after since.
func checkWindow(op string, since, until time.Time) error {
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		return registry.Errorf(registry.EINVALID, "%s: until %s is not after since %s", op,
			until.UTC().Format(time.RFC3339Nano), since.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// jsonValue returns the stored form of a JSON object: its text, or NULL
// for nil.
func jsonValue(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// parseJSON parses a stored JSON object; NULL is nil. Text that does not
// parse was not written by the store: the file is damaged.
func parseJSON(v sql.NullString) (map[string]any, error) {
	if !v.Valid {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(v.String), &m); err != nil || m == nil {
		if err == nil {
			err = errors.New("not an object")
		}
		return nil, &causeError{ErrDamaged, fmt.Errorf("stored JSON: %w", err)}
	}
	return m, nil
}

// timePtrValue returns the stored form of an optional time: NULL for nil or
// the zero time.
func timePtrValue(t *time.Time) any {
	if t == nil {
		return nil
	}
	return timeValue(*t)
}

// parseTimePtr parses a stored optional time; NULL is nil.
func parseTimePtr(v sql.NullString) (*time.Time, error) {
	if !v.Valid {
		return nil, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// int64Value returns the stored form of an optional integer: NULL for nil.
func int64Value(v *int64) any {
	if v == nil {
		return nil
	}
	return *v
}

// floatValue returns the stored form of an optional number: NULL for nil.
func floatValue(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}
