package gitsync

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
)

// EvidenceFunc gathers the evidence the planner needs for one rollout in
// its current state: gate results and whether its step is applied.
type EvidenceFunc func(ctx context.Context, r *policy.Rollout, s policy.State) policy.Evidence

// Config is everything a loop needs besides its repository.
type Config struct {
	// Keys verify ramp's commits and people's commands; nil trusts no one,
	// so every rollout in flight holds.
	Keys       *signing.Keyring
	Guardrails policy.Guardrails
	// Signer signs ramp's commits as Identity.
	Signer   signing.CommitSigner
	Identity Identity
	// Evidence gathers gate results and applies; nil reports no applies
	// (a step counts as live at its commit time) and no gate results.
	// A pass calls it for up to Concurrency rollouts at once (default 8).
	Evidence    EvidenceFunc
	Concurrency int
	// RequireSignedTip refuses to commit on top of a branch tip whose
	// signature does not verify against any key of Keys. Flux's
	// spec.verify checks only HEAD: building on an unsigned commit would
	// give it a trusted HEAD and smuggle it into the cluster.
	RequireSignedTip bool
	// CommandsRef, when set, is a branch (e.g. "ramp/commands") where
	// people without push rights to the release branch push their signed
	// commands; they count after the release branch's history.
	CommandsRef string
	// DryRun plans without committing.
	DryRun bool
	// Now is the planner's clock (nil: time.Now); ramp's commits carry
	// the wall-clock time.
	Now func() time.Time
	// Retries bounds how often a pass starts again after the branch moved
	// under it (default 5), with Backoff doubling between tries.
	Retries int
	Backoff time.Duration
	// WaveEvidence gathers the results of a wave's gates over its soak,
	// for a rollout with targets (nil: none, so a wave with gates holds).
	WaveEvidence WaveEvidenceFunc
	// CheckpointEvery is the depth (first-parent commits below the tip)
	// from which an aborted rollout's abort gets a checkpoint commit at
	// the start of a pass (checkpoint.go; DefaultCheckpointEvery); 0 or
	// negative: never.
	CheckpointEvery int
	// Observe, when set, is told how long each fetch and push took and
	// how it ended (op is "fetch" or "push"). A push that lost the race
	// to another commit ends in ErrBranchMoved.
	Observe func(op string, took time.Duration, err error)
}

// Loop is the reconcile of one release repository: fetch, derive, gather
// evidence, plan, commit, push. It keeps the last snapshot only as a
// cache: a new Loop derives the same states from git.
type Loop struct {
	repo      *Repo
	deriver   *history.Deriver
	committer *committer
	cfg       Config

	snap *history.Snapshot
}

// NewLoop returns the loop of repo. The deriver, the committer and the
// loop all work on repo's one object store.
func NewLoop(repo *Repo, cfg Config) *Loop {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Retries <= 0 {
		cfg.Retries = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = defaultConcurrency
	}
	l := &Loop{repo: repo, cfg: cfg}
	l.wire()
	return l
}

// wire builds the deriver and the committer on the repository's object
// store, again after the clone was rebuilt (keeping the deriver's Deepen:
// a rebuilt shallow clone is shallow again).
func (l *Loop) wire() {
	var deepen func() (bool, error)
	if l.deriver != nil {
		deepen = l.deriver.Deepen
	}
	l.deriver = &history.Deriver{Repo: l.repo.Git(), Keys: l.cfg.Keys, Guardrails: l.cfg.Guardrails, Deepen: deepen}
	l.committer = &committer{store: l.repo.Git().Storer, signer: l.cfg.Signer, identity: l.cfg.Identity, now: time.Now}
	l.snap = nil
}

// Repo is the repository the loop works on.
func (l *Loop) Repo() *Repo { return l.repo }

// Deriver derives and audits with the loop's keys and guardrails.
func (l *Loop) Deriver() *history.Deriver { return l.deriver }

// Outcome is what one pass decided for one rollout.
type Outcome struct {
	Rollout string
	// State is the rollout's state the decision was made from.
	State    policy.State
	Decision policy.Decision
	// Commit is the commit that carries the decision; zero when it holds.
	Commit plumbing.Hash
	// Invalid is the spec error that holds the rollout, if any.
	Invalid error
	// Fleet is the state of a rollout with targets the decision was made
	// from (State is then its target's, for a target's step).
	Fleet *policy.FleetState
	// Waves is where each of its waves stands (policy.Waves).
	Waves []policy.WaveStatus
}

// Result is what one pass did.
type Result struct {
	// Snapshot is every rollout's state at the end of the pass, ramp's
	// own commits included (nil when the pass failed before deriving).
	Snapshot *history.Snapshot
	// Outcomes are the decisions, one per rollout, by name.
	Outcomes []Outcome
	// Checkpoint is the checkpoint commit the pass pushed before
	// planning, if any (checkpoint.go).
	Checkpoint plumbing.Hash
}

// Pushed returns the outcomes that pushed a commit.
func (r Result) Pushed() []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes {
		if !o.Commit.IsZero() {
			out = append(out, o)
		}
	}
	return out
}

// Pass runs one reconcile. When the branch moved between the fetch and
// the push, nothing is forced: it fetches again, derives the new history
// (someone else's commit included), plans again and retries. When a pass
// fails otherwise, it checks ramp's clone as Open does and, if the clone
// is damaged, rebuilds it and runs the pass once more. It logs one line
// per pushed commit to the logger in ctx.
func (l *Loop) Pass(ctx context.Context) (Result, error) {
	healed := false
	var landed []Outcome // pushed by tries that failed later
	for attempt := 0; ; attempt++ {
		res, err := l.try(ctx)
		res.Outcomes = withLanded(res.Outcomes, landed)
		landed = res.Pushed()
		if err != nil && !healed && !errors.Is(err, ErrBranchMoved) && ctx.Err() == nil {
			rebuilt, herr := l.repo.heal(ctx)
			if herr != nil {
				return res, fmt.Errorf("%w (and checking the clone failed: %v)", err, herr)
			}
			if rebuilt {
				healed = true
				l.wire()
				continue
			}
		}
		if !errors.Is(err, ErrBranchMoved) {
			return res, err
		}
		if attempt >= l.cfg.Retries {
			return res, fmt.Errorf("gave up after %d tries: %w", attempt+1, err)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(l.cfg.Backoff << attempt):
		}
	}
}

func (l *Loop) try(ctx context.Context) (res Result, err error) {
	start := time.Now()
	tip, err := l.repo.Fetch(ctx)
	l.observe("fetch", start, err)
	if err != nil {
		return Result{Snapshot: l.snap}, err
	}
	snap, err := l.deriver.Update(l.snap, tip)
	if err != nil {
		return Result{Snapshot: l.snap}, err
	}
	l.snap = snap
	checkpoint, err := l.checkpoint(ctx, tip)
	if err != nil {
		return Result{Snapshot: l.snap}, err
	}
	if !checkpoint.IsZero() {
		tip, snap = checkpoint, l.snap
	}
	res = Result{Snapshot: snap, Checkpoint: checkpoint}
	states, err := l.withCommands(ctx, snap)
	if err != nil {
		return res, err
	}
	untrusted := ""
	if l.cfg.RequireSignedTip {
		untrusted = l.untrustedTip(tip)
	}
	calendar, calendarErr := l.deriver.Calendar(tip)
	names := sortedNames(snap)
	res.Outcomes = make([]Outcome, len(names))
	p := l.newPassPush(tip, res.Outcomes)

	// Evidence comes in as it is gathered, concurrently. A decision that
	// takes traffic away from a canary is committed and pushed at once;
	// the others wait for the whole pass and go out together, in name
	// order.
	var later []int
	gctx, cancel := context.WithCancel(ctx)
	gathered, wait := l.gather(gctx, snap, states, names)
	defer func() {
		cancel()
		wait()
		if err != nil {
			p.unpushed()
		}
		// Rollouts not reached when the pass stopped early.
		res.Outcomes = slices.DeleteFunc(res.Outcomes, func(o Outcome) bool { return o.Rollout == "" })
	}()
	for g := range gathered {
		name := names[g.index]
		r, s := snap.Rollouts[name], states[name]
		if g.fleet != nil {
			o := l.planFleet(snap, name, *g.fleet, untrusted, calendar, calendarErr)
			res.Outcomes[g.index] = o
			switch {
			case o.Decision.Holds() || l.cfg.DryRun:
			case o.Decision.ReducesExposure(o.State):
				if err := p.commit(g.index, r); err != nil {
					return res, err
				}
				if err := p.push(ctx); err != nil {
					return res, err
				}
			default:
				later = append(later, g.index)
			}
			continue
		}
		ev := g.evidence
		ev.SpecError, ev.UntrustedTip = snap.Invalid[name], untrusted
		ev.Freeze, ev.FreezeError = calendar, calendarErr
		d := policy.Plan(r, s, ev, l.cfg.Now(), l.cfg.Guardrails)
		res.Outcomes[g.index] = Outcome{Rollout: name, State: s, Decision: d, Invalid: snap.Invalid[name]}
		switch {
		case d.Holds() || l.cfg.DryRun:
		case d.ReducesExposure(s):
			if err := p.commit(g.index, r); err != nil {
				return res, err
			}
			if err := p.push(ctx); err != nil {
				return res, err
			}
		default:
			later = append(later, g.index)
		}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	slices.Sort(later)
	for _, i := range later {
		if err := p.commit(i, snap.Rollouts[names[i]]); err != nil {
			return res, err
		}
	}
	if err := p.push(ctx); err != nil {
		return res, err
	}
	if p.pushed == tip {
		return res, nil
	}
	if l.snap, err = p.update(snap); err != nil {
		return res, err
	}
	res.Snapshot = l.snap
	return res, nil
}

// withLanded returns outcomes with, for each rollout that holds in them
// (or is missing), the outcome of an earlier try of the same pass that
// pushed a commit for it: the decision that is on the remote.
func withLanded(outcomes, landed []Outcome) []Outcome {
	for _, e := range landed {
		i, found := slices.BinarySearchFunc(outcomes, e.Rollout, func(o Outcome, name string) int { return strings.Compare(o.Rollout, name) })
		switch {
		case !found:
			outcomes = slices.Insert(outcomes, i, e)
		case outcomes[i].Commit.IsZero():
			outcomes[i] = e
		}
	}
	return outcomes
}

// commandsSlack is how much earlier than a release's start a command on
// the commands ref may be dated and still be read: clocks differ.
const commandsSlack = time.Hour

// withCommands returns the states of snap with the commands of the
// commands ref, when one is configured and a release is in flight.
func (l *Loop) withCommands(ctx context.Context, snap *history.Snapshot) (map[string]policy.State, error) {
	since, needed := history.CommandsSince(snap)
	if l.cfg.CommandsRef == "" || !needed {
		return snap.States, nil
	}
	tip, err := l.repo.FetchCommands(ctx, l.cfg.CommandsRef)
	if err != nil {
		return nil, err
	}
	if !since.IsZero() {
		since = since.Add(-commandsSlack)
	}
	recs, err := l.deriver.Commands(tip, snap.Tip, since)
	if err != nil {
		return nil, fmt.Errorf("read commands ref %s: %w", l.cfg.CommandsRef, err)
	}
	return l.deriver.WithCommands(snap, recs), nil
}

func (l *Loop) observe(op string, start time.Time, err error) {
	if l.cfg.Observe != nil {
		l.cfg.Observe(op, time.Since(start), err)
	}
}

// untrustedTip says why the tip is not signed by a trusted key, or "".
func (l *Loop) untrustedTip(tip plumbing.Hash) string {
	c, err := l.repo.Git().CommitObject(tip)
	if err != nil {
		return fmt.Sprintf("branch tip %.10s cannot be read: %v", tip, err)
	}
	if l.cfg.Keys == nil {
		return fmt.Sprintf("branch tip %.10s cannot be verified: no trusted keys", tip)
	}
	if _, err := l.cfg.Keys.Verify(c); err != nil {
		return fmt.Sprintf("branch tip %.10s by %s is not signed by a trusted key (%v)", tip, c.Author.Email, err)
	}
	return ""
}

// sortedNames returns the name of every rollout of s, valid or not, once
// each: a rollout whose file cannot be read is in Rollouts and Invalid.
func sortedNames(s *history.Snapshot) []string {
	names := slices.Collect(maps.Keys(s.Rollouts))
	for n := range s.Invalid {
		if _, ok := s.Rollouts[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}
