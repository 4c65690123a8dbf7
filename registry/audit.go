package registry

import (
	"context"
	"time"
)

// AuditEntry is one write through the API, as the audit log keeps it: who
// (the key and the author), what (the route, the action, the prompt and its
// checksums before and after), the commit it made, and how it ended.
type AuditEntry struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	KeyID  string    `json:"key_id,omitempty"` // the API key's id; "admin" for the admin key
	Actor  string    `json:"actor,omitempty"`  // the author the commit names
	Method string    `json:"method"`
	Route  string    `json:"route"`  // the route pattern, e.g. PUT /v1/prompts/{name}
	Action string    `json:"action"` // save, delete, rename, tags, revert, register, promote, rollback
	Prompt string    `json:"prompt,omitempty"`
	// Environment is the environment a promotion or rollback moved.
	Environment string `json:"environment,omitempty"`
	From        string `json:"from,omitempty"`   // checksum (or commit, for environments) before
	To          string `json:"to,omitempty"`     // checksum (or commit) after
	Commit      string `json:"commit,omitempty"` // the commit the write pushed; "" if none
	Status      int    `json:"status"`           // the HTTP status answered
	// Result is "ok", "unchanged" or the error code the write failed with.
	Result  string `json:"result"`
	Message string `json:"message,omitempty"` // the error message, for failures
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	Prompt string // "" for all
	KeyID  string // "" for all
	Before int64  // entries with ID below it; 0 for the newest
	Limit  int    // 0 for the store's default
}

// AuditLog keeps the audit log of writes (sqlite.Store).
type AuditLog interface {
	// RecordAudit appends e (its ID ignored; a zero Time is now) and
	// returns its ID. IDs grow and are never reused.
	RecordAudit(ctx context.Context, e AuditEntry) (int64, error)
	// Audit returns recorded entries, newest first. Errors: EINVALID for a
	// negative limit or cursor.
	Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}
