package gitstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/promptreg/promptreg/registry"
)

var _ registry.RefMover = (*Store)(nil)

// MoveRef pushes the move of an environment's ref: a tag is replaced by an
// annotated tag of req.To (the tag object is the one new object pushed), a
// branch is updated, refusing a move that is not a fast-forward unless
// req.Force. The remote moves the ref only from the value the clone has,
// which must peel to req.From. See registry.RefMover.
func (s *Store) MoveRef(ctx context.Context, req registry.RefUpdate) (err error) {
	const op = "move ref"
	defer s.noteErr(&err)
	name, err := parseRefName(op, req.Ref)
	if err != nil {
		return err
	}
	if !name.IsTag() && !name.IsBranch() {
		return registry.Errorf(registry.EINVALID, "%s: %s is neither a tag nor a branch", op, req.Ref)
	}
	if name == s.branch {
		return registry.Errorf(registry.EINVALID, "%s: %s is the tracked branch, which moves with every commit", op, req.Ref)
	}
	to, err := parseSHA(op, req.To)
	if err != nil {
		return err
	}
	mem := memory.NewStorage()
	old, target, err := s.planMove(ctx, mem, name, to, req)
	if err != nil {
		return err
	}
	if err := s.push(ctx, mem, name, old, target); err != nil {
		return err
	}
	if err := s.adoptRef(mem, name, old, target); err != nil {
		s.log.Error("git ref pushed but not recorded in the clone; the next fetch brings it", "ref", name, "err", err)
	}
	return nil
}

// planMove checks req against the clone and returns the ref's raw value
// there (zero: absent) and the object it is to point at, writing a new tag
// object into mem.
func (s *Store) planMove(ctx context.Context, mem *memory.Storage, name plumbing.ReferenceName, to plumbing.Hash, req registry.RefUpdate) (old, target plumbing.Hash, err error) {
	const op = "move ref"
	if err := s.rlock(ctx, op); err != nil {
		return old, target, err
	}
	defer s.mu.RUnlock()
	toCommit, err := object.GetCommit(s.st, to)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return old, target, registry.Errorf(registry.ENOTFOUND, "%s: commit %s not found", op, to)
	}
	if err != nil {
		return old, target, internal(op, err)
	}
	was := ""
	if r, err := s.st.Reference(name); err == nil && r.Type() == plumbing.HashReference {
		old = r.Hash()
		peeled, err := s.peel(old)
		if err != nil {
			return old, target, internal(op+": read "+name.String(), err)
		}
		was = peeled.String()
	} else if err != nil && !errors.Is(err, plumbing.ErrReferenceNotFound) {
		return old, target, internal(op, err)
	}
	if was != req.From {
		return old, target, registry.Errorf(registry.ECONFLICT, "%s: %s is at %s, not at %s: it moved meanwhile", op, name.Short(), orAbsent(was), orAbsent(req.From))
	}
	if name.IsBranch() && !old.IsZero() && !req.Force {
		oldCommit, err := object.GetCommit(s.st, plumbing.NewHash(was))
		if err != nil {
			return old, target, internal(op, err)
		}
		ff, err := oldCommit.IsAncestor(toCommit)
		if err != nil {
			return old, target, internal(op, err)
		}
		if !ff && oldCommit.Hash != toCommit.Hash {
			return old, target, registry.Errorf(registry.ECONFLICT, "%s: moving branch %s from %s to %s is not a fast-forward (it drops commits); send \"force\": true to move it anyway", op, name.Short(), short(was), short(to.String()))
		}
	}
	if !name.IsTag() {
		return old, to, nil
	}
	tagger := req.Tagger
	if tagger.Name == "" {
		tagger = s.committer
	}
	if tagger.Time.IsZero() {
		tagger.Time = time.Now()
	}
	msg := strings.TrimSpace(req.Message)
	if msg == "" {
		msg = fmt.Sprintf("Promote %s to %s", name.Short(), short(to.String()))
	}
	tag := &object.Tag{
		Name:       name.Short(),
		Tagger:     object.Signature{Name: tagger.Name, Email: tagger.Email, When: tagger.Time},
		Message:    msg + "\n",
		TargetType: plumbing.CommitObject,
		Target:     to,
	}
	obj := mem.NewEncodedObject()
	if err := tag.Encode(obj); err != nil {
		return old, target, internal(op+": encode tag", err)
	}
	if target, err = mem.SetEncodedObject(obj); err != nil {
		return old, target, internal(op+": encode tag", err)
	}
	return old, target, nil
}

func orAbsent(sha string) string {
	if sha == "" {
		return "absent"
	}
	return short(sha)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
