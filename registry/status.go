package registry

import "time"

// Status describes what the registry serves and how fresh it is.
type Status struct {
	Ready  bool   `json:"ready"`
	Branch string `json:"branch"`
	// Head is the tracked branch's snapshot; nil (omitted) before the
	// first sync. Every time below is omitted while it never happened.
	Head *RefStatus `json:"head,omitempty"`
	// Default names what requests without a selection serve.
	Default      string      `json:"default,omitempty"`
	Environments []EnvStatus `json:"environments"`
	// Pins are the pins in force (promptreg.pins.yaml at the head);
	// omitted when there are none.
	Pins *PinsStatus `json:"pins,omitempty"`

	LastFetchAttempt    *time.Time `json:"last_fetch_attempt,omitempty"`
	LastAttemptAge      *float64   `json:"last_fetch_attempt_age_seconds,omitempty"`
	LastFetchSuccess    *time.Time `json:"last_fetch_success,omitempty"`
	LastFetchAgeSeconds *float64   `json:"last_fetch_success_age_seconds,omitempty"`
	LastSync            *time.Time `json:"last_sync,omitempty"`
	LastSyncAge         *float64   `json:"last_sync_age_seconds,omitempty"`
	LastError           string     `json:"last_error,omitempty"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	// History is what the version index holds and did; nil without one.
	History *IndexStats `json:"history,omitempty"`
	// DatabaseError says why the database cannot be written now, or is
	// damaged; empty while it is healthy.
	DatabaseError string `json:"database_error,omitempty"`
}

// RefStatus is one served snapshot.
type RefStatus struct {
	Ref        string     `json:"ref"`
	Commit     string     `json:"commit,omitempty"`
	CommitTime *time.Time `json:"commit_time,omitempty"`
	Prompts    int        `json:"prompts"`
	// Problems lists the invalid files at the commit, and Stale the
	// prompts served from their last known good version.
	Problems []Problem     `json:"problems"`
	Stale    []StalePrompt `json:"stale"`
}

// EnvStatus is one configured environment.
type EnvStatus struct {
	Name string `json:"name"`
	RefStatus
	Error string `json:"error,omitempty"`
}

// IndexStats counts what the history index did, for /v1/status, metrics and
// tests (which assert on counters, never on time).
type IndexStats struct {
	Commits        int           `json:"commits"`        // indexed commits
	Versions       int           `json:"versions"`       // versions of all prompts
	CommitsWalked  int64         `json:"commits_walked"` // commits diffed since start
	BlobsParsed    int64         `json:"blobs_parsed"`   // blobs parsed since start
	Rewrites       int64         `json:"rewrites"`       // history rewrites handled since start
	LastUpdate     time.Duration `json:"last_update_ns"` // duration of the last update that indexed commits
	LastUpdateSize int           `json:"last_update_commits"`
}
