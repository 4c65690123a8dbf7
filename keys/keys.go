// Package keys owns API keys: making them (shown once, stored as a hash),
// checking them on the request path from memory, and recording their use.
package keys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// Defaults of the Options fields left zero.
const (
	// DefaultRefresh is how often a Ring reloads the keys from the store,
	// to see keys another replica or the CLI created or revoked.
	DefaultRefresh = 10 * time.Second
	// DefaultFlush is how often it writes when keys were last used.
	DefaultFlush = 10 * time.Second
)

// CreateRequest asks for a new key.
type CreateRequest struct {
	Name         string
	Scopes       []string
	ExpiresAt    *time.Time
	AllowedCIDRs []string
}

// Hash returns the hex sha256 of a key: what the store keeps.
func Hash(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}

// Create makes a key and stores its hash; the raw key is returned once and
// kept nowhere. Errors: EINVALID for a bad name, scope, expiry or CIDR.
func Create(ctx context.Context, store registry.KeyStore, req CreateRequest, now time.Time) (string, registry.APIKey, error) {
	k, err := check(req, now)
	if err != nil {
		return "", k, err
	}
	var id [4]byte
	var secret [24]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", k, err
	}
	if _, err := rand.Read(secret[:]); err != nil {
		return "", k, err
	}
	k.ID = hex.EncodeToString(id[:])
	raw := registry.KeyPrefix + k.ID + "_" + hex.EncodeToString(secret[:])
	k.Hash = Hash(raw)
	if err := store.CreateKey(ctx, k); err != nil {
		return "", k, err
	}
	return raw, k, nil
}

// check validates a request and returns the key it describes, without id
// and hash.
func check(req CreateRequest, now time.Time) (registry.APIKey, error) {
	k := registry.APIKey{Name: strings.TrimSpace(req.Name), CreatedAt: now.UTC()}
	if k.Name == "" || len(k.Name) > 200 || strings.ContainsAny(k.Name, "\n\r\x00") {
		return k, registry.Errorf(registry.EINVALID, "name is required: one line, at most 200 characters")
	}
	if len(req.Scopes) == 0 {
		return k, registry.Errorf(registry.EINVALID, "scopes is required: some of %s", strings.Join(registry.KnownScopes, ", "))
	}
	for _, s := range req.Scopes {
		if !slices.Contains(registry.KnownScopes, s) {
			return k, registry.Errorf(registry.EINVALID, "unknown scope %q: want some of %s", s, strings.Join(registry.KnownScopes, ", "))
		}
		if !slices.Contains(k.Scopes, s) {
			k.Scopes = append(k.Scopes, s)
		}
	}
	if req.ExpiresAt != nil {
		if !req.ExpiresAt.After(now) {
			return k, registry.Errorf(registry.EINVALID, "expires_at is in the past")
		}
		t := req.ExpiresAt.UTC()
		k.ExpiresAt = &t
	}
	for _, c := range req.AllowedCIDRs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return k, registry.Errorf(registry.EINVALID, "allowed_cidrs: %q is not a CIDR (10.0.0.0/8, 2001:db8::/32)", c)
		}
		k.AllowedCIDRs = append(k.AllowedCIDRs, p.Masked().String())
	}
	return k, nil
}

// Options configures a Ring.
type Options struct {
	Store   registry.KeyStore
	Refresh time.Duration
	Flush   time.Duration
	Logger  *slog.Logger
	Now     func() time.Time
}

// Ring holds the API keys in memory, so that checking a request's key is a
// hash and a map lookup, never a database read. It reloads them when it
// changes them and every Refresh (keys other replicas or the CLI made), and
// writes their last use every Flush. Safe for concurrent use.
type Ring struct {
	store   registry.KeyStore
	refresh time.Duration
	flush   time.Duration
	log     *slog.Logger
	now     func() time.Time

	mu     sync.RWMutex // guards byHash
	byHash map[string]*entry

	stop chan struct{}
	done chan struct{}
}

// entry is a key ready for checks, and when it was last used (unix
// nanoseconds; 0: not since the last flush), set without a lock on every
// use and written by the flush.
type entry struct {
	key   registry.APIKey
	cidrs []netip.Prefix
	used  atomic.Int64
}

// New returns a Ring; Load fills it, Start keeps it current.
func New(opts Options) *Ring {
	r := &Ring{store: opts.Store, refresh: opts.Refresh, flush: opts.Flush, log: opts.Logger, now: opts.Now,
		byHash: map[string]*entry{}}
	if r.refresh <= 0 {
		r.refresh = DefaultRefresh
	}
	if r.flush <= 0 {
		r.flush = DefaultFlush
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// Load reads the keys from the store.
func (r *Ring) Load(ctx context.Context) error {
	ks, err := r.store.Keys(ctx)
	if err != nil {
		return err
	}
	m := make(map[string]*entry, len(ks))
	r.mu.RLock()
	old := r.byHash
	r.mu.RUnlock()
	for _, k := range ks {
		e := &entry{key: k}
		if prev, ok := old[k.Hash]; ok {
			e.used.Store(prev.used.Load()) // not flushed yet: carry it over
		}
		for _, c := range k.AllowedCIDRs {
			if p, err := netip.ParsePrefix(c); err == nil {
				e.cidrs = append(e.cidrs, p)
			}
		}
		m[k.Hash] = e
	}
	r.mu.Lock()
	r.byHash = m
	r.mu.Unlock()
	return nil
}

// Len returns the number of keys.
func (r *Ring) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.byHash)
}

// Check returns the key raw is, if it may be used from client ip now.
// Errors: EUNAUTHORIZED for an unknown or expired key, EFORBIDDEN for a
// client outside the key's networks.
func (r *Ring) Check(raw string, ip netip.Addr) (*registry.APIKey, error) {
	r.mu.RLock()
	e, ok := r.byHash[Hash(raw)]
	r.mu.RUnlock()
	if !ok {
		return nil, registry.Errorf(registry.EUNAUTHORIZED, "invalid API key")
	}
	now := r.now()
	if e.key.ExpiresAt != nil && !now.Before(*e.key.ExpiresAt) {
		return nil, registry.Errorf(registry.EUNAUTHORIZED, "API key %s expired at %s", e.key.ID, e.key.ExpiresAt.Format(time.RFC3339))
	}
	if len(e.cidrs) > 0 {
		allowed := false
		for _, p := range e.cidrs {
			allowed = allowed || p.Contains(ip.Unmap())
		}
		if !allowed {
			return nil, registry.Errorf(registry.EFORBIDDEN, "API key %s may not be used from %s", e.key.ID, ip)
		}
	}
	e.used.Store(now.UnixNano())
	return &e.key, nil
}

// Create makes a key (see Create) and adds it to the ring at once.
func (r *Ring) Create(ctx context.Context, req CreateRequest) (string, registry.APIKey, error) {
	raw, k, err := Create(ctx, r.store, req, r.now())
	if err != nil {
		return "", k, err
	}
	return raw, k, r.Load(ctx)
}

// Delete revokes a key: it stops working on this replica at once (others
// see it within Refresh). Errors: ENOTFOUND.
func (r *Ring) Delete(ctx context.Context, id string) error {
	if err := r.store.DeleteKey(ctx, id); err != nil {
		return err
	}
	r.mu.Lock()
	for h, e := range r.byHash {
		if e.key.ID == id {
			delete(r.byHash, h)
		}
	}
	r.mu.Unlock()
	return r.Load(ctx)
}

// List returns the keys with their last use as this replica knows it.
func (r *Ring) List(ctx context.Context) ([]registry.APIKey, error) {
	r.flushUsed(ctx)
	return r.store.Keys(ctx)
}

// Start reloads and flushes in the background until Close.
func (r *Ring) Start() {
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(r.done)
		reload := time.NewTicker(r.refresh)
		defer reload.Stop()
		flush := time.NewTicker(r.flush)
		defer flush.Stop()
		for {
			select {
			case <-r.stop:
				r.flushUsed(context.Background())
				return
			case <-reload.C:
				if err := r.Load(context.Background()); err != nil {
					r.log.Warn("reload API keys; the keys loaded before stay in force", "err", err)
				}
			case <-flush.C:
				r.flushUsed(context.Background())
			}
		}
	}()
}

// Close stops the background work, writing the last uses.
func (r *Ring) Close() {
	if r.stop == nil {
		return
	}
	close(r.stop)
	<-r.done
	r.stop = nil
}

// flushUsed writes the uses recorded since the last flush.
func (r *Ring) flushUsed(ctx context.Context) {
	used := map[string]time.Time{}
	r.mu.RLock()
	for _, e := range r.byHash {
		if t := e.used.Swap(0); t != 0 {
			used[e.key.ID] = time.Unix(0, t).UTC()
		}
	}
	r.mu.RUnlock()
	if len(used) == 0 {
		return
	}
	if err := r.store.TouchKeys(ctx, used); err != nil {
		r.log.Warn("record when API keys were last used", "keys", len(used), "err", err)
	}
}
