package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

// rolloutStatus is one rollout in `ramp status -o json|yaml`. It shares
// its field names and types with planOut (`ramp plan -o json|yaml`):
// name, release, step and steps (integers; 0 when no step is in
// progress), weight, reason, waitingFor, gates.
type rolloutStatus struct {
	Name       string              `json:"name"`
	Release    string              `json:"release"`
	Stable     string              `json:"stable"`
	Phase      string              `json:"phase"`
	Step       int                 `json:"step"`
	Steps      int                 `json:"steps"`
	Weight     int                 `json:"weight"`
	WaitingFor string              `json:"waitingFor,omitempty"`
	Reason     string              `json:"reason,omitempty"`
	Next       string              `json:"next,omitempty"`
	NextStep   string              `json:"nextCommand,omitempty"`
	Gates      []policy.GateResult `json:"gates,omitempty"`
	Invalid    string              `json:"invalid,omitempty"`
	// Unverified says, while guardrail requireSignedStart is off, that
	// separation of duties was not verified for the release and why:
	// commits of its start not signed by a trusted key (policy's note).
	Unverified string             `json:"separationOfDutiesUnverified,omitempty"`
	Rejected   []policy.Rejection `json:"rejected"`
	// Drift are the managed fields changed outside ramp's decisions
	// while no release was in flight, with ramp's value and theirs.
	Drift []policy.FieldDrift `json:"drift,omitempty"`
	// Wave is the wave of a target's row; Waves, on the row of a rollout
	// with targets, where each wave stands (waves.go).
	Wave  string              `json:"wave,omitempty"`
	Waves []policy.WaveStatus `json:"waves,omitempty"`
}

// stepText is "3/7", or "" when no step is in progress.
func stepText(step, steps int) string {
	if step == 0 || steps == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", step, steps)
}

func toStatus(o gitsync.Outcome) rolloutStatus {
	s, d := o.State, o.Decision
	st := rolloutStatus{Name: o.Rollout, Release: s.Release, Stable: s.Stable, Phase: string(s.Phase),
		Weight: s.LiveWeight(), WaitingFor: d.WaitingFor, Reason: d.Reason, Gates: d.Gates, Rejected: s.Rejected,
		NextStep: nextCommand(o), Drift: s.Drift}
	if s.InProgress() {
		st.Unverified = d.SeparationOfDuties
	}
	if st.Rejected == nil {
		st.Rejected = []policy.Rejection{}
	}
	if d.Steps > 0 && s.InProgress() || s.Phase == policy.PhaseAborted {
		st.Step, st.Steps = s.Step, d.Steps
	}
	if !d.Holds() {
		st.Next = string(d.Action)
	}
	if o.Invalid != nil {
		st.Phase, st.Invalid = "Invalid", o.Invalid.Error()
	}
	return st
}

// nextCommand is the command a person runs next for a rollout that holds
// on people: the approval it waits for, or a resume (or abort) over a
// hand edit, or a resume of a pause.
func nextCommand(o gitsync.Outcome) string {
	s, d := o.State, o.Decision
	if !d.Holds() || o.Invalid != nil {
		return ""
	}
	switch {
	case len(s.Holds) > 0 || s.Drifted():
		return fmt.Sprintf("ramp resume %s --reason \"…\"   (accept it)   or   ramp abort %s --reason \"…\"", o.Rollout, o.Rollout)
	case s.Phase == policy.PhasePaused:
		return "ramp resume " + o.Rollout
	case strings.Contains(d.WaitingFor, "approval") && s.Step > 0:
		return fmt.Sprintf("ramp approve %s --step %d", o.Rollout, s.Step)
	}
	return ""
}

func newStatus() *cobra.Command {
	var f repoFlags
	var ev evidenceFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every rollout's release, phase, step, weight and what it waits for",
		Long: "Derives every rollout's state from the release branch (a local clone, or a URL through a cached\n" +
			"clone), as ramp run would, and prints it with what each rollout waits for and the command a\n" +
			"person runs next. Trusted keys (--approvers, $RAMP_APPROVERS or the config file) are needed to\n" +
			"tell ramp's signed commits from hand edits.\n\n" +
			"Exit codes: 0 ok, 2 usage or environment error.",
		Example: "  ramp status\n" +
			"  ramp status --repo https://git.example.com/fleet.git --approvers ~/ramp/approvers\n" +
			"  ramp status -o yaml",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			outcomes, err := dryRun(cmd, &f, &ev)
			if err != nil {
				return err
			}
			var out []rolloutStatus
			for _, o := range outcomes {
				out = append(out, statusRows(o)...)
			}
			if f.approvers == "" && trustMatters(outcomes) {
				fmt.Fprintf(cmd.ErrOrStderr(), "ramp: %s\n\n", noTrustedKeys())
			}
			if f.structured() {
				return f.write(cmd.OutOrStdout(), out)
			}
			printStatus(cmd.OutOrStdout(), out)
			return nil
		},
	}
	f.add(cmd)
	ev.add(cmd)
	return cmd
}

func newPlan() *cobra.Command {
	var f repoFlags
	var ev evidenceFlags
	cmd := &cobra.Command{
		Use:   "plan [NAME]",
		Short: "Show what ramp would do next for each rollout, and why",
		Long: "Derives every rollout's state from the release branch, gathers gate evidence and prints the\n" +
			"planner's decision without committing anything: the action (or hold), the step, the weight, the\n" +
			"reason, and the command a person runs next when the rollout waits for one.\n\n" +
			"Exit codes: 0 ok, 2 usage or environment error (no such rollout, repository unreadable).",
		Example: "  ramp plan\n" +
			"  ramp plan demo --approvers ~/ramp/approvers --prometheus http://127.0.0.1:9090\n" +
			"  ramp plan demo -o json",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeRollouts,
		RunE: func(cmd *cobra.Command, args []string) error {
			outcomes, err := dryRun(cmd, &f, &ev)
			if err != nil {
				return err
			}
			var out []planOut
			for _, o := range outcomes {
				if len(args) == 1 && o.Rollout != args[0] {
					continue
				}
				out = append(out, toPlan(o))
			}
			if len(args) == 1 && len(out) == 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("no rollout %q in %s", args[0], f.repo)}
			}
			if f.approvers == "" && trustMatters(outcomes) {
				fmt.Fprintf(cmd.ErrOrStderr(), "ramp: %s\n\n", noTrustedKeys())
			}
			if f.structured() {
				return f.write(cmd.OutOrStdout(), out)
			}
			for _, p := range out {
				printPlan(cmd.OutOrStdout(), p)
			}
			return nil
		},
	}
	f.add(cmd)
	ev.add(cmd)
	return cmd
}

// planOut is one rollout in `ramp plan -o json|yaml`: what ramp would do
// next. Action is "hold" when it would make no commit; wake is omitted
// unless a hold ends by time.
type planOut struct {
	Name        string               `json:"name"`
	Release     string               `json:"release"`
	Action      string               `json:"action"`
	Step        int                  `json:"step"`
	Steps       int                  `json:"steps"`
	Weight      int                  `json:"weight"`
	Reason      string               `json:"reason"`
	WaitingFor  string               `json:"waitingFor,omitempty"`
	NextCommand string               `json:"nextCommand,omitempty"`
	Wake        *time.Time           `json:"wake,omitempty"`
	SetStable   string               `json:"setStable,omitempty"`
	SetRelease  string               `json:"setRelease,omitempty"`
	Gates       []policy.GateResult  `json:"gates,omitempty"`
	Approved    []policy.ApprovalRef `json:"approved,omitempty"`
	Exposure    policy.Exposure      `json:"exposure,omitzero"`
	Shadow      *policy.ShadowRecord `json:"shadow,omitempty"`
}

func toPlan(o gitsync.Outcome) planOut {
	d := o.Decision
	p := planOut{Name: o.Rollout, Release: orDash(d.Release, o.State.Release), Action: string(d.Action), Step: d.Step, Steps: d.Steps,
		Weight: d.Weight, Reason: d.Reason, WaitingFor: d.WaitingFor, NextCommand: nextCommand(o), SetStable: d.SetStable,
		SetRelease: d.SetRelease, Gates: d.Gates, Approved: d.Approved, Exposure: d.Exposure, Shadow: d.Shadow}
	if d.Holds() {
		p.Action, p.Weight = "hold", o.State.LiveWeight()
		p.Step = o.State.Step
	}
	if !d.Wake.IsZero() {
		w := d.Wake.UTC()
		p.Wake = &w
	}
	if p.Release == "-" {
		p.Release = ""
	}
	return p
}

// trustMatters reports whether missing trusted keys change what status
// and plan show: a rollout has a release in flight, holds, or commits
// whose signatures did not verify.
func trustMatters(outcomes []gitsync.Outcome) bool {
	for _, o := range outcomes {
		s := o.State
		if s.InProgress() || len(s.Holds) > 0 || len(s.Rejected) > 0 || s.Drifted() {
			return true
		}
	}
	return false
}

// dryRun derives and plans without committing.
func dryRun(cmd *cobra.Command, f *repoFlags, ev *evidenceFlags) ([]gitsync.Outcome, error) {
	evf, err := ev.build()
	if err != nil {
		return nil, err
	}
	loop, err := f.loop(cmd.Context(), gitsync.Config{Evidence: evf, WaveEvidence: ev.waves(), DryRun: true}, nil)
	if err != nil {
		return nil, err
	}
	res, err := loop.Pass(cmd.Context())
	return res.Outcomes, err
}

func printStatus(w io.Writer, out []rolloutStatus) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLLOUT\tRELEASE\tSTABLE\tPHASE\tSTEP\tWEIGHT\tNEXT\tWAITING FOR")
	for _, s := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d%%\t%s\t%s\n", s.Name, s.Release, s.Stable, s.Phase, orDash(stepText(s.Step, s.Steps)), s.Weight, orDash(s.Next), orDash(s.WaitingFor))
	}
	tw.Flush()
	for _, s := range out {
		if s.Invalid != "" {
			fmt.Fprintf(w, "\n%s: invalid spec:\n  %s\n", s.Name, strings.ReplaceAll(s.Invalid, "\n", "\n  "))
		}
		if s.Reason != "" && s.WaitingFor != "" {
			fmt.Fprintf(w, "\n%s: %s\n", s.Name, s.Reason)
		}
		if s.NextStep != "" {
			fmt.Fprintf(w, "%s: next: %s\n", s.Name, s.NextStep)
		}
		if s.Unverified != "" {
			fmt.Fprintf(w, "%s: %s\n", s.Name, s.Unverified)
		}
		for _, d := range s.Drift {
			fmt.Fprintf(w, "%s: drift: the %s field %s %s holds %s, ramp's value is %s (commit %.10s)\n", s.Name, d.Field, d.File, d.Path, orNone(d.New), orNone(d.Old), d.Commit)
		}
		for _, g := range s.Gates {
			fmt.Fprintf(w, "%s: gate %s\n", s.Name, gateLine(g))
		}
		for _, r := range s.Rejected {
			fmt.Fprintf(w, "%s: rejected %s in commit %.10s by %s: %s\n", s.Name, commandName(r.Command), r.Commit, r.Author, r.Reason)
		}
	}
}

func printPlan(w io.Writer, p planOut) {
	if p.Action == "hold" {
		fmt.Fprintf(w, "%s: hold", p.Name)
		if p.WaitingFor != "" {
			fmt.Fprintf(w, " (waiting for %s)", p.WaitingFor)
		}
		fmt.Fprintf(w, ": %s\n", p.Reason)
	} else {
		fmt.Fprintf(w, "%s: %s", p.Name, p.Action)
		if p.Step > 0 {
			fmt.Fprintf(w, " step %d/%d", p.Step, p.Steps)
		}
		fmt.Fprintf(w, " weight %d%%: %s\n", p.Weight, p.Reason)
	}
	for _, g := range p.Gates {
		fmt.Fprintf(w, "  gate %s\n", gateLine(g))
	}
	if p.NextCommand != "" {
		fmt.Fprintf(w, "  next: %s\n", p.NextCommand)
	}
}

// gateLine renders one gate result: name, verdict, value against bound.
func gateLine(g policy.GateResult) string {
	verdict := string(g.Verdict)
	if g.Measuring() {
		verdict = "measuring" // passing so far: not inconclusive
	}
	s := fmt.Sprintf("%s: %s", g.Name, verdict)
	if g.Scope != "" {
		s = g.Scope + " " + s
	}
	if broke := policy.BrokenBound(g); g.Verdict == policy.Fail && broke != "" {
		// The value once, rounded, against the bound it broke.
		s += " " + broke
		if g.Samples > 0 {
			s += fmt.Sprintf(" samples=%.0f", g.Samples)
		}
		if m := failedCountRe.FindString(g.Reason); m != "" {
			s += " (" + m + ")"
		}
		return s
	}
	if g.HasValue {
		s += fmt.Sprintf(" value=%.4g", g.Value)
	}
	if g.Bound != "" {
		s += " bound " + g.Bound
	}
	if g.HasBaseline {
		s += fmt.Sprintf(" stable=%.4g", g.Baseline)
	}
	if g.Samples > 0 {
		s += fmt.Sprintf(" samples=%.0f", g.Samples)
	}
	if g.Reason != "" {
		s += " (" + g.Reason + ")"
	}
	return s
}

// failedCountRe finds "1 of 3 measurements failed" in a failed gate's reason.
var failedCountRe = regexp.MustCompile(`\d+ of \d+ measurements failed`)

func commandName(c *policy.Command) string {
	if c == nil {
		return "commit"
	}
	return whatText(string(c.Kind))
}

func orDash(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return "-"
}
