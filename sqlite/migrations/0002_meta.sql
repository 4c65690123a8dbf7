-- meta holds single values the store keeps across restarts (issue 7): the
-- times of the last successful fetch and sync, so that /v1/status can say how
-- stale the served state is after a restart with the remote unreachable.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
