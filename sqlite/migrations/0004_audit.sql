-- audit_log is the audit log of writes (issue 8): every write through the
-- API appends one row, whether it succeeded or not, saying who made it (the
-- API key and the author its commit names), what it did (the route, the
-- action, the prompt or environment and its checksums or commits before and
-- after), the commit it pushed, and how it ended (the HTTP status, the
-- result and the error message). Append-only: Git keeps the commits but not
-- who asked for them through which key, nor the writes that failed.
-- AUTOINCREMENT keeps ids from ever being reused, so a cursor
-- (AuditQuery.Before) stays valid. '' stands for a field the write did not
-- have (no prompt, no commit…).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        TEXT    NOT NULL,
    key_id      TEXT    NOT NULL, -- 'admin' for the admin key
    actor       TEXT    NOT NULL,
    method      TEXT    NOT NULL,
    route       TEXT    NOT NULL, -- the route pattern
    action      TEXT    NOT NULL,
    prompt      TEXT    NOT NULL,
    environment TEXT    NOT NULL, -- of a promotion or rollback
    from_hash   TEXT    NOT NULL, -- checksum (commit, for environments) before
    to_hash     TEXT    NOT NULL, -- checksum (or commit) after
    commit_sha  TEXT    NOT NULL, -- the commit pushed; '' if none
    status      INTEGER NOT NULL, -- the HTTP status answered
    result      TEXT    NOT NULL, -- 'ok', 'unchanged' or an error code
    message     TEXT    NOT NULL  -- the error message of a failure
);

-- One prompt's writes, and one key's, newest first.
CREATE INDEX audit_log_prompt ON audit_log (prompt, id);
CREATE INDEX audit_log_key ON audit_log (key_id, id);
