-- api_keys are the API keys (issue 10). A key is stored as the hex sha256
-- of it (hash), never the key itself: a copy of the file lets no one in. id
-- is the short id the key carries visibly (prk_<id>_<secret>), by which
-- lists and logs name it. Git cannot give keys back, so a damaged file
-- holding any is refused, not replaced. Unlike the rows of the other tables
-- Git cannot give back, keys are deleted, so no AUTOINCREMENT counter
-- counts them.
CREATE TABLE api_keys (
    id            TEXT NOT NULL PRIMARY KEY,
    hash          TEXT NOT NULL UNIQUE, -- hex sha256 of the key
    name          TEXT NOT NULL,
    scopes        TEXT NOT NULL,        -- JSON array of scopes, never empty
    expires_at    TEXT,                 -- NULL: never expires
    allowed_cidrs TEXT,                 -- JSON array of CIDRs; NULL: any network
    created_at    TEXT NOT NULL,
    last_used_at  TEXT                  -- NULL: never used
);
