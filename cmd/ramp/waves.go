package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

// statusRows are the rows of `ramp status` for one outcome: one for a
// rollout without targets; for a rollout with targets, one for the
// rollout (its release and the state of each wave) and one per target
// (rollout/target: its release, phase, step and weight, and its wave).
func statusRows(o gitsync.Outcome) []rolloutStatus {
	if o.Fleet == nil {
		return []rolloutStatus{toStatus(o)}
	}
	fs, d := o.Fleet, o.Decision
	name, _ := policy.SplitTarget(o.Rollout)
	top := rolloutStatus{Name: name, Release: fs.Release, Phase: wavesPhase(o.Waves), WaitingFor: d.WaitingFor, Reason: d.Reason,
		Gates: d.Gates, Rejected: fs.Rejected, Wave: d.Wave, Waves: o.Waves, Unverified: d.SeparationOfDuties}
	if top.Rejected == nil {
		top.Rejected = []policy.Rejection{}
	}
	if !d.Holds() {
		top.Next = string(d.Action)
		if len(d.Targets) > 0 {
			top.Next += " " + strings.Join(d.Targets, ",")
		}
	}
	if o.Invalid != nil {
		top.Phase, top.Invalid = "Invalid", o.Invalid.Error()
	}
	rows := []rolloutStatus{top}
	for _, w := range o.Waves {
		for _, t := range w.Targets {
			row := rolloutStatus{Name: policy.TargetRollout(name, t.Name), Release: t.Release, Stable: t.Stable, Phase: string(t.Phase),
				Step: t.Step, Steps: t.Steps, Weight: t.Weight, Wave: w.Name, Rejected: fs.Targets[t.Name].Rejected}
			if t.Failed {
				row.Phase += " (failed)"
			}
			if row.Rejected == nil {
				row.Rejected = []policy.Rejection{}
			}
			if !d.Holds() && len(d.Targets) == 1 && d.Targets[0] == t.Name {
				row.Next = string(d.Action)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// wavesPhase sums up the waves in the PHASE column (policy.WavesPhase).
func wavesPhase(ws []policy.WaveStatus) string { return policy.WavesPhase(ws) }

// auditFleet is `ramp audit` of a rollout with targets: its history with
// one lane per target, as text (or -o json).
func auditFleet(cmd *cobra.Command, d *history.Deriver, tip plumbing.Hash, r *policy.Rollout, release, out, outFile string, verify bool) error {
	if out != "text" && out != "json" && out != "html" {
		return &exitError{code: exitUsage, err: fmt.Errorf("rollout %s has targets: its audit is text, json or html (-o %s is for rollouts without targets)", r.Name(), out)}
	}
	a, err := d.AuditFleet(tip, r, release)
	if err != nil {
		return err
	}
	w, done, err := outputFile(cmd.OutOrStdout(), outFile)
	if err != nil {
		return err
	}
	switch out {
	case "json":
		err = writeJSON(w, a)
	case "html":
		err = writeFleetHTML(w, a)
	default:
		printFleetAudit(w, a)
	}
	return auditWritten(cmd, err, done, outFile, verify, a.Findings, a.Rollout)
}

// printFleetAudit prints the history as lanes: a column per target
// (headed target/wave), each cell what the commit did there.
func printFleetAudit(w io.Writer, a *history.FleetAudit) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := []string{"COMMIT", "TIME", "RELEASE", "WAVE", "ROLLOUT"}
	for _, t := range a.Targets {
		head = append(head, strings.ToUpper(t)+" ("+a.Waves[t]+")")
	}
	head = append(head, "BY")
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, row := range a.Rows {
		cells := []string{fmt.Sprintf("%.10s", row.Commit), row.Time.UTC().Format("2006-01-02 15:04:05"), row.Release, orDash(row.Wave), orDash(row.What)}
		for _, t := range a.Targets {
			lane, ok := row.Lanes[t]
			if !ok {
				cells = append(cells, "|")
				continue
			}
			cell := lane.What
			if lane.Step != "" {
				cell += " " + lane.Step
			}
			if lane.Weight != nil {
				cell += fmt.Sprintf(" %d%%", *lane.Weight)
			}
			if len(lane.Findings) > 0 {
				cell += " FINDING"
			}
			cells = append(cells, cell)
		}
		cells = append(cells, row.Author)
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	for _, row := range a.Rows {
		if row.Reason != "" {
			fmt.Fprintf(w, "%.10s reason: %s\n", row.Commit, row.Reason)
		}
		for _, t := range a.Targets {
			lane, ok := row.Lanes[t]
			if !ok {
				continue
			}
			if lane.Reason != "" && lane.What != "start" {
				fmt.Fprintf(w, "%.10s %s: reason: %s\n", row.Commit, t, lane.Reason)
			}
			for _, f := range lane.Findings {
				fmt.Fprintf(w, "%.10s %s: FINDING: %s\n", row.Commit, t, f)
			}
		}
		for _, rj := range row.Rejected {
			fmt.Fprintf(w, "%.10s rejected %s by %s: %s\n", row.Commit, commandName(rj.Command), rj.Author, rj.Reason)
		}
	}
}
