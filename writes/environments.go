package writes

import (
	"context"
	"fmt"
	"strings"

	"github.com/promptreg/promptreg/registry"
)

// PromoteRequest moves an environment's ref to a commit: one given, or the
// one another environment serves.
type PromoteRequest struct {
	Env string
	// Commit is a full or abbreviated commit sha; From names another
	// environment. Exactly one is set.
	Commit, From string
	// Force allows a branch environment to move to a commit that does not
	// descend from where it is.
	Force   bool
	Message string
	Actor   Actor
}

// PromoteResult is what a promotion or rollback answers.
type PromoteResult struct {
	Environment string `json:"environment"`
	Ref         string `json:"ref"`
	// From is the commit the environment was at ("" when its ref did not
	// exist), To the one it is at now.
	From    string `json:"from"`
	To      string `json:"to"`
	Changed bool   `json:"changed"`
	// Served says whether the environment serves To now (false if the
	// move was pushed but could not be published yet).
	Served bool `json:"served"`
}

// Promote moves an environment's ref and pushes it: a tag becomes an
// annotated tag of the commit made by the actor, a branch is updated (a
// move that is not a fast-forward needs Force). The promotion ledger records
// it with via "api" and who. Errors: EINVALID (neither or both of Commit and
// From, an environment that follows the tracked branch), ENOTFOUND (no such
// environment or commit), ECONFLICT (the ref moved meanwhile, or not a
// fast-forward), and those of the push.
func (w *Writer) Promote(ctx context.Context, req PromoteRequest) (*PromoteResult, error) {
	if (req.Commit == "") == (req.From == "") {
		return nil, registry.Errorf(registry.EINVALID, "send one of commit (a commit sha) or from (an environment)")
	}
	return w.moveEnv(ctx, req.Env, req.Actor, func(ctx context.Context, st *registry.Served) (string, string, bool, error) {
		if req.From != "" {
			if req.From == req.Env {
				return "", "", false, registry.Errorf(registry.EINVALID, "from names the environment promoted")
			}
			s, ok := st.Envs[req.From]
			if !ok {
				return "", "", false, registry.Errorf(registry.ENOTFOUND, "environment %q is not served: %s", req.From, orNotConfigured(st, req.From))
			}
			return unpinnedSHA(s), orDefault(req.Message, fmt.Sprintf("Promote %s to what %s serves", req.Env, req.From)), req.Force, nil
		}
		sha, err := w.src.ResolveCommit(ctx, strings.ToLower(strings.TrimSpace(req.Commit)))
		if err != nil {
			return "", "", false, err
		}
		return sha, req.Message, req.Force, nil
	})
}

// RollbackRequest returns an environment to where it was before its last
// recorded move.
type RollbackRequest struct {
	Env     string
	Message string
	Actor   Actor
}

// Rollback moves an environment's ref back to the commit the promotion
// ledger's newest move took it from (forced: going back is not a
// fast-forward). A second rollback undoes the first. Errors: ENOTFOUND,
// ECONFLICT (no move to undo, the ref did not exist before it, or the ref is
// not where the ledger last saw it), and those of Promote.
func (w *Writer) Rollback(ctx context.Context, req RollbackRequest) (*PromoteResult, error) {
	return w.moveEnv(ctx, req.Env, req.Actor, func(ctx context.Context, st *registry.Served) (string, string, bool, error) {
		moves, err := w.versions.EnvironmentHistory(ctx, req.Env, 0, 1)
		if err != nil {
			return "", "", false, err
		}
		if len(moves) == 0 {
			return "", "", false, registry.Errorf(registry.ECONFLICT, "the promotion ledger has no move of %q to roll back", req.Env)
		}
		m := moves[0]
		if cur := envCommit(st, req.Env); m.To != cur {
			return "", "", false, registry.Errorf(registry.ECONFLICT, "%s is at %s, but the ledger's last move took it to %s: sync, then try again", req.Env, orAbsent(cur), orAbsent(m.To))
		}
		if m.From == "" {
			return "", "", false, registry.Errorf(registry.ECONFLICT, "%s did not exist before its last move: there is nothing to roll back to", req.Env)
		}
		return m.From, orDefault(req.Message, fmt.Sprintf("Roll %s back to %s", req.Env, short(m.From))), true, nil
	})
}

// target picks the commit an environment moves to, the tag message and
// whether the move may drop commits, given what is served.
type target func(ctx context.Context, st *registry.Served) (sha, message string, force bool, err error)

// moveEnv moves environment env's ref to the commit pick chooses, then
// publishes the move with the actor as its cause. It runs as a write: one
// at a time.
func (w *Writer) moveEnv(ctx context.Context, env string, actor Actor, pick target) (*PromoteResult, error) {
	if w.mover == nil {
		return nil, registry.Errorf(registry.EUNAVAILABLE, "this server cannot move refs")
	}
	if err := w.wait(ctx); err != nil {
		return nil, err
	}
	defer w.done()
	st, err := w.keeper.Served()
	if err != nil {
		return nil, err
	}
	written, ok := st.Environments()[env]
	if !ok {
		return nil, registry.Errorf(registry.ENOTFOUND, "environment %q is not configured in %s", env, registry.ConfigFile)
	}
	ref := st.EnvRefs[env]
	if ref == "" { // the ref does not exist yet: it will be a tag
		ref = written
		if !strings.HasPrefix(ref, "refs/") {
			ref = "refs/tags/" + ref
		}
	}
	if ref == st.Head.Ref {
		return nil, registry.Errorf(registry.EINVALID, "environment %q is the tracked branch %s: it serves every commit as it lands; promote single prompts with pins instead", env, strings.TrimPrefix(ref, "refs/heads/"))
	}
	to, message, force, err := pick(ctx, st)
	if err != nil {
		return nil, err
	}
	res := &PromoteResult{Environment: env, Ref: ref, From: st.Refs[ref], To: to}
	if res.From == to {
		res.Served = envCommit(st, env) == to
		return res, nil
	}
	sig := actor.signature()
	err = w.mover.MoveRef(ctx, registry.RefUpdate{Ref: ref, From: res.From, To: to, Force: force, Tagger: sig, Message: message})
	if err != nil {
		if registry.ErrorCode(err) == registry.ECONFLICT && !strings.Contains(registry.ErrorMessage(err), "force") {
			// The remote moved: bring it in, so the next try starts
			// from where it is.
			if serr := w.keeper.SyncFor(ctx, registry.Cause{Via: "api"}); serr != nil {
				w.log.Warn("sync after a refused move", "err", serr)
			}
		}
		return nil, err
	}
	res.Changed = true
	if perr := w.keeper.Publish(ctx, registry.Cause{Via: "api", By: actor.who()}); perr != nil {
		w.log.Error("environment moved but not yet served; the next sync serves it", "environment", env, "commit", to, "err", perr)
	}
	if now, err := w.keeper.Served(); err == nil {
		res.Served = envCommit(now, env) == to
	}
	return res, nil
}

// envCommit is the commit environment env of st serves ("" for none).
func envCommit(st *registry.Served, env string) string {
	if s, ok := st.Envs[env]; ok {
		return unpinnedSHA(s)
	}
	return ""
}

func unpinnedSHA(s *registry.Snapshot) string {
	if s.Unpinned != nil {
		return s.Unpinned.Commit.SHA
	}
	return s.Commit.SHA
}

func orNotConfigured(st *registry.Served, env string) string {
	if why, ok := st.EnvErrs[env]; ok {
		return why
	}
	return "not configured in " + registry.ConfigFile
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

func orAbsent(sha string) string {
	if sha == "" {
		return "nothing"
	}
	return short(sha)
}
