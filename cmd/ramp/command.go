package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/trailer"
)

// signedCommand is what approve, abort, pause and resume share: each
// makes a commit carrying one command trailer and nothing else (its tree
// is its parent's, whatever the index holds: a staged change stays
// staged), signed by the user's own git (`git commit-tree -S`, so their
// gpg or ssh signing configuration applies), in their working copy, and
// pushes it when asked.
type signedCommand struct {
	verb string
	repoFlags
	release string
	push    bool
	force   bool
	// tip is the release branch's tip find derived the state at.
	tip string
}

func (sc *signedCommand) add(cmd *cobra.Command) {
	sc.repoFlags.addFlags(cmd, commandFlags)
	sc.outputFlag.add(cmd)
	cmd.Flags().StringVar(&sc.release, "release", "", "release the command is for (default: the rollout's current release)")
	cmd.Flags().BoolVar(&sc.push, "push", false, "push the commit to origin after making it")
	cmd.ValidArgsFunction = sc.completeRollouts
	_ = cmd.RegisterFlagCompletionFunc("release", completeReleases)
}

// inWorkingCopy refuses a URL for --repo: the commit is made in a clone.
func (sc *signedCommand) inWorkingCopy() error {
	if isURL(sc.repo) {
		return &exitError{code: exitUsage, err: fmt.Errorf("%s commits in your working copy: --repo must be a directory", sc.verb)}
	}
	return nil
}

// target is the rollout a command is for, as the tip of the branch has it.
// For one target of a rollout with targets (NAME/TARGET) rollout is the
// target's own rollout (Rollout.ForTarget) and state its state; for a
// rollout with targets, fleet is its state and state.Release the release
// its waves carry.
type target struct {
	rollout *policy.Rollout
	state   policy.State
	fleet   *policy.FleetState
	repo    *gitsync.Repo
}

// find returns the rollout name at the tip of the branch and its state,
// after checking that --repo is a working copy.
func (sc *signedCommand) find(ctx context.Context, name string) (target, error) {
	if err := sc.inWorkingCopy(); err != nil {
		return target{}, err
	}
	repo, d, err := sc.deriver(ctx)
	if err != nil {
		return target{}, err
	}
	tip, err := repo.Tip()
	if err != nil {
		return target{}, err
	}
	sc.tip = tip.String()
	snap, err := d.Derive(tip)
	if err != nil {
		return target{}, err
	}
	if parent, t := policy.SplitTarget(name); t != "" {
		return sc.findTarget(snap, repo, parent, t)
	}
	r, ok := snap.Rollouts[name]
	if !ok {
		if bad := snap.Invalid[name]; bad != nil {
			return target{}, findings("rollout %s has an invalid spec: %v", name, bad)
		}
		return target{}, &exitError{code: exitUsage, err: fmt.Errorf("no rollout %q at %s of %s", name, sc.branch, sc.repo)}
	}
	if r.HasTargets() {
		if sc.commandsRef != "" {
			return target{}, &exitError{code: exitUsage, err: fmt.Errorf("rollout %s has targets: ramp does not read the commands branch for it; commit on %s without --commands-ref", name, sc.branch)}
		}
		fs := snap.Fleets[name]
		return target{rollout: r, state: policy.State{Rollout: name, Release: fs.Release}, fleet: &fs, repo: repo}, nil
	}
	state := snap.States[name]
	if sc.commandsRef != "" {
		// The commands already on the commands ref count too: ramp reads
		// them after the release branch.
		ctip, err := repo.FetchCommands(ctx, sc.commandsRef)
		if err != nil {
			return target{}, err
		}
		if !ctip.IsZero() {
			since, _ := history.CommandsSince(snap)
			recs, err := d.Commands(ctip, tip, since)
			if err != nil {
				return target{}, err
			}
			state = d.WithCommands(snap, recs)[name]
		}
	}
	return target{rollout: r, state: state, repo: repo}, nil
}

// findTarget is find for target t of rollout parent (NAME/TARGET): the
// target's own rollout and its state.
func (sc *signedCommand) findTarget(snap *history.Snapshot, repo *gitsync.Repo, parent, t string) (target, error) {
	name := policy.TargetRollout(parent, t)
	r, ok := snap.Rollouts[parent]
	if !ok {
		if bad := snap.Invalid[parent]; bad != nil {
			return target{}, findings("rollout %s has an invalid spec: %v", parent, bad)
		}
		return target{}, &exitError{code: exitUsage, err: fmt.Errorf("no rollout %q at %s of %s", parent, sc.branch, sc.repo)}
	}
	sub := r.ForTarget(t)
	if !r.HasTargets() || sub == nil {
		return target{}, &exitError{code: exitUsage, err: fmt.Errorf("rollout %s has no target %q (%s)", parent, t, targetNames(r))}
	}
	if sc.commandsRef != "" {
		return target{}, &exitError{code: exitUsage, err: fmt.Errorf("rollout %s has targets: ramp does not read the commands branch for it; commit on %s without --commands-ref", parent, sc.branch)}
	}
	return target{rollout: sub, state: snap.States[name], repo: repo}, nil
}

// targetNames lists the NAME/TARGET names of r's targets, or says it has none.
func targetNames(r *policy.Rollout) string {
	if !r.HasTargets() {
		return "it has no targets"
	}
	var names []string
	for _, t := range r.Spec.Targets {
		names = append(names, policy.TargetRollout(r.Name(), t.Name))
	}
	return "its targets: " + strings.Join(names, ", ")
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

// commandResult is what a command commit printed with -o json or yaml.
type commandResult struct {
	Command policy.Command `json:"command"`
	Commit  string         `json:"commit"`
	Ref     string         `json:"ref"`
	Trailer string         `json:"trailer"`
	Pushed  bool           `json:"pushed"`
}

// commit makes the signed commit with subject, body (when set) and c as
// its trailer on top of HEAD (with --commands-ref: on top of that
// branch, merging the release branch's tip when the branch does not hold
// it), lets check refuse it before any ref moves (unless --force),
// moves the ref, pushes it when --push is set and says what it committed.
func (sc *signedCommand) commit(cmd *cobra.Command, c policy.Command, subject, body string, check func(sha string) error) error {
	t := trailer.ForCommand(c)
	ref, parent := "HEAD", ""
	if sc.commandsRef != "" {
		ref = "refs/heads/" + sc.commandsRef
		tracking := "refs/remotes/origin/" + sc.commandsRef
		parent = "HEAD"
		if _, err := gitOutput(sc.repo, "fetch", "-q", "origin", "+"+ref+":"+tracking); err == nil {
			parent = tracking
		} else if _, err := gitOutput(sc.repo, "rev-parse", "-q", "--verify", ref); err == nil {
			parent = ref
		}
	}
	if parent == "" {
		parent = "HEAD"
	}
	parentSHA, err := gitOutput(sc.repo, "rev-parse", "--verify", parent+"^{commit}")
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("git rev-parse %s: %w", parent, err)}
	}
	msg := subject + "\n"
	if body != "" {
		msg += "\n" + body + "\n"
	}
	msg = trailer.Append(msg, []trailer.Trailer{t})
	parents := []string{"-p", parentSHA}
	if sc.commandsRef != "" && sc.tip != "" && sc.tip != parentSHA {
		if _, err := gitOutput(sc.repo, "merge-base", "--is-ancestor", sc.tip, parentSHA); err != nil {
			// A command counts only where its commit descends from the
			// release's start and the step in progress: on a commands ref
			// that does not hold the release branch's tip, the command's
			// commit merges it.
			parents = append(parents, "-p", sc.tip)
		}
	}
	// The parent's tree, not the index: the commit holds the trailer and nothing else.
	args := append([]string{"commit-tree", "-S"}, parents...)
	sha, err := gitOutput(sc.repo, append(args, "-m", strings.TrimRight(msg, "\n"), parentSHA+"^{tree}")...)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("git commit-tree -S failed (is a signing key configured? see `git config user.signingkey`): %w", err)}
	}
	if check != nil && !sc.force {
		if err := check(sha); err != nil {
			return err
		}
	}
	old := parentSHA
	if ref != "HEAD" && parent != ref {
		old = "" // the local branch may be anywhere, or absent: it follows origin's
	}
	args = []string{"update-ref", "-m", "ramp " + sc.verb, ref, sha}
	if old != "" {
		args = append(args, old)
	}
	if _, err := gitOutput(sc.repo, args...); err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("git update-ref %s: %w", ref, err)}
	}
	dest := "refs/heads/" + sc.branch
	if sc.commandsRef != "" {
		dest = ref
	}
	if sc.push {
		if err := git(sc.repo, "push", "origin", sha+":"+dest); err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("git push to %s: %w", dest, err)}
		}
	}
	if sc.structured() {
		return sc.write(cmd.OutOrStdout(), commandResult{Command: c, Commit: sha, Ref: dest, Trailer: t.Key + ": " + t.Value, Pushed: sc.push})
	}
	if sc.commandsRef != "" {
		fmt.Fprintf(cmd.OutOrStdout(), "committed %s on %s (%.10s): %s: %s\n", sc.verb, sc.commandsRef, sha, t.Key, t.Value)
	} else {
		fmt.Fprintf(cmd.OutOrStdout(), "committed %s (%.10s): %s: %s\n", sc.verb, sha, t.Key, t.Value)
	}
	if !sc.push {
		fmt.Fprintf(cmd.OutOrStdout(), "next: git push origin %s (or run with --push)\n", strings.TrimPrefix(dest, "refs/heads/"))
	}
	return nil
}

// gitOutput runs the user's git in dir and returns what it printed,
// trimmed; its errors go to stderr, and it reads the terminal (a
// passphrase prompt of the signing key).
func gitOutput(dir string, args ...string) (string, error) {
	c := exec.Command("git", args...)
	c.Dir = dir
	c.Stdin, c.Stderr = os.Stdin, os.Stderr
	out, err := c.Output()
	return strings.TrimSpace(string(out)), err
}

// trustNote explains a state derived without trusted keys.
func (sc *signedCommand) trustNote() string {
	if sc.approvers != "" {
		return ", as far as the keys in " + sc.approvers + " verify ramp's commits"
	}
	return "; no trusted keys are configured, so none of ramp's commits verify: set --approvers, $RAMP_APPROVERS or " + configHint()
}

// newAbort: abort the release, with a reason.
func newAbort() *cobra.Command {
	sc := &signedCommand{verb: "abort"}
	var reason string
	cmd := &cobra.Command{
		Use:   "abort NAME",
		Short: "Abort a rollout's current release with a signed commit",
		Long: "Makes a commit holding nothing but a Ramp-Abort trailer with the reason, signed by your git's\n" +
			"signing key. ramp then sends all traffic back to stable.\n\n" +
			"Exit codes: 0 committed, 1 refused, 2 usage or environment error.",
		Example: "  ramp abort demo --reason \"p99 regression on /v2/search\" --push",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := sc.check(); err != nil {
				return err
			}
			if err := sc.inWorkingCopy(); err != nil {
				return err
			}
			if strings.TrimSpace(reason) == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("abort needs --reason")}
			}
			tg, err := sc.find(cmd.Context(), name)
			if err != nil {
				return err
			}
			c := sc.command(policy.CommandAbort, name, tg.state)
			c.Reason = reason
			return sc.commit(cmd, c, sc.subject(c), reason, nil)
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
		Long: "Makes a commit holding nothing but a Ramp-Pause trailer, signed by your git's signing key.\n" +
			"`ramp resume NAME` continues.\n\n" +
			"Exit codes: 0 committed, 1 refused, 2 usage or environment error.",
		Example: "  ramp pause demo --reason \"checking the dashboards first\" --push",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sc.check(); err != nil {
				return err
			}
			tg, err := sc.find(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := refusePerTarget("pause", tg, args[0]); err != nil {
				return err
			}
			c := sc.command(policy.CommandPause, args[0], tg.state)
			c.Reason = reason
			return sc.commit(cmd, c, sc.subject(c), reason, nil)
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
		Long: "Makes a commit holding nothing but a Ramp-Resume trailer, signed by your git's signing key.\n" +
			"Over a hold on a hand edit of the traffic target it accepts the edit: the weight the file holds\n" +
			"becomes the rollout's weight and ramp continues from it (the next step writes its own weight).\n" +
			"Over a spec edit it accepts the new spec. The reason is recorded in the trailer.\n\n" +
			"Exit codes: 0 committed, 1 refused, 2 usage or environment error.",
		Example: "  ramp resume demo --push\n" +
			"  ramp resume demo --reason \"hand edit reviewed: 40% was intended\" --push",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sc.check(); err != nil {
				return err
			}
			tg, err := sc.find(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if err := refusePerTarget("resume", tg, args[0]); err != nil {
				return err
			}
			c := sc.command(policy.CommandResume, args[0], tg.state)
			c.Reason = reason
			return sc.commit(cmd, c, sc.subject(c), resumeBody(tg.rollout, tg.state, reason), nil)
		},
	}
	sc.add(cmd)
	cmd.Flags().StringVar(&reason, "reason", "", "why the hold is accepted (required to resume over a hand edit, a spec edit or drift), recorded as reason= in the trailer")
	return cmd
}

// resumeBody is the resume commit's message body: the reason, and what
// the resume does to what holds the rollout. A hand edit of the traffic
// target during a release is not taken over: ramp's weights stay
// authoritative and its next commit writes its own weight back (the
// edit's other changes to the file stay). A weight changed while no
// release is in flight (drift) is accepted: it becomes ramp's weight.
func resumeBody(r *policy.Rollout, s policy.State, reason string) string {
	var lines []string
	if reason != "" {
		lines = append(lines, reason)
	}
	for _, h := range s.Holds {
		lines = append(lines, "Resumes over: "+h.Reason+".")
	}
	for _, d := range s.Drift {
		lines = append(lines, fmt.Sprintf("Accepts the %s field %s %s at %s as ramp's (it was %s).", d.Field, d.File, d.Path, orNone(d.New), orNone(d.Old)))
	}
	switch {
	case s.DriftWeight != nil:
		lines = append(lines, fmt.Sprintf("Accepts the hand-set canary weight %d%% in %s as ramp's weight (it was %d%%).", *s.DriftWeight, r.TargetFile(), s.Weight))
	case s.Drifted():
	case len(s.Holds) > 0:
		lines = append(lines, fmt.Sprintf("The release continues on ramp's weights: ramp's next commit writes its own canary weight (now %d%%) into %s over any hand-set weight; other edits to the file stay.", s.Weight, r.TargetFile()))
	}
	return strings.Join(lines, "\n\n")
}

func orNone(v string) string {
	if v == "" {
		return "none"
	}
	return v
}

// git runs the user's git in dir with their environment and terminal.
func git(dir string, args ...string) error {
	c := exec.Command("git", args...)
	c.Dir = dir
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stderr, os.Stderr
	return c.Run()
}
