package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ramp-dev/ramp/history"
	"github.com/spf13/cobra"
)

func newAudit() *cobra.Command {
	var f repoFlags
	var release, format string
	var verify bool
	cmd := &cobra.Command{
		Use:   "audit NAME",
		Short: "Show who changed what, when and why for a rollout, with signatures checked",
		Long: "Lists every commit that started a release of NAME, carried ramp's trailers for it, gave a\n" +
			"command for it or edited the files it manages. With --verify, exits 1 when any commit fails:\n" +
			"ramp trailers without ramp's signature, a managed file edited by hand during a release, or a\n" +
			"recorded approval that history does not hold.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "" {
				f.output = format
			}
			asHTML := f.output == "html"
			if asHTML {
				f.output = "text" // the page; the repository flags know text and json
			}
			repo, d, err := f.deriver(cmd.Context())
			if err != nil {
				return err
			}
			tip, err := repo.Fetch(cmd.Context())
			if err != nil {
				return err
			}
			snap, err := d.Derive(tip)
			if err != nil {
				return err
			}
			r, ok := snap.Rollouts[args[0]]
			if !ok {
				if bad := snap.Invalid[args[0]]; bad != nil {
					return findings("rollout %s has an invalid spec at %s: %v", args[0], tip, bad)
				}
				return &exitError{code: exitUsage, err: fmt.Errorf("no rollout %q at %s of %s", args[0], f.branch, f.repo)}
			}
			a, err := d.AuditRollout(tip, r, release)
			if err != nil {
				return err
			}
			switch {
			case asHTML:
				if err := writeHTML(cmd.OutOrStdout(), a); err != nil {
					return err
				}
			case f.output == "json":
				if err := writeJSON(cmd.OutOrStdout(), a); err != nil {
					return err
				}
			default:
				printAudit(cmd.OutOrStdout(), a, verify)
			}
			if verify && a.Findings > 0 {
				return findings("%d finding(s) in the history of %s", a.Findings, a.Rollout)
			}
			if verify && f.output != "json" && !asHTML {
				fmt.Fprintf(cmd.OutOrStdout(), "verified: %d commit(s), no findings\n", len(a.Rows))
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&release, "release", "", "only this release")
	cmd.Flags().BoolVar(&verify, "verify", false, "exit 1 when any commit fails verification")
	cmd.Flags().StringVar(&format, "format", "", "text, json or html: a self-contained page with a timeline (same as -o)")
	return cmd
}

func printAudit(w io.Writer, a *history.Audit, verify bool) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMMIT\tTIME\tRELEASE\tWHAT\tSTEP\tWEIGHT\tBY\tSIGNED BY")
	for _, r := range a.Rows {
		weight := ""
		if r.Weight != nil {
			weight = fmt.Sprintf("%d%%", *r.Weight)
		}
		signer := "-"
		if r.Signer != nil {
			signer = fmt.Sprintf("%s (%s)", r.Signer.Principal, strings.Join(r.Signer.Groups, ","))
		}
		fmt.Fprintf(tw, "%.10s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Commit, r.Time.UTC().Format("2006-01-02 15:04:05"),
			r.Release, r.What, orDash(r.Step), orDash(weight), r.Author, signer)
	}
	tw.Flush()
	for _, r := range a.Rows {
		for _, g := range r.Gates {
			fmt.Fprintf(w, "%.10s gate %s\n", r.Commit, gateLine(g.GateResult))
		}
		for _, ap := range r.Approved {
			fmt.Fprintf(w, "%.10s approved by %s key %s in commit %.10s\n", r.Commit, ap.Principal, ap.Key, ap.Commit)
		}
		if r.Reason != "" && r.What != "start" {
			fmt.Fprintf(w, "%.10s reason: %s\n", r.Commit, r.Reason)
		}
		for _, rj := range r.Rejected {
			fmt.Fprintf(w, "%.10s rejected %s by %s: %s\n", r.Commit, commandName(rj.Command), rj.Author, rj.Reason)
		}
		for _, f := range r.Findings {
			fmt.Fprintf(w, "%.10s FINDING: %s\n", r.Commit, f)
		}
	}
}
