package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/signing"
)

func newRun() *cobra.Command {
	var f repoFlags
	var ev evidenceFlags
	var once bool
	var interval time.Duration
	var signingKey, identity string
	var signedTip bool
	var concurrency, cloneDepth, checkpointEvery int
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run ramp's loop without Kubernetes: fetch, derive, gather evidence, plan, commit, push",
		Long: "Runs the operator's loop against a release repository (a local clone, or a URL through a\n" +
			"cached clone) without Kubernetes: each pass fetches, derives every rollout's state, gathers gate\n" +
			"evidence from Prometheus, plans and commits the next step signed with --signing-key. It prints\n" +
			"one line per commit it makes, and a hold's reason only when it changes, with the command a\n" +
			"person runs next.\n\n" +
			"Exit codes: 0 stopped (SIGINT/SIGTERM) or --once done, 2 usage or environment error (with --once:\n" +
			"the pass failed).",
		Example: "  ramp run --repo . --signing-key ramp-key --approvers ../approvers --prometheus http://127.0.0.1:9090\n" +
			"  ramp run --once --repo https://git.example.com/fleet.git --signing-key ramp-key",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if concurrency < 1 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--concurrency %d: want 1 or more (how many rollouts' evidence a pass gathers at once)", concurrency)}
			}
			if cloneDepth < 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--clone-depth %d: want 0 (the whole history) or more (how many of the newest commits the first clone of a URL fetches)", cloneDepth)}
			}
			f.depth, f.full = cloneDepth, cloneDepth == 0
			if signingKey == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("--signing-key is required: ramp signs every commit it makes")}
			}
			signer, err := signing.LoadSigner(signingKey, []byte(os.Getenv("RAMP_SIGNING_PASSPHRASE")))
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			id, err := parseIdentity(identity)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			evf, err := ev.build()
			if err != nil {
				return err
			}
			loop, err := f.loop(ctx, gitsync.Config{
				Signer: signer, Identity: id, Evidence: evf, WaveEvidence: ev.waves(), RequireSignedTip: signedTip,
				Concurrency: concurrency, CheckpointEvery: checkpointEvery,
			}, signer)
			if err != nil {
				return err
			}
			rep := &reporter{w: cmd.OutOrStdout(), last: map[string]string{}}
			for {
				res, err := loop.Pass(ctx)
				if err != nil {
					if once || ctx.Err() != nil {
						return &exitError{code: exitUsage, err: err}
					}
					fmt.Fprintf(cmd.ErrOrStderr(), "%s pass failed: %v\n", time.Now().UTC().Format(time.TimeOnly), err)
				}
				if !res.Checkpoint.IsZero() {
					fmt.Fprintf(cmd.OutOrStdout(), "%s checkpoint of aborted rollouts (commit %.10s)\n", time.Now().UTC().Format(time.TimeOnly), res.Checkpoint.String())
				}
				wake := rep.report(res.Outcomes)
				if once {
					return nil
				}
				sleep := interval
				if !wake.IsZero() && time.Until(wake) < sleep {
					sleep = max(time.Until(wake), 100*time.Millisecond)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(sleep):
				}
			}
		},
	}
	f.addFlags(cmd, readFlags) // no -o: run prints a log of what it did, one line per decision
	ev.add(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&once, "once", false, "run one pass and exit")
	fl.DurationVar(&interval, "interval", 30*time.Second, "time between passes")
	fl.StringVar(&signingKey, "signing-key", "", "ramp's signing key: an OpenSSH or armored OpenPGP private key (passphrase from $RAMP_SIGNING_PASSPHRASE)")
	fl.BoolVar(&signedTip, "require-signed-tip", false, "commit only on a branch tip signed by a key in --approvers (set it when Flux verifies HEAD: put the engineers' keys in a group too)")
	fl.IntVar(&concurrency, "concurrency", 8, "how many rollouts' evidence (Prometheus queries, webhook gates) a pass gathers at once")
	fl.IntVar(&cloneDepth, "clone-depth", shallowDepth, "how many of the newest commits the first clone of a URL fetches; a walk that needs older history deepens it on demand; 0 clones the whole history")
	fl.IntVar(&checkpointEvery, "checkpoint-every", gitsync.DefaultCheckpointEvery, "write a signed checkpoint commit for an aborted rollout once its abort lies this many commits below the tip, so a derive from scratch stops there (0: never)")
	fl.StringVar(&identity, "identity", "ramp <ramp@localhost>", "author and committer of ramp's commits")
	return cmd
}

// parseIdentity reads "Name <email>".
func parseIdentity(s string) (gitsync.Identity, error) {
	name, rest, ok := strings.Cut(s, "<")
	email, _, ok2 := strings.Cut(rest, ">")
	if !ok || !ok2 || strings.TrimSpace(email) == "" {
		return gitsync.Identity{}, fmt.Errorf("--identity %q: want \"Name <email>\"", s)
	}
	return gitsync.Identity{Name: strings.TrimSpace(name), Email: strings.TrimSpace(email)}, nil
}

// reporter prints one line per commit ramp made, and a hold's reason
// only when it changes.
type reporter struct {
	w    io.Writer
	last map[string]string
}

// report prints the outcomes and returns the earliest wake-up time asked for.
func (r *reporter) report(outcomes []gitsync.Outcome) time.Time {
	var wake time.Time
	now := time.Now().UTC().Format(time.TimeOnly)
	for _, o := range outcomes {
		d := o.Decision
		if !d.Wake.IsZero() && (wake.IsZero() || d.Wake.Before(wake)) {
			wake = d.Wake
		}
		var line string
		if d.Holds() {
			line = fmt.Sprintf("%s %s: hold: %s", o.Rollout, orDash(o.State.Release), d.Reason)
			if d.WaitingFor != "" {
				line += " [waiting for " + d.WaitingFor + "]"
			}
			if r.last[o.Rollout] == line {
				continue
			}
		} else {
			line = fmt.Sprintf("%s %s: %s", o.Rollout, d.Release, d.Action)
			if d.Step > 0 {
				line += fmt.Sprintf(" step %d/%d", d.Step, d.Steps)
			}
			line += fmt.Sprintf(" weight %d%%: %s", d.Weight, d.Reason)
			if !o.Commit.IsZero() {
				line += fmt.Sprintf(" (commit %.10s)", o.Commit.String())
			}
		}
		r.last[o.Rollout] = line
		fmt.Fprintf(r.w, "%s %s\n", now, line)
		for _, g := range d.Gates {
			fmt.Fprintf(r.w, "%s   gate %s\n", now, gateLine(g))
		}
		if next := nextCommand(o); next != "" {
			fmt.Fprintf(r.w, "%s   next: %s\n", now, next)
		}
	}
	return wake
}
