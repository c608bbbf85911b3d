package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/trailer"
)

// newCommand builds approve, abort, pause and resume: each makes an empty
// commit carrying one command trailer, signed by the user's own git
// (`git commit -S`, so their gpg or ssh signing configuration applies).
func newCommand(verb, short string) *cobra.Command {
	var f repoFlags
	var release, reason string
	var step int
	var push bool
	cmd := &cobra.Command{
		Use:   verb + " NAME",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if isURL(f.repo) {
				return &exitError{code: exitUsage, err: fmt.Errorf("%s commits in your working copy: --repo must be a directory", verb)}
			}
			if verb == "abort" && strings.TrimSpace(reason) == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("abort needs --reason")}
			}
			repo, d, err := f.deriver(cmd.Context())
			if err != nil {
				return err
			}
			tip, err := repo.Tip()
			if err != nil {
				return err
			}
			snap, err := d.Derive(tip)
			if err != nil {
				return err
			}
			r, ok := snap.Rollouts[name]
			if !ok {
				if bad := snap.Invalid[name]; bad != nil {
					return findings("rollout %s has an invalid spec: %v", name, bad)
				}
				return &exitError{code: exitUsage, err: fmt.Errorf("no rollout %q at %s of %s", name, f.branch, f.repo)}
			}
			s := snap.States[name]
			if release == "" {
				release = s.Release
			}
			c := policy.Command{Rollout: name, Release: release}
			subject := fmt.Sprintf("%s %s %s", verb, name, release)
			switch verb {
			case "approve":
				c.Kind = policy.CommandApprove
				if step == 0 {
					step = s.Step
				}
				if step == 0 {
					return &exitError{code: exitUsage, err: fmt.Errorf("%s has no step in progress (phase %s, as far as the keys in --approvers verify ramp's commits); name one with --step", name, s.Phase)}
				}
				if step < 0 || step > len(r.Steps()) {
					return &exitError{code: exitUsage, err: fmt.Errorf("--step %d: %s has %d steps", step, name, len(r.Steps()))}
				}
				c.Step = step
				subject += fmt.Sprintf(" step %d/%d", step, len(r.Steps()))
			case "abort":
				c.Kind, c.Reason = policy.CommandAbort, reason
			case "pause":
				c.Kind = policy.CommandPause
			case "resume":
				c.Kind = policy.CommandResume
			}
			t := trailer.ForCommand(c)
			gitArgs := []string{"commit", "-S", "--allow-empty", "-m", subject}
			if reason != "" {
				gitArgs = append(gitArgs, "-m", reason)
			}
			gitArgs = append(gitArgs, "--trailer", t.Key+": "+t.Value)
			if err := git(f.repo, gitArgs...); err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("git commit -S failed (is a signing key configured? see `git config user.signingkey`): %w", err)}
			}
			if push {
				if err := git(f.repo, "push", "origin", "HEAD:refs/heads/"+f.branch); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("git push: %w", err)}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "committed %s: %s: %s\n", verb, t.Key, t.Value)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&release, "release", "", "release the command is for (default: the rollout's current release)")
	cmd.Flags().BoolVar(&push, "push", false, "push the commit to origin after making it")
	if verb == "approve" {
		cmd.Flags().IntVar(&step, "step", 0, "1-based step to approve (default: the current step)")
	}
	if verb == "abort" || verb == "pause" {
		cmd.Flags().StringVar(&reason, "reason", "", "why, recorded in the commit")
	}
	return cmd
}

// git runs the user's git in dir with their environment and terminal.
func git(dir string, args ...string) error {
	c := exec.Command("git", args...)
	c.Dir = dir
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stderr, os.Stderr
	return c.Run()
}
