package registry

import (
	"context"
	"time"
)

// Scopes a key may hold. Every route declares the one it needs in the route
// table (httpapi/routes.go); ScopeAll holds them all, as the admin key does.
const (
	ScopePromptsRead     = "prompts:read"         // read and render prompts
	ScopePromptsWrite    = "prompts:write"        // API writes: each is a commit
	ScopePromptsExecute  = "prompts:execute"      // run prompts against providers (it costs money)
	ScopeExecutionsRead  = "executions:read"      // executions (inputs, outputs) and analytics
	ScopeExecutionsWrite = "executions:write"     // report executions (ingest)
	ScopePromote         = "environments:promote" // move environments, pin prompts in them
	ScopeAdmin           = "admin"                // keys, the audit log, sync now
	ScopeAll             = "*"
)

// KnownScopes lists the scopes a key may be given.
var KnownScopes = []string{ScopePromptsRead, ScopePromptsWrite, ScopePromptsExecute, ScopeExecutionsRead,
	ScopeExecutionsWrite, ScopePromote, ScopeAdmin, ScopeAll}

// KeyPrefix starts every API key: prk_<id>_<secret>.
const KeyPrefix = "prk_"

// APIKey is a stored API key. The key itself is never stored: only the
// sha256 of it (Hash), and its id, which the key carries visibly.
type APIKey struct {
	// ID is short, unique and part of the key (prk_<id>_…): lists and
	// logs name a key by it.
	ID     string   `json:"id"`
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// ExpiresAt, when set, ends the key's validity.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// AllowedCIDRs, when set, are the client networks the key works from.
	AllowedCIDRs []string   `json:"allowed_cidrs,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	LastUsedAt   *time.Time `json:"last_used_at,omitempty"`
	// Hash is the hex sha256 of the key.
	Hash string `json:"-"`
}

// Has reports whether the key holds scope.
func (k *APIKey) Has(scope string) bool {
	for _, s := range k.Scopes {
		if s == scope || s == ScopeAll {
			return true
		}
	}
	return false
}

// KeyStore keeps API keys (sqlite.Store).
type KeyStore interface {
	// CreateKey stores k. Errors: ECONFLICT for an id or hash that
	// exists.
	CreateKey(ctx context.Context, k APIKey) error
	// Keys returns every key, oldest first.
	Keys(ctx context.Context) ([]APIKey, error)
	// DeleteKey deletes the key with id. Errors: ENOTFOUND.
	DeleteKey(ctx context.Context, id string) error
	// TouchKeys records when keys were last used (id → time), in one
	// transaction; ids that no longer exist are skipped.
	TouchKeys(ctx context.Context, used map[string]time.Time) error
}
