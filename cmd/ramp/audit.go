package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/bundle"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/signing"
)

func newAudit() *cobra.Command {
	var f repoFlags
	var release, format, signingKey, outFile string
	var verify bool
	var ev evidenceFlags
	cmd := &cobra.Command{
		Use:   "audit NAME",
		Short: "Show who changed what, when and why for a rollout, with signatures checked",
		Long: "Lists every commit that started a release of NAME, carried ramp's trailers for it, gave a\n" +
			"command for it or edited the files it manages, and each release's complete record: the\n" +
			"artifact, the spec as it was, the strategy and its gates (thresholds and query text), each\n" +
			"step's result, every command people gave, the abort and rollback reasons and the change id.\n" +
			"With --verify, exits 1 when any commit fails: ramp trailers without ramp's signature, a managed\n" +
			"file edited by hand during a release, a recorded approval that history does not hold, or a\n" +
			"recorded query hash that does not match the spec's query. -o bundle --release V --signing-key\n" +
			"FILE writes that release's record as an evidence bundle signed by ramp's key (an in-toto\n" +
			"statement in a DSSE envelope); `ramp audit verify-bundle FILE` checks one offline.\n\n" +
			"Exit codes: 0 ok, 1 findings (with --verify), 2 usage or environment error.",
		Example: "  ramp audit demo --verify\n" +
			"  ramp audit demo --release 1.2.0 -o json\n" +
			"  ramp audit demo -o html --output-file demo.html\n" +
			"  ramp audit demo --release 1.1.0 -o bundle --signing-key ramp-key --output-file demo-1.1.0.bundle.json",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRollouts,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "" {
				if cmd.Flags().Changed("output") && format != f.format {
					return &exitError{code: exitUsage, err: fmt.Errorf("--format %s and -o %s disagree: use -o alone", format, f.format)}
				}
				f.format = format
			}
			if err := f.check(); err != nil {
				return err
			}
			stopProfile, err := auditProfile()
			if err != nil {
				return err
			}
			defer stopProfile()
			out := f.format
			var signer signing.CommitSigner
			if out == "bundle" {
				var err error
				if signer, err = bundleSigner(release, signingKey); err != nil {
					return err
				}
			}
			repo, d, err := f.deriver(cmd.Context())
			if err != nil {
				return err
			}
			tip, err := repo.Fetch(cmd.Context())
			if err != nil {
				return err
			}
			// Only this rollout's spec: reading every spec costs more
			// than the walk at 200 rollouts.
			r, bad, err := d.Spec(tip, args[0])
			if err != nil {
				return err
			}
			if r == nil {
				if bad != nil {
					return findings("rollout %s has an invalid spec at %s: %v", args[0], tip, bad)
				}
				return &exitError{code: exitUsage, err: fmt.Errorf("no rollout %q at %s of %s", args[0], f.branch, f.repo)}
			}
			if r.HasTargets() {
				return auditFleet(cmd, d, tip, r, release, out, outFile, verify)
			}
			var cmds []*policy.Record
			if f.commandsRef != "" {
				ctip, err := repo.FetchCommands(cmd.Context(), f.commandsRef)
				if err != nil {
					return err
				}
				if cmds, err = d.Commands(ctip, tip, time.Time{}); err != nil {
					return err
				}
			}
			a, err := d.AuditRollout(tip, r, release, cmds...)
			if err != nil {
				return err
			}
			w, done, err := outputFile(cmd.OutOrStdout(), outFile)
			if err != nil {
				return err
			}
			var series map[seriesKey][]policy.Measurement
			if out == "html" {
				prom, err := ev.prom()
				if err != nil {
					return err
				}
				if prom != nil {
					series = gateSeries(cmd.Context(), prom, r, a.Rows)
				}
			} else if cmd.Flags().Changed("prometheus") {
				return &exitError{code: exitUsage, err: fmt.Errorf("--prometheus is for -o html (it plots each gate's measurements)")}
			}
			switch out {
			case "html":
				err = writeHTML(w, a, series)
			case "json", "yaml":
				err = f.write(w, a)
			case "bundle":
				err = writeBundle(cmd.Context(), w, a, signer, f.branch, tip)
			default:
				printAudit(w, a)
			}
			if err := auditWritten(cmd, err, done, outFile, verify, a.Findings, a.Rollout); err != nil {
				return err
			}
			if verify && out == "text" {
				fmt.Fprintf(cmd.OutOrStdout(), "verified: %s, no findings\n", verifiedCount(a.Rows))
			}
			return nil
		},
	}
	f.addFlags(cmd, readFlags)
	f.outputFlag.add(cmd, "text", "json", "yaml", "html", "bundle")
	cmd.Flags().StringVar(&outFile, "output-file", "", "write the output (text, json, yaml, html or bundle) to this file instead of stdout")
	cmd.Flags().StringVar(&ev.prometheus, "prometheus", "", "with -o html: measure each recorded gate's window again from this Prometheus and plot the series against the bound (default: $RAMP_PROMETHEUS, else the config file)")
	cmd.Flags().DurationVar(&ev.timeout, "query-timeout", 10*time.Second, "timeout of one Prometheus query")
	ev.cmd = cmd
	cmd.Flags().StringVar(&release, "release", "", "only this release")
	_ = cmd.RegisterFlagCompletionFunc("release", completeReleases)
	cmd.Flags().BoolVar(&verify, "verify", false, "exit 1 when any commit fails verification")
	// --format is deprecated: -o is the one output flag. It still works,
	// hidden from --help, so that scripts keep running.
	cmd.Flags().StringVar(&format, "format", "", "deprecated: use -o")
	_ = cmd.Flags().MarkHidden("format")
	cmd.Flags().StringVar(&signingKey, "signing-key", "", "with -o bundle: ramp's signing key, an ed25519 OpenSSH private key (passphrase from $RAMP_SIGNING_PASSPHRASE)")
	cmd.AddCommand(newVerifyBundle())
	return cmd
}

// bundleSigner loads ramp's key for -o bundle, which needs one release.
func bundleSigner(release, signingKey string) (signing.CommitSigner, error) {
	if release == "" {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("-o bundle needs --release: a bundle holds one release")}
	}
	if signingKey == "" {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("-o bundle needs --signing-key: ramp's key signs the bundle")}
	}
	s, err := signing.LoadSigner(signingKey, []byte(os.Getenv("RAMP_SIGNING_PASSPHRASE")))
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	return s, nil
}

// writeBundle writes the evidence bundle of the audit's release (its
// latest record, should the release have started more than once).
func writeBundle(ctx context.Context, w io.Writer, a *history.Audit, s signing.CommitSigner, branch string, tip plumbing.Hash) error {
	if len(a.Releases) == 0 {
		return &exitError{code: exitUsage, err: fmt.Errorf("no release %s of %s in the history of %s", a.Release, a.Rollout, branch)}
	}
	p := bundle.Predicate{Branch: branch, Tip: tip.String(), Made: time.Now().UTC(), Record: a.Releases[len(a.Releases)-1]}
	data, err := bundle.Sign(ctx, p, s)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("bundle of %s %s: %w", a.Rollout, a.Release, err)}
	}
	_, err = w.Write(data)
	return err
}

// newVerifyBundle: check an evidence bundle offline.
func newVerifyBundle() *cobra.Command {
	var approvers string
	var o outputFlag
	cmd := &cobra.Command{
		Use:   "verify-bundle FILE",
		Short: "Check an evidence bundle offline against ramp's public keys",
		Long: "Checks that FILE is an evidence bundle written by `ramp audit -o bundle`, unchanged, signed by a\n" +
			"key of group ramp in --approvers (ramp.allowed_signers), and prints the release record it\n" +
			"holds.\n\n" +
			"Exit codes: 0 verified, 1 does not verify, 2 usage or environment error.",
		Example: "  ramp audit verify-bundle demo-1.1.0.bundle.json --approvers ../approvers",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := resolveTrust(cmd, &approvers); err != nil {
				return err
			}
			if approvers == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("--approvers (or $RAMP_APPROVERS, or approvers: in %s) is required: the directory holding ramp.allowed_signers", configHint())}
			}
			if err := o.check(); err != nil {
				return err
			}
			keys, err := signing.LoadKeyringDir(approvers)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("--approvers: %w", err)}
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			v, err := bundle.Verify(cmd.Context(), data, keys, time.Now())
			if err != nil {
				return findings("%s does not verify: %v", args[0], err)
			}
			if o.structured() {
				return o.write(cmd.OutOrStdout(), v.Predicate)
			}
			w, p := cmd.OutOrStdout(), v.Predicate
			fmt.Fprintf(w, "verified: evidence bundle of rollout %s release %s\n", p.Record.Rollout, p.Record.Release)
			fmt.Fprintf(w, "signed by %s with key %s (group %s in %s)\n", v.Signer.Principal, v.Signer.Key, policy.RampGroup, approvers)
			for alg, d := range v.Subject.GetDigest() {
				fmt.Fprintf(w, "subject %s %s:%s (%s)\n", v.Subject.GetName(), alg, d, p.SubjectKind)
			}
			fmt.Fprintf(w, "derived from %s at %.10s, made %s\n", p.Branch, p.Tip, p.Made.UTC().Format(time.RFC3339))
			printRelease(w, p.Record)
			return nil
		},
	}
	cmd.Flags().StringVar(&approvers, "approvers", "", "directory of trusted keys; the keys of group ramp (ramp.allowed_signers) verify bundles")
	o.add(cmd, "text", "json", "yaml")
	return cmd
}

func printAudit(w io.Writer, a *history.Audit) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COMMIT\tTIME\tRELEASE\tWHAT\tSTEP\tWEIGHT\tBY\tSIGNED BY")
	for _, r := range a.Rows {
		weight := ""
		if r.Weight != nil {
			weight = fmt.Sprintf("%d%%", *r.Weight)
		}
		fmt.Fprintf(tw, "%.10s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Commit, r.Time.UTC().Format("2006-01-02 15:04:05"),
			r.Release, whatText(r.What), orDash(r.Step), orDash(weight), r.Author, signedBy(r))
	}
	tw.Flush()
	for _, r := range a.Rows {
		for _, g := range r.Gates {
			fmt.Fprintf(w, "%.10s gate %s\n", r.Commit, gateLine(g.GateResult))
			if g.QueryText != "" {
				fmt.Fprintf(w, "%.10s   query %s: %s\n", r.Commit, g.Query, g.QueryText)
			}
		}
		for _, ap := range r.Approved {
			fmt.Fprintf(w, "%.10s approved by %s key %s in commit %.10s\n", r.Commit, ap.Principal, ap.Key, ap.Commit)
		}
		if r.Reason != "" && r.What != "start" {
			fmt.Fprintf(w, "%.10s reason: %s\n", r.Commit, r.Reason)
		}
		if r.ChangeID != "" {
			fmt.Fprintf(w, "%.10s change id: %s\n", r.Commit, r.ChangeID)
		}
		for _, rj := range r.Rejected {
			fmt.Fprintf(w, "%.10s rejected %s by %s: %s\n", r.Commit, commandName(rj.Command), rj.Author, rj.Reason)
		}
		for _, f := range r.Findings {
			fmt.Fprintf(w, "%.10s FINDING: %s\n", r.Commit, f)
		}
	}
	for _, rec := range a.Releases {
		fmt.Fprintln(w)
		printRelease(w, rec)
	}
}

// whatText is the audit's WHAT column, one vocabulary: "start", ramp's
// actions as its Ramp-Action trailer names them (set-weight, pause,
// analysis, promote, complete, abort, rollback, restore, …), people's
// commands as "approve", "request abort", "request pause", "request
// resume", and "hand edit", "spec edit" for commits ramp did not make.
func whatText(what string) string {
	switch what {
	case string(policy.CommandApprove):
		return "approve"
	case string(policy.CommandAbort):
		return "request abort"
	case string(policy.CommandPause):
		return "request pause"
	case string(policy.CommandResume):
		return "request resume"
	case "edit":
		return "hand edit"
	case "spec":
		return "spec edit"
	}
	return what
}

// signedBy is the audit's SIGNED BY column: the verified signer and its
// groups, or why there is none, telling an unsigned commit from one
// signed by a key no group trusts.
func signedBy(r policy.AuditRow) string {
	switch {
	case r.Signer != nil:
		return fmt.Sprintf("%s (%s)", r.Signer.Principal, strings.Join(r.Signer.Groups, ","))
	case r.Unverified == "unsigned":
		return "unsigned"
	case strings.HasPrefix(r.Unverified, "signed by unknown key"):
		return "unknown key " + strings.TrimSpace(strings.TrimPrefix(r.Unverified, "signed by unknown key"))
	case r.Unverified == "no trusted keys configured":
		return "not checked (no trusted keys)"
	case r.Unverified != "":
		return "not verified: " + r.Unverified
	}
	return "-"
}

// verifiedCount says how many commits --verify checked and how many of
// them carry a trusted signature: "9 commit(s): 8 signed by trusted keys,
// 1 unsigned".
func verifiedCount(rows []policy.AuditRow) string {
	var signed, unsigned, other int
	for _, r := range rows {
		switch {
		case r.Signer != nil:
			signed++
		case r.Unverified == "unsigned":
			unsigned++
		default:
			other++
		}
	}
	s := fmt.Sprintf("%d commit(s): %d signed by trusted keys", len(rows), signed)
	if unsigned > 0 {
		s += fmt.Sprintf(", %d unsigned", unsigned)
	}
	if other > 0 {
		s += fmt.Sprintf(", %d signed by keys not trusted", other)
	}
	return s
}

// printRelease prints a release's record, one labelled line per field.
func printRelease(w io.Writer, rec policy.ReleaseRecord) {
	fmt.Fprintf(w, "release %s of %s\n", rec.Release, rec.Rollout)
	for _, l := range recordLines(rec) {
		fmt.Fprintf(w, "  %-16s %s\n", l.Label, l.Text)
		for _, d := range l.Details {
			fmt.Fprintf(w, "  %-16s   %s\n", "", d)
		}
	}
}

// recordLine is one field of a release's record, as the text and HTML
// audits show it.
type recordLine struct {
	Label, Text string
	Details     []string
}

// recordLines lays out a release's record: outcome, artifact, change id,
// start, spec versions, strategy, gates, step results, overrides, abort
// and rollback reasons, findings.
func recordLines(rec policy.ReleaseRecord) []recordLine {
	ls := []recordLine{{Label: "outcome", Text: rec.Outcome}}
	if rec.SupersededBy != "" {
		ls[0].Text += " (superseded by " + rec.SupersededBy + ")"
	}
	a := rec.Artifact
	art := recordLine{Label: "artifact", Text: "tag " + orDash(a.Tag) + ", digest " + a.Digest}
	if a.Digest == "" {
		art.Text = "tag " + a.Tag + ", no digest (a bare tag pins no image)"
	}
	if a.Field.File != "" {
		art.Details = []string{"release field " + a.Field.Path + " in " + a.Field.File}
	}
	ls = append(ls, art, recordLine{Label: "change id", Text: orDash(rec.ChangeID)},
		recordLine{Label: "started", Text: "in " + refText(rec.Start)})
	if rec.SeparationOfDuties != "" {
		ls = append(ls, recordLine{Label: "start signed", Text: "no, separation of duties " + rec.SeparationOfDuties})
	}
	ls = append(ls, specLine("spec", rec.Spec))
	for _, v := range rec.SpecChanges {
		ls = append(ls, specLine("spec changed", v))
	}
	st := recordLine{Label: "strategy", Text: fmt.Sprintf("%s, %d step(s); on failure traffic returns to stable", orDash(rec.Strategy.Kind), len(rec.Strategy.Steps))}
	if rec.Strategy.RevertRelease {
		st.Text += " and the release field reverts"
	}
	ls = append(ls, st)
	if pf := rec.Strategy.Preflight; pf != nil {
		l := recordLine{Label: "preflight", Text: "before step 1: " + strings.Join(pf.Gates, ", ")}
		for _, g := range rec.Preflight {
			l.Details = append(l.Details, "gate "+gateLine(g.GateResult))
		}
		ls = append(ls, l)
	}
	for _, g := range rec.Gates {
		l := recordLine{Label: "gate " + g.Name, Text: fmt.Sprintf("%s, %s: threshold %s", g.Kind, g.Severity, g.Threshold)}
		if g.Query != "" {
			l.Details = append(l.Details, fmt.Sprintf("query %s: %s", g.QueryHash, g.Query))
		}
		if g.SampleQuery != "" {
			l.Details = append(l.Details, fmt.Sprintf("samples (at least %g): %s", g.MinSamples, g.SampleQuery))
		}
		if g.URL != "" {
			l.Details = append(l.Details, "url "+g.URL)
		}
		l.Details = append(l.Details, g.Windows...)
		ls = append(ls, l)
	}
	for _, s := range rec.Steps {
		ls = append(ls, stepLine(rec, s))
	}
	for _, o := range rec.Overrides {
		l := recordLine{Label: "override", Text: fmt.Sprintf("%s%s in %s: accepted", o.Command, stepSuffix(o.Step), refText(o.CommitRef))}
		if !o.Accepted {
			l.Text = strings.TrimSuffix(l.Text, "accepted") + "rejected: " + o.Rejected
		}
		l.Details = append(l.Details, "reason: "+orDash(o.Reason))
		if o.Message != "" {
			l.Details = append(l.Details, "message: "+strings.Join(strings.Fields(o.Message), " "))
		}
		ls = append(ls, l)
	}
	if rec.AbortReason != "" {
		ls = append(ls, recordLine{Label: "abort reason", Text: rec.AbortReason})
	}
	if rec.RollbackReason != "" {
		ls = append(ls, recordLine{Label: "rollback reason", Text: rec.RollbackReason})
	}
	if rec.End != nil {
		ls = append(ls, recordLine{Label: "ended", Text: "in " + refText(*rec.End)})
	}
	for _, f := range rec.Findings {
		ls = append(ls, recordLine{Label: "FINDING", Text: f})
	}
	return ls
}

// stepLine is a step's result, with its commits and the evidence it was
// judged on.
func stepLine(rec policy.ReleaseRecord, s policy.StepResult) recordLine {
	l := recordLine{Label: fmt.Sprintf("step %d/%d", s.Step, len(rec.Strategy.Steps)), Text: s.Result}
	if s.Step <= len(rec.Strategy.Steps) {
		l.Text = rec.Strategy.Steps[s.Step-1].Description + ": " + s.Result
	}
	if s.Entered != nil {
		l.Details = append(l.Details, "entered in "+refText(*s.Entered))
	}
	if s.Left != nil {
		l.Details = append(l.Details, "left in "+refText(*s.Left))
	}
	for _, g := range s.Gates {
		l.Details = append(l.Details, "gate "+gateLine(g.GateResult))
		if g.QueryText != "" {
			l.Details = append(l.Details, fmt.Sprintf("  query %s: %s", g.Query, g.QueryText))
		}
	}
	for _, ap := range s.Approved {
		l.Details = append(l.Details, fmt.Sprintf("approved by %s key %s in commit %.10s", ap.Principal, ap.Key, ap.Commit))
	}
	return l
}

func specLine(label string, v policy.SpecVersion) recordLine {
	l := recordLine{Label: label, Text: fmt.Sprintf("%s at commit %.10s: blob %s", v.Path, v.Commit, orDash(v.Blob))}
	if v.ChangedIn != "" {
		l.Text += fmt.Sprintf(", last changed in %.10s", v.ChangedIn)
	}
	if v.Error != "" {
		l.Details = []string{"does not validate: " + strings.Join(strings.Fields(v.Error), " ")}
	}
	return l
}

// refText names a commit: which, by whom, when, signed by whom.
func refText(r policy.CommitRef) string {
	s := fmt.Sprintf("commit %.10s by %s at %s", r.Commit, r.Author, r.Time.UTC().Format("2006-01-02 15:04:05"))
	if r.Signer != nil {
		s += fmt.Sprintf(", signed by %s (%s)", r.Signer.Principal, strings.Join(r.Signer.Groups, ","))
	}
	return s
}

func stepSuffix(step string) string {
	if step == "" {
		return ""
	}
	return " step " + step
}

// auditWritten finishes an audit written to the output (file): the first
// error of writing and closing it, "wrote FILE" on stderr, and with
// --verify the findings as exit 1.
func auditWritten(cmd *cobra.Command, err error, done func() error, outFile string, verify bool, n int, rollout string) error {
	if cerr := done(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if outFile != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", outFile)
	}
	if verify && n > 0 {
		return findings("%d finding(s) in the history of %s", n, rollout)
	}
	return nil
}
