package main

// ramp approve: the command and the checks it makes before it commits
// (what ramp would reject is refused, unless --force).

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/policy"
)

// newApprove: approve a step, by default the one in progress.
func newApprove() *cobra.Command {
	sc := &signedCommand{verb: "approve"}
	var step int
	var freeze, migration, wave string
	cmd := &cobra.Command{
		Use:   "approve NAME",
		Short: "Approve a step of a rollout's current release (or grant it an exception to a freeze) with a signed commit",
		Long: "Makes a commit that holds nothing but a Ramp-Approve trailer (whatever the index holds: a staged\n" +
			"change stays staged), signed by your git's signing key (`git commit-tree -S`).\n\n" +
			"Before any ref moves it checks what ramp would check: the release is in progress, the step is the\n" +
			"one in progress and waits for an approval, and, with trusted keys (--approvers, $RAMP_APPROVERS or\n" +
			"the config file), that your key may approve it and has not already. A refused approval makes no\n" +
			"commit and exits 1; --force commits it anyway (ramp will record it as rejected).\n\n" +
			"Exit codes: 0 committed, 1 refused, 2 usage or environment error (no signing key, git failed).",
		Example: "  ramp approve demo                  # the step in progress\n" +
			"  ramp approve demo --step 4 --push  # name the step, push to origin\n" +
			"  ramp approve demo --freeze year-end\n" +
			"  ramp approve demo --commands-ref ramp/commands --push\n" +
			"  ramp approve pay/eu-west-1 --step 2 # a step of one target of a rollout with targets\n" +
			"  ramp approve pay --wave everywhere  # a wave's approval (spec.waves[].approval)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := sc.check(); err != nil {
				return err
			}
			tg, err := sc.find(cmd.Context(), name)
			if err != nil {
				return err
			}
			r, s := tg.rollout, tg.state
			if wave != "" {
				if tg.fleet == nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("--wave %s: rollout %s has no waves", wave, name)}
				}
				c := sc.command(policy.CommandApprove, name, s)
				c.Wave = wave
				if !sc.force {
					if err := refuseWave(name, r, *tg.fleet, c); err != nil {
						return err
					}
				}
				return sc.commit(cmd, c, sc.subject(c)+" wave "+wave, "", sc.wouldAccept(cmd, tg, c))
			}
			if tg.fleet != nil && freeze == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("rollout %s has targets: approve a step of one target (NAME/TARGET, %s), a wave (--wave NAME) or a freeze exception (--freeze NAME)", name, targetNames(r))}
			}
			if freeze != "" || migration != "" {
				c := sc.command(policy.CommandApprove, name, s)
				c.Freeze, c.Migration = freeze, migration
				subject := sc.subject(c) + " during freeze " + freeze
				if migration != "" {
					subject = sc.subject(c) + " migration " + migration
				}
				return sc.commit(cmd, c, subject, "", sc.wouldAccept(cmd, tg, c))
			}
			n, err := policy.ApprovalStep(r, s, step)
			var rng *policy.StepRangeError
			switch {
			case errors.Is(err, policy.ErrNoStepInProgress):
				return findings("%s has no step in progress (phase %s%s): nothing to approve", name, s.Phase, sc.trustNote())
			case errors.As(err, &rng):
				return &exitError{code: exitUsage, err: fmt.Errorf("--step %d: %s has %d steps", rng.Step, name, rng.Steps)}
			case err != nil:
				return err
			}
			c := sc.command(policy.CommandApprove, name, s)
			c.Step = n
			if !sc.force {
				if err := refuseStep(name, r, s, c); err != nil {
					return err
				}
			}
			return sc.commit(cmd, c, sc.subject(c)+fmt.Sprintf(" step %d/%d", n, len(r.Steps())), "", sc.wouldAccept(cmd, tg, c))
		},
	}
	sc.add(cmd)
	cmd.Flags().IntVar(&step, "step", 0, "1-based step to approve (default: the current step)")
	cmd.Flags().StringVar(&freeze, "freeze", "", "grant the release an exception to the named freeze of the freeze calendar instead")
	cmd.Flags().StringVar(&migration, "migration", "", "approve the release's migration instead (expand)")
	cmd.Flags().BoolVar(&sc.force, "force", false, "commit the approval even when ramp would reject it")
	cmd.Flags().StringVar(&wave, "wave", "", "approve the named wave of a rollout with targets instead (spec.waves[].approval)")
	cmd.MarkFlagsMutuallyExclusive("step", "freeze", "migration", "wave")
	return cmd
}

// refuseStep says why ramp would not take approval c of rollout name in
// state s as the approval the rollout waits for: the release is not in
// progress or is another one, or the step is not the one in progress, or
// it does not wait for an approval.
func refuseStep(name string, r *policy.Rollout, s policy.State, c policy.Command) error {
	steps := r.Steps()
	switch {
	case c.Release != s.Release:
		return findings("refused: %s's current release is %s, not %s (--force commits it anyway)", name, s.Release, c.Release)
	case !s.InProgress():
		return findings("refused: release %s of %s is not in progress (phase %s): nothing to approve (--force commits it anyway)", s.Release, name, s.Phase)
	case s.Step < 1 || s.Step > len(steps):
		return findings("refused: %s has no step in progress yet (phase %s); approve a step once ramp has entered it (--force commits it anyway)", name, s.Phase)
	case c.Step != s.Step:
		return findings("refused: step %d is out of turn: %s is at step %d/%d (%s); approve a step once ramp has entered it (--force commits it anyway)",
			c.Step, name, s.Step, len(steps), policy.DescribeStep(steps[s.Step-1]))
	case !policy.WaitsForApproval(steps[c.Step-1]):
		return findings("refused: step %d/%d of %s does not wait for an approval (it is: %s) (--force commits it anyway)",
			c.Step, len(steps), name, policy.DescribeStep(steps[c.Step-1]))
	}
	return nil
}

// refuseWave says why ramp would not take approval c of wave c.Wave of
// rollout name (with targets) in state fs as the approval the waves wait
// for: no such wave (a usage error), the wave needs no approval, the
// release is another one, the waves stopped, the wave already has the
// release, or it is not the next wave to start.
func refuseWave(name string, r *policy.Rollout, fs policy.FleetState, c policy.Command) error {
	i := slices.IndexFunc(r.Spec.Waves, func(w policy.Wave) bool { return w.Name == c.Wave })
	if i < 0 {
		var names []string
		for _, w := range r.Spec.Waves {
			names = append(names, w.Name)
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("--wave %s: rollout %s has no such wave (its waves: %s)", c.Wave, name, strings.Join(names, ", "))}
	}
	n := len(r.Spec.Waves)
	next := 0
	for next < n-1 && fs.HasWave(r, next) {
		next++
	}
	switch {
	case r.Spec.Waves[i].Approval == nil:
		return findings("refused: wave %d/%d %s of %s needs no approval (spec.waves[].approval) (--force commits it anyway)", i+1, n, c.Wave, name)
	case c.Release != fs.Release:
		return findings("refused: %s's current release is %s, not %s (--force commits it anyway)", name, fs.Release, c.Release)
	case fs.AbortBy != nil:
		return findings("refused: release %s of %s was aborted in commit %.10s: no wave starts (--force commits it anyway)", fs.Release, name, fs.AbortBy.Commit)
	case fs.Failed != nil:
		return findings("refused: release %s of %s failed in target %s of wave %s: the waves stopped (--force commits it anyway)", fs.Release, name, fs.Failed.Target, fs.Failed.Wave)
	case fs.HasWave(r, i):
		return findings("refused: wave %d/%d %s of %s already has release %s: nothing to approve (--force commits it anyway)", i+1, n, c.Wave, name, fs.Release)
	case next != i:
		return findings("refused: wave %d/%d %s is out of turn: the next wave of %s to start is %d/%d %s; approve a wave once the waves before it have started (--force commits it anyway)",
			i+1, n, c.Wave, name, next+1, n, r.Spec.Waves[next].Name)
	}
	return nil
}

// refusePerTarget refuses a pause or resume of a rollout with targets:
// ramp takes them for one target.
func refusePerTarget(verb string, tg target, name string) error {
	if tg.fleet == nil {
		return nil
	}
	return findings("refused: rollout %s has targets: ramp takes a %s of one target, not of the whole rollout (ramp %s NAME/TARGET; %s)", name, verb, verb, targetNames(tg.rollout))
}

// wouldAccept returns the check commit runs on the signed, not yet
// referenced commit sha: with trusted keys, it verifies the signature as
// ramp will and folds the command into the rollout's state as ramp will,
// refusing what ramp would reject and an approval that adds nothing (the
// same person approved already). Without trusted keys it only warns.
func (sc *signedCommand) wouldAccept(cmd *cobra.Command, tg target, c policy.Command) func(sha string) error {
	return func(sha string) error {
		keys, err := sc.keyring()
		if err != nil {
			return err
		}
		if keys == nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "ramp: no trusted keys configured (--approvers, $RAMP_APPROVERS or %s): cannot check that your key may %s\n", configHint(), sc.verb)
			return nil
		}
		g, err := sc.guardFor(keys)
		if err != nil {
			return err
		}
		co, err := tg.repo.Git().CommitObject(plumbing.NewHash(sha))
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("read the commit just made (%s): %w", sha, err)}
		}
		signer, verr := keys.Verify(co)
		if signer == nil {
			return findings("refused: your signing key does not verify against the trusted keys in %s: %v; ramp would reject this %s (--force commits it anyway)", sc.approvers, verr, sc.verb)
		}
		rec := &policy.Record{Commit: sha, Author: co.Author.Email, Time: co.Committer.When, Signer: signer, Commands: []policy.Command{c}}
		if tg.fleet != nil {
			return fleetWouldAccept(sc.verb, *tg.fleet, tg.rollout, rec, c, g)
		}
		after := policy.Fold(tg.state, tg.rollout, rec, g)
		if len(after.Rejected) > len(tg.state.Rejected) {
			return findings("refused: ramp would reject this %s: %s (--force commits it anyway)", sc.verb, after.Rejected[len(after.Rejected)-1].Reason)
		}
		if c.Kind == policy.CommandApprove && len(after.Approvals) == len(tg.state.Approvals) {
			for _, a := range tg.state.Approvals {
				if a.Step == c.Step && a.Freeze == c.Freeze && a.Migration == c.Migration && a.Principal == signer.Principal {
					return findings("refused: %s already approved this in commit %.10s; a person counts once (--force commits it anyway)", signer.Principal, a.Commit)
				}
			}
			return findings("refused: the approval by %s would add nothing: it is already counted (--force commits it anyway)", signer.Principal)
		}
		return nil
	}
}

// fleetWouldAccept is wouldAccept's check for a command of a rollout with
// targets: policy.FoldFleet, as ramp folds it.
func fleetWouldAccept(verb string, fs policy.FleetState, r *policy.Rollout, rec *policy.Record, c policy.Command, g policy.Guardrails) error {
	after := policy.FoldFleet(fs, r, rec, g)
	if len(after.Rejected) > len(fs.Rejected) {
		return findings("refused: ramp would reject this %s: %s (--force commits it anyway)", verb, after.Rejected[len(after.Rejected)-1].Reason)
	}
	if c.Kind == policy.CommandApprove && len(after.Approvals) == len(fs.Approvals) {
		for _, a := range fs.Approvals {
			if a.Wave == c.Wave && a.Principal == rec.Signer.Principal {
				return findings("refused: %s already approved wave %s in commit %.10s; a person counts once (--force commits it anyway)", rec.Signer.Principal, c.Wave, a.Commit)
			}
		}
		return findings("refused: the approval by %s would add nothing: it is already counted (--force commits it anyway)", rec.Signer.Principal)
	}
	return nil
}
