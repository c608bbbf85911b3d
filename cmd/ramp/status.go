package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

// rolloutStatus is one rollout in `ramp status -o json`.
type rolloutStatus struct {
	Name       string              `json:"name"`
	Release    string              `json:"release"`
	Stable     string              `json:"stable"`
	Phase      string              `json:"phase"`
	Step       string              `json:"step"`
	Weight     int                 `json:"weight"`
	WaitingFor string              `json:"waitingFor,omitempty"`
	Reason     string              `json:"reason,omitempty"`
	Next       string              `json:"next,omitempty"`
	Gates      []policy.GateResult `json:"gates,omitempty"`
	Invalid    string              `json:"invalid,omitempty"`
	// Unverified says why separation of duties cannot be verified for
	// the release: commits of its start not signed by a trusted key.
	Unverified string             `json:"separationOfDutiesUnverified,omitempty"`
	Rejected   []policy.Rejection `json:"rejected"`
	// Wave is the wave of a target's row; Waves, on the row of a rollout
	// with targets, where each wave stands (waves.go).
	Wave  string              `json:"wave,omitempty"`
	Waves []policy.WaveStatus `json:"waves,omitempty"`
}

func toStatus(o gitsync.Outcome) rolloutStatus {
	s, d := o.State, o.Decision
	st := rolloutStatus{Name: o.Rollout, Release: s.Release, Stable: s.Stable, Phase: string(s.Phase),
		Weight: s.LiveWeight(), WaitingFor: d.WaitingFor, Reason: d.Reason, Gates: d.Gates, Rejected: s.Rejected}
	if s.InProgress() {
		st.Unverified = s.StartUnverified
	}
	if st.Rejected == nil {
		st.Rejected = []policy.Rejection{}
	}
	if d.Steps > 0 && s.InProgress() || s.Phase == policy.PhaseAborted {
		st.Step = fmt.Sprintf("%d/%d", s.Step, d.Steps)
	}
	if !d.Holds() {
		st.Next = string(d.Action)
	}
	if o.Invalid != nil {
		st.Phase, st.Invalid = "Invalid", o.Invalid.Error()
	}
	return st
}

func newStatus() *cobra.Command {
	var f repoFlags
	var ev evidenceFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every rollout's release, phase, step, weight and what it waits for",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			outcomes, err := dryRun(cmd, &f, &ev)
			if err != nil {
				return err
			}
			var out []rolloutStatus
			for _, o := range outcomes {
				out = append(out, statusRows(o)...)
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), out)
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
		Args:  cobra.MaximumNArgs(1),
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
				out = append(out, planOut{Rollout: o.Rollout, Decision: o.Decision})
			}
			if len(args) == 1 && len(out) == 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("no rollout %q in %s", args[0], f.repo)}
			}
			if f.output == "json" {
				return writeJSON(cmd.OutOrStdout(), out)
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

type planOut struct {
	Rollout  string          `json:"rollout"`
	Decision policy.Decision `json:"decision"`
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
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d%%\t%s\t%s\n", s.Name, s.Release, s.Stable, s.Phase, orDash(s.Step), s.Weight, orDash(s.Next), orDash(s.WaitingFor))
	}
	tw.Flush()
	for _, s := range out {
		if s.Invalid != "" {
			fmt.Fprintf(w, "\n%s: invalid spec:\n  %s\n", s.Name, strings.ReplaceAll(s.Invalid, "\n", "\n  "))
		}
		if s.Reason != "" && s.WaitingFor != "" {
			fmt.Fprintf(w, "\n%s: %s\n", s.Name, s.Reason)
		}
		if s.Unverified != "" {
			fmt.Fprintf(w, "%s: separation of duties cannot be verified: %s\n", s.Name, s.Unverified)
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
	d := p.Decision
	if d.Holds() {
		fmt.Fprintf(w, "%s: hold", p.Rollout)
		if d.WaitingFor != "" {
			fmt.Fprintf(w, " (waiting for %s)", d.WaitingFor)
		}
		fmt.Fprintf(w, ": %s\n", d.Reason)
	} else {
		fmt.Fprintf(w, "%s: %s", p.Rollout, d.Action)
		if d.Step > 0 {
			fmt.Fprintf(w, " step %d/%d", d.Step, d.Steps)
		}
		fmt.Fprintf(w, " weight %d%%: %s\n", d.Weight, d.Reason)
	}
	for _, g := range d.Gates {
		fmt.Fprintf(w, "  gate %s\n", gateLine(g))
	}
}

// gateLine renders one gate result: name, verdict, value against bound.
func gateLine(g policy.GateResult) string {
	s := fmt.Sprintf("%s: %s", g.Name, g.Verdict)
	if g.Scope != "" {
		s = g.Scope + " " + s
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

func commandName(c *policy.Command) string {
	if c == nil {
		return "commit"
	}
	return string(c.Kind)
}

func orDash(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return "-"
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
