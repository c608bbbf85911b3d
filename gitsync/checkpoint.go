package gitsync

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-logr/logr"

	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/trailer"
)

// DefaultCheckpointEvery is the depth, in first-parent commits below the
// tip, from which an aborted rollout's anchor gets a checkpoint, unless
// Config.CheckpointEvery says otherwise (ramp run and the controller use
// it; a Config's zero value writes none).
const DefaultCheckpointEvery = 1000

// checkpoint writes and pushes, at the start of a pass, one signed commit
// restating every rollout that policy.Checkpoint says is due: an aborted
// state whose abort lies Config.CheckpointEvery or more commits below tip.
// The commit changes no file (its tree is tip's) and is pushed as a
// compare-and-swap on tip, so what it claims is about its parent exactly.
// It then folds the commit into l.snap and returns it; zero when none was
// due. Nothing is written in a dry run, without a signer, or on a tip
// that RequireSignedTip refuses to build on.
func (l *Loop) checkpoint(ctx context.Context, tip plumbing.Hash) (plumbing.Hash, error) {
	snap := l.snap
	if l.cfg.CheckpointEvery <= 0 || l.cfg.DryRun || l.cfg.Signer == nil {
		return plumbing.ZeroHash, nil
	}
	entries, depths := dueCheckpoints(snap, l.cfg.CheckpointEvery)
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	if l.cfg.RequireSignedTip && l.untrustedTip(tip) != "" {
		return plumbing.ZeroHash, nil // the pass holds every rollout, saying why
	}
	store := newPassStore(l.repo.Git().Storer)
	parent, err := object.GetCommit(store, tip)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read commit %s: %w", tip, err)
	}
	sig := object.Signature{Name: l.cfg.Identity.Name, Email: l.cfg.Identity.Email, When: l.committer.now()}
	h, err := storeCommit(store, &object.Commit{Author: sig, Committer: sig, Message: checkpointMessage(entries, depths),
		TreeHash: parent.TreeHash, ParentHashes: []plumbing.Hash{tip}}, l.cfg.Signer)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("checkpoint: %w", err)
	}
	pack, err := store.pack()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	start := time.Now()
	err = l.repo.push(ctx, tip, h, pack)
	l.observe("push", start, err)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	log := logr.FromContextOrDiscard(ctx)
	for _, e := range entries {
		log.Info("pushed commit", "rollout", e.Rollout, "release", e.Release, "step", e.Step,
			"action", string(e.Action), "weight", e.Weight, "commit", h.String(), "anchor", e.Anchor.Commit)
	}
	next, err := l.deriver.Update(snap, h)
	if err != nil {
		return h, err
	}
	l.snap = next
	return h, nil
}

// dueCheckpoints returns the checkpoint entries due in snap, in rollout
// name order, and each one's depth.
func dueCheckpoints(snap *history.Snapshot, every int) ([]policy.Entry, []int) {
	var entries []policy.Entry
	var depths []int
	for _, name := range sortedNames(snap) {
		r := snap.Rollouts[name]
		depth, known := snap.Depths[name]
		if r == nil || !known || snap.Invalid[name] != nil {
			continue
		}
		if e, due := policy.Checkpoint(r, snap.States[name], depth, every); due {
			entries, depths = append(entries, e), append(depths, depth)
		}
	}
	return entries, depths
}

// checkpointMessage is a checkpoint commit's message: a subject naming
// the rollout and its abort (or how many rollouts it restates), one line
// per rollout, and one entry of trailers each.
func checkpointMessage(entries []policy.Entry, depths []int) string {
	var subject string
	if len(entries) == 1 {
		e := entries[0]
		subject = fmt.Sprintf("ramp: %s %s checkpoint (%s at %.7s, weight %d%%)", e.Rollout, e.Release, ended(e.Anchor.Action), e.Anchor.Commit, e.Weight)
	} else {
		subject = fmt.Sprintf("ramp: checkpoint of %d aborted rollouts", len(entries))
	}
	var body strings.Builder
	var ts []trailer.Trailer
	for i, e := range entries {
		fmt.Fprintf(&body, "%s %s: %s at %s, %d commits below this one", e.Rollout, e.Release, ended(e.Anchor.Action), e.Anchor.Commit, depths[i]+1)
		if r := strings.ReplaceAll(e.Reason, "\n", " "); r != "" {
			body.WriteString(": " + r)
		}
		body.WriteString("\n")
		ts = append(ts, trailer.ForEntry(e)...)
	}
	body.WriteString("Nothing changes: a derive from scratch starts here instead of walking down to the abort.\n")
	return trailer.Append(subject+"\n\n"+body.String(), ts)
}

// ended says how an anchor ended its release.
func ended(a policy.Action) string {
	if a == policy.ActionRollback {
		return "rolled back"
	}
	return "aborted"
}
