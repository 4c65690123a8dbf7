-- executions (issue 9): every run of a prompt, made by the server or
-- reported by an application (ingest), and the queue of asynchronous runs.
-- Git cannot give these back, so a damaged file holding any is refused, not
-- replaced.
--
-- seq is the insertion order: the cursor of Executions and the order of the
-- queue; AUTOINCREMENT keeps it from ever being reused, so a cursor stays
-- valid. id is made by the executions service (opaque here; its ids begin
-- with the time, so its UNIQUE index is written at its end). The columns the
-- queries read (filters, analytics) come first and the big ones (input,
-- output, JSON, work) last, so a row's small columns are read without
-- following its overflow pages. '' and 0 stand for a field the execution
-- does not have (no version, no environment…); NULL for an unknown time to
-- first token or cost and for times not reached yet.
CREATE TABLE executions (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    id                TEXT    NOT NULL UNIQUE,
    status            TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    mode              TEXT    NOT NULL,
    origin            TEXT    NOT NULL,
    prompt_name       TEXT    NOT NULL,
    version           INTEGER NOT NULL, -- 0: none (playground)
    environment       TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    model             TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    attempts          INTEGER NOT NULL,
    latency_ms        INTEGER NOT NULL,
    ttft_ms           INTEGER,
    prompt_tokens     INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cached_tokens     INTEGER NOT NULL,
    cost_usd          REAL,
    error_class       TEXT    NOT NULL,
    checksum          TEXT    NOT NULL,
    commit_sha        TEXT    NOT NULL,
    input_hash        TEXT    NOT NULL,
    correlation_id    TEXT    NOT NULL,
    key_id            TEXT    NOT NULL,
    error             TEXT    NOT NULL,
    params            TEXT,             -- JSON object; NULL: none
    metadata          TEXT,             -- JSON object; NULL: none
    input             TEXT    NOT NULL,
    output            TEXT    NOT NULL,
    work              BLOB              -- a queued or running execution's Work; NULL once finished
);

-- The indexes, and what each costs the ingest path (batches of 100 rows of
-- about 1.5 kB into a growing table, BenchmarkExecutionIndexes, 100,000
-- rows each, one run: 27,000 rows/s with no index, 14,200 with these three).
-- A row lands at one place per prompt in an index led by the prompt, so
-- a batch writes some 60 of its leaves; an index led by a time or a status
-- is written at its end.

-- The analytics (every column they read, so they never read the table)
-- and the pages of one prompt, with any other filter: 14,900 rows/s alone.
-- It halves ingest, and without it the figures of one prompt read the
-- whole table. A second index on (prompt_name) alone, for the pages, would
-- cost another 22% (11,100 rows/s).
CREATE INDEX executions_prompt ON executions
    (prompt_name, created_at, status, mode, environment, model, version, latency_ms, prompt_tokens, completion_tokens, cost_usd);
-- The queue (the oldest queued), the recovery (the running) and the pages
-- of one status, which may be rare (failed): 25,800 rows/s alone (-5%).
CREATE INDEX executions_status ON executions (status);
-- The pages of a small time window (see Executions): 24,600 rows/s alone
-- (-9%).
CREATE INDEX executions_created ON executions (created_at);
-- Not indexed: environment, model and mode (-4%, -4% and -6% each on top of
-- the three). They have a few values each, so pages read newest first from
-- the table fill soon; a value that almost no execution has makes a page
-- read the whole table (0.9 s for 1,000,000 executions).
