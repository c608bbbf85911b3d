package gitsync

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

// EvidenceFunc gathers the evidence the planner needs for one rollout in
// its current state: gate results and whether its step is applied.
type EvidenceFunc func(ctx context.Context, r *policy.Rollout, s policy.State) policy.Evidence

// Outcome is what one pass decided for one rollout.
type Outcome struct {
	Rollout  string
	State    policy.State
	Decision policy.Decision
	// Commit is the commit that carries the decision; zero when it holds.
	Commit plumbing.Hash
	// Invalid is the spec error that holds the rollout, if any.
	Invalid error
}

// Loop is one reconcile of a release repository: fetch, derive, gather
// evidence, plan, commit, push. It keeps the last snapshot only as a
// cache: a new Loop derives the same states from git.
type Loop struct {
	Repo       *Repo
	Deriver    *history.Deriver
	Committer  *Committer
	Evidence   EvidenceFunc
	Guardrails policy.Guardrails
	Now        func() time.Time
	// Retries bounds how often a pass starts again after the branch moved
	// under it (default 5), with Backoff doubling between tries.
	Retries int
	Backoff time.Duration
	// DryRun plans without committing.
	DryRun bool
	// RequireSignedTip refuses to commit on top of a branch tip whose
	// signature does not verify against any key of the keyring. Flux's
	// spec.verify checks only HEAD: building on an unsigned commit would
	// give it a trusted HEAD and smuggle it into the cluster.
	RequireSignedTip bool
	// Observe, when set, is told how long each fetch and push took and
	// how it ended (op is "fetch" or "push"). A push that lost the race
	// to another commit ends in ErrBranchMoved.
	Observe func(op string, took time.Duration, err error)

	snap *history.Snapshot
}

// Snapshot returns the state the last pass derived.
func (l *Loop) Snapshot() *history.Snapshot { return l.snap }

// Pass runs one reconcile. When the branch moved between the fetch and
// the push, nothing is forced: it fetches again, derives the new history
// (someone else's commit included), plans again and retries.
func (l *Loop) Pass(ctx context.Context) ([]Outcome, error) {
	retries, backoff := l.Retries, l.Backoff
	if retries <= 0 {
		retries = 5
	}
	if backoff <= 0 {
		backoff = 200 * time.Millisecond
	}
	for attempt := 0; ; attempt++ {
		outcomes, err := l.try(ctx)
		if !errors.Is(err, ErrBranchMoved) {
			return outcomes, err
		}
		if attempt >= retries {
			return outcomes, fmt.Errorf("gave up after %d tries: %w", attempt+1, err)
		}
		select {
		case <-ctx.Done():
			return outcomes, ctx.Err()
		case <-time.After(backoff << attempt):
		}
	}
}

func (l *Loop) try(ctx context.Context) ([]Outcome, error) {
	start := time.Now()
	tip, err := l.Repo.Fetch(ctx)
	l.observe("fetch", start, err)
	if err != nil {
		return nil, err
	}
	snap, err := l.Deriver.Update(l.snap, tip)
	if err != nil {
		return nil, err
	}
	l.snap = snap
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	unsigned := ""
	if l.RequireSignedTip {
		unsigned = l.untrustedTip(tip)
	}
	var outcomes []Outcome
	head := tip
	for _, name := range sortedNames(snap) {
		if bad := snap.Invalid[name]; bad != nil {
			outcomes = append(outcomes, Outcome{Rollout: name, Invalid: bad, Decision: policy.Decision{
				Reason: "spec does not validate: " + bad.Error(), WaitingFor: "a valid spec"}})
			continue
		}
		r, s := snap.Rollouts[name], snap.States[name]
		var ev policy.Evidence
		if l.Evidence != nil {
			ev = l.Evidence(ctx, r, s)
		} else {
			ev.AppliedUnknown = true
		}
		d := policy.Plan(r, &s, ev, now(), l.Guardrails)
		if unsigned != "" && !d.Holds() {
			d = policy.Decision{Step: s.Step, Steps: d.Steps, Weight: s.Weight, Release: s.Release,
				Reason: unsigned + "; ramp will not build on it (next: " + string(d.Action) + ")", WaitingFor: "a signed commit at the branch tip"}
		}
		o := Outcome{Rollout: name, State: s, Decision: d}
		if !d.Holds() && !l.DryRun {
			if head, err = l.Committer.Commit(head, r, d); err != nil {
				return nil, err
			}
			o.Commit = head
		}
		outcomes = append(outcomes, o)
	}
	if head == tip {
		return outcomes, nil
	}
	start = time.Now()
	err = l.Repo.Push(ctx, tip, head)
	l.observe("push", start, err)
	if err != nil {
		return nil, err
	}
	if l.snap, err = l.Deriver.Update(snap, head); err != nil {
		return nil, err
	}
	return outcomes, nil
}

func (l *Loop) observe(op string, start time.Time, err error) {
	if l.Observe != nil {
		l.Observe(op, time.Since(start), err)
	}
}

// untrustedTip says why the tip is not signed by a trusted key, or "".
func (l *Loop) untrustedTip(tip plumbing.Hash) string {
	c, err := l.Deriver.Repo.CommitObject(tip)
	if err != nil {
		return fmt.Sprintf("branch tip %s cannot be read: %v", tip.String()[:10], err)
	}
	if l.Deriver.Keys == nil {
		return fmt.Sprintf("branch tip %s cannot be verified: no trusted keys", tip.String()[:10])
	}
	if _, err := l.Deriver.Keys.Verify(c); err != nil {
		return fmt.Sprintf("branch tip %s by %s is not signed by a trusted key (%v)", tip.String()[:10], c.Author.Email, err)
	}
	return ""
}

func sortedNames(s *history.Snapshot) []string {
	var names []string
	for n := range s.Rollouts {
		names = append(names, n)
	}
	for n := range s.Invalid {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
