-- The version index of each tracked branch and the promotion ledger
-- (issue 3). Times are TEXT in UTC, fixed width with nanoseconds
-- ('2006-01-02T15:04:05.000000000Z', so they sort as they compare), NULL
-- when unknown. Sequence numbers are those of registry.IndexedCommit: 1 for
-- the root commit of a branch's first-parent history.

-- branches holds one row per indexed branch; the index tables refer to it by
-- id so their rows and indexes stay small.
CREATE TABLE branches (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL -- the last ApplyIndex
);

-- The index tables are clustered on the key their reads follow (WITHOUT
-- ROWID): LoadIndex reads each in key order without a lookup per row, and
-- ApplyIndex inserts in key order, which on a first index appends.

-- commits is the indexed first-parent history of a branch, dense from seq 1.
CREATE TABLE commits (
    branch_id INTEGER NOT NULL REFERENCES branches (id),
    seq       INTEGER NOT NULL CHECK (seq > 0),
    sha       TEXT    NOT NULL,
    author    TEXT    NOT NULL,
    email     TEXT    NOT NULL,
    time      TEXT,
    message   TEXT    NOT NULL,
    PRIMARY KEY (branch_id, seq), -- LoadIndex (seq order), Commits, rewinds
    UNIQUE (branch_id, sha)
) WITHOUT ROWID;

-- versions are the distinct contents of each prompt, with the commit that
-- introduced them (copied, because a rewrite may drop that commit while the
-- version keeps its number). Never deleted but by ResetIndex.
CREATE TABLE versions (
    branch_id      INTEGER NOT NULL REFERENCES branches (id),
    name           TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version > 0),
    checksum       TEXT    NOT NULL,
    path           TEXT    NOT NULL,
    commit_sha     TEXT    NOT NULL,
    commit_author  TEXT    NOT NULL,
    commit_email   TEXT    NOT NULL,
    commit_time    TEXT,
    commit_message TEXT    NOT NULL,
    PRIMARY KEY (branch_id, name, version), -- LoadIndex, spans' foreign key
    UNIQUE (branch_id, name, checksum)
) WITHOUT ROWID;

-- spans say which version a prompt had from commit from_seq up to, not
-- including, to_seq; to_seq is NULL while the span is open at the head.
CREATE TABLE spans (
    branch_id INTEGER NOT NULL,
    name      TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    from_seq  INTEGER NOT NULL CHECK (from_seq > 0),
    to_seq    INTEGER CHECK (to_seq IS NULL OR to_seq > from_seq),
    PRIMARY KEY (branch_id, name, from_seq), -- Spans, closing a span
    FOREIGN KEY (branch_id, name, version) REFERENCES versions (branch_id, name, version)
) WITHOUT ROWID;

-- The spans open at the head, for LoadIndex: a covering index (with the
-- primary key's from_seq) of a couple of thousand rows instead of a scan of
-- every span.
CREATE INDEX spans_open ON spans (branch_id, name, version) WHERE to_seq IS NULL;

-- ref_moves is the promotion ledger: every observed move of an
-- environment's ref, append-only. AUTOINCREMENT keeps ids from ever being
-- reused, so a cursor (RefMoveQuery.Before) stays valid.
CREATE TABLE ref_moves (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    environment  TEXT    NOT NULL CHECK (environment <> ''),
    ref          TEXT    NOT NULL,
    from_sha     TEXT    NOT NULL, -- '' when the ref appeared
    to_sha       TEXT    NOT NULL, -- '' when the ref was deleted
    observed_at  TEXT    NOT NULL,
    via          TEXT    NOT NULL,
    delivery     TEXT    NOT NULL, -- '' unless via a webhook
    tagger_name  TEXT,             -- NULL: no tagger (lightweight tag, branch)
    tagger_email TEXT,
    tagger_time  TEXT
);

-- One environment's history, newest first, and LastRefs (max id per
-- environment).
CREATE INDEX ref_moves_environment ON ref_moves (environment, id);
