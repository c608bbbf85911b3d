package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/trailer"
)

// signedCommand is what approve, abort, pause and resume share: each
// makes an empty commit carrying one command trailer, signed by the user's
// own git (`git commit -S`, so their gpg or ssh signing configuration
// applies), in their working copy, and pushes it when asked.
type signedCommand struct {
	verb string
	repoFlags
	release string
	push    bool
}

func (sc *signedCommand) add(cmd *cobra.Command) {
	sc.repoFlags.add(cmd)
	cmd.Flags().StringVar(&sc.release, "release", "", "release the command is for (default: the rollout's current release)")
	cmd.Flags().BoolVar(&sc.push, "push", false, "push the commit to origin after making it")
}

// inWorkingCopy refuses a URL for --repo: the commit is made in a clone.
func (sc *signedCommand) inWorkingCopy() error {
	if isURL(sc.repo) {
		return &exitError{code: exitUsage, err: fmt.Errorf("%s commits in your working copy: --repo must be a directory", sc.verb)}
	}
	return nil
}

// find returns the rollout name at the tip of the branch and its state,
// after checking that --repo is a working copy.
func (sc *signedCommand) find(ctx context.Context, name string) (*policy.Rollout, policy.State, error) {
	if err := sc.inWorkingCopy(); err != nil {
		return nil, policy.State{}, err
	}
	repo, d, err := sc.deriver(ctx)
	if err != nil {
		return nil, policy.State{}, err
	}
	tip, err := repo.Tip()
	if err != nil {
		return nil, policy.State{}, err
	}
	snap, err := d.Derive(tip)
	if err != nil {
		return nil, policy.State{}, err
	}
	r, ok := snap.Rollouts[name]
	if !ok {
		if bad := snap.Invalid[name]; bad != nil {
			return nil, policy.State{}, findings("rollout %s has an invalid spec: %v", name, bad)
		}
		return nil, policy.State{}, &exitError{code: exitUsage, err: fmt.Errorf("no rollout %q at %s of %s", name, sc.branch, sc.repo)}
	}
	return r, snap.States[name], nil
}

// command is a command of kind for rollout name in state s: for the
// release --release names, by default the rollout's current release.
func (sc *signedCommand) command(kind policy.CommandKind, name string, s policy.State) policy.Command {
	release := sc.release
	if release == "" {
		release = s.Release
	}
	return policy.Command{Kind: kind, Rollout: name, Release: release}
}

// subject is the first line of the commit giving c.
func (sc *signedCommand) subject(c policy.Command) string {
	return fmt.Sprintf("%s %s %s", sc.verb, c.Rollout, c.Release)
}

// commit makes the signed empty commit with subject, body (when set) and
// c as its trailer, pushes it when --push is set and says what it committed.
// With --commands-ref the commit goes on that branch instead.
func (sc *signedCommand) commit(cmd *cobra.Command, c policy.Command, subject, body string) error {
	t := trailer.ForCommand(c)
	if sc.commandsRef != "" {
		return sc.commitToCommandsRef(cmd, t, subject, body)
	}
	gitArgs := []string{"commit", "-S", "--allow-empty", "-m", subject}
	if body != "" {
		gitArgs = append(gitArgs, "-m", body)
	}
	gitArgs = append(gitArgs, "--trailer", t.Key+": "+t.Value)
	if err := git(sc.repo, gitArgs...); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("git commit -S failed (is a signing key configured? see `git config user.signingkey`): %w", err)}
	}
	if sc.push {
		if err := git(sc.repo, "push", "origin", "HEAD:refs/heads/"+sc.branch); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("git push: %w", err)}
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "committed %s: %s: %s\n", sc.verb, t.Key, t.Value)
	return nil
}

// commitToCommandsRef makes the signed command commit on top of the
// commands ref (origin's, fetched; or the release branch when there is
// none yet) without touching the working tree, points the local branch
// of that name at it, and pushes it when --push is set. A push that is
// not a fast-forward fails: fetch and run the command again.
func (sc *signedCommand) commitToCommandsRef(cmd *cobra.Command, t trailer.Trailer, subject, body string) error {
	ref := "refs/heads/" + sc.commandsRef
	tracking := "refs/remotes/origin/" + sc.commandsRef
	parent := "HEAD"
	if _, err := gitOutput(sc.repo, "fetch", "-q", "origin", "+"+ref+":"+tracking); err == nil {
		parent = tracking
	} else if _, err := gitOutput(sc.repo, "rev-parse", "-q", "--verify", ref); err == nil {
		parent = ref
	}
	msg := subject + "\n"
	if body != "" {
		msg += "\n" + body + "\n"
	}
	msg = trailer.Append(msg, []trailer.Trailer{t})
	sha, err := gitOutput(sc.repo, "commit-tree", "-S", "-p", parent, "-m", strings.TrimRight(msg, "\n"), parent+"^{tree}")
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("git commit-tree -S failed (is a signing key configured? see `git config user.signingkey`): %w", err)}
	}
	if _, err := gitOutput(sc.repo, "update-ref", ref, sha); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("git update-ref %s: %w", ref, err)}
	}
	if sc.push {
		if err := git(sc.repo, "push", "origin", sha+":"+ref); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("git push to %s: %w", ref, err)}
		}
	}
	fmt.Fprintf(cmd.OutOrStdout(), "committed %s on %s (%.10s): %s: %s\n", sc.verb, sc.commandsRef, sha, t.Key, t.Value)
	return nil
}

// gitOutput runs the user's git in dir and returns what it printed,
// trimmed; its errors go to stderr.
func gitOutput(dir string, args ...string) (string, error) {
	c := exec.Command("git", args...)
	c.Dir = dir
	c.Stderr = os.Stderr
	out, err := c.Output()
	return strings.TrimSpace(string(out)), err
}

// newApprove: approve a step, by default the one in progress.
func newApprove() *cobra.Command {
	sc := &signedCommand{verb: "approve"}
	var step int
	var freeze, migration string
	cmd := &cobra.Command{
		Use:   "approve NAME",
		Short: "Approve a step of a rollout's current release (or grant it an exception to a freeze) with a signed commit",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			r, s, err := sc.find(cmd.Context(), name)
			if err != nil {
				return err
			}
			if freeze != "" {
				c := sc.command(policy.CommandApprove, name, s)
				c.Freeze = freeze
				return sc.commit(cmd, c, sc.subject(c)+" during freeze "+freeze, "")
			}
			if migration != "" {
				c := sc.command(policy.CommandApprove, name, s)
				c.Migration = migration
				return sc.commit(cmd, c, sc.subject(c)+" migration "+migration, "")
			}
			n, err := policy.ApprovalStep(r, s, step)
			var rng *policy.StepRangeError
			switch {
			case errors.Is(err, policy.ErrNoStepInProgress):
				return &exitError{code: exitUsage, err: fmt.Errorf("%s has no step in progress (phase %s, as far as the keys in --approvers verify ramp's commits); name one with --step", name, s.Phase)}
			case errors.As(err, &rng):
				return &exitError{code: exitUsage, err: fmt.Errorf("--step %d: %s has %d steps", rng.Step, name, rng.Steps)}
			case err != nil:
				return err
			}
			c := sc.command(policy.CommandApprove, name, s)
			c.Step = n
			return sc.commit(cmd, c, sc.subject(c)+fmt.Sprintf(" step %d/%d", n, len(r.Steps())), "")
		},
	}
	sc.add(cmd)
	cmd.Flags().IntVar(&step, "step", 0, "1-based step to approve (default: the current step)")
	cmd.Flags().StringVar(&freeze, "freeze", "", "grant the release an exception to the named freeze of the freeze calendar instead")
	cmd.Flags().StringVar(&migration, "migration", "", "approve the release's migration instead (expand)")
	cmd.MarkFlagsMutuallyExclusive("step", "freeze", "migration")
	return cmd
}

// newAbort: abort the release, with a reason.
func newAbort() *cobra.Command {
	sc := &signedCommand{verb: "abort"}
	var reason string
	cmd := &cobra.Command{
		Use:   "abort NAME",
		Short: "Abort a rollout's current release with a signed commit",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := sc.inWorkingCopy(); err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("abort needs --reason")}
			}
			_, s, err := sc.find(cmd.Context(), name)
			if err != nil {
				return err
			}
			c := sc.command(policy.CommandAbort, name, s)
			c.Reason = reason
			return sc.commit(cmd, c, sc.subject(c), reason)
		},
	}
	sc.add(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the commit")
	return cmd
}

// newPause: pause the release, with an optional reason.
func newPause() *cobra.Command {
	sc := &signedCommand{verb: "pause"}
	var reason string
	cmd := &cobra.Command{
		Use:   "pause NAME",
		Short: "Pause a rollout's current release with a signed commit",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, s, err := sc.find(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			c := sc.command(policy.CommandPause, args[0], s)
			c.Reason = reason
			return sc.commit(cmd, c, sc.subject(c), reason)
		},
	}
	sc.add(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the commit")
	return cmd
}

// newResume: resume a paused release, or accept what holds it (a hand
// edit, a spec edit, drift), which takes a reason.
func newResume() *cobra.Command {
	sc := &signedCommand{verb: "resume"}
	var reason string
	cmd := &cobra.Command{
		Use:   "resume NAME",
		Short: "Resume a paused or held rollout with a signed commit",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, s, err := sc.find(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			c := sc.command(policy.CommandResume, args[0], s)
			c.Reason = reason
			return sc.commit(cmd, c, sc.subject(c), reason)
		},
	}
	sc.add(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why the hold is accepted (required to resume over a hand edit, a spec edit or drift), recorded as reason= in the trailer")
	return cmd
}

// git runs the user's git in dir with their environment and terminal.
func git(dir string, args ...string) error {
	c := exec.Command("git", args...)
	c.Dir = dir
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stderr, os.Stderr
	return c.Run()
}
