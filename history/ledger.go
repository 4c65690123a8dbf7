package history

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// Ledger appends to the promotion ledger every move of a configured
// environment's ref that a sync observes. It is not safe for concurrent
// use: its one caller is the sync, which runs one at a time.
type Ledger struct {
	store registry.HistoryStore
	git   registry.HistorySource
	log   *slog.Logger
	now   func() time.Time

	refsAt map[string]string // environment → commit last recorded; nil until loaded
}

// NewLedger returns a Ledger writing to store; git tells who tagged a move.
func NewLedger(store registry.HistoryStore, git registry.HistorySource, log *slog.Logger, now func() time.Time) *Ledger {
	return &Ledger{store: store, git: git, log: log, now: now}
}

// Record appends a move for every configured environment of served whose
// commit differs from the one last recorded, with cause.
func (l *Ledger) Record(ctx context.Context, served *registry.Served, cause registry.Cause) error {
	if l.refsAt == nil {
		last, err := l.store.LastRefs(ctx)
		if err != nil {
			return err
		}
		l.refsAt = last
	}
	for _, env := range slices.Sorted(maps.Keys(served.Environments())) {
		to, ref := "", served.EnvRefs[env]
		if s, ok := served.Envs[env]; ok {
			to = s.Commit.SHA
		}
		from, known := l.refsAt[env]
		if from == to && (known || to == "") {
			continue
		}
		if ref == "" {
			ref = served.Environments()[env]
		}
		m := registry.RefMove{Environment: env, Ref: ref, From: from, To: to, ObservedAt: l.now().UTC(), Via: cause.Via, Delivery: cause.Delivery, By: cause.By}
		if to != "" {
			tagger, err := l.git.Tagger(ctx, ref)
			if err != nil {
				l.log.Warn("read tagger", "ref", ref, "err", err)
			}
			m.Tagger = tagger
		}
		if _, err := l.store.RecordRefMove(ctx, m); err != nil {
			return err
		}
		l.refsAt[env] = to
		l.log.Info("environment moved", "environment", env, "from", from, "to", to, "via", cause.Via)
	}
	return nil
}
