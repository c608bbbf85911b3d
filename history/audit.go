package history

import (
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/policy"
)

// AuditRow is one commit of a rollout's history: who did what, when, and
// whether it checks out.
type AuditRow struct {
	Commit  string         `json:"commit"`
	Time    time.Time      `json:"time"`
	Author  string         `json:"author"`
	Signer  *policy.Signer `json:"signer,omitempty"`
	Release string         `json:"release"`
	// What happened: "start", a ramp action, a command, or an edit.
	What     string               `json:"what"`
	Step     string               `json:"step,omitempty"`
	Weight   *int                 `json:"weight,omitempty"`
	Gates    []policy.GateResult  `json:"gates,omitempty"`
	Approved []policy.ApprovalRef `json:"approved,omitempty"`
	Reason   string               `json:"reason,omitempty"`
	// Findings are what --verify fails on for this commit.
	Findings []string `json:"findings,omitempty"`
	// Rejected are commands in this commit that were not accepted.
	Rejected []policy.Rejection `json:"rejected,omitempty"`
}

// Audit is a rollout's history, oldest first.
type Audit struct {
	Rollout string     `json:"rollout"`
	Release string     `json:"release,omitempty"`
	Rows    []AuditRow `json:"rows"`
	// Findings counts the findings in Rows.
	Findings int `json:"findings"`
}

// AuditRollout walks the whole first-parent history up to tip and lists
// every commit that started a release of r, carried ramp's trailers for
// it, gave a command for it or edited the files it manages. When release
// is set only that release's rows are kept. Findings: ramp trailers
// without ramp's signature, a managed file edited by hand while a release
// was in flight, and approvals recorded by ramp that history does not hold.
func (d *Deriver) AuditRollout(tip plumbing.Hash, r *policy.Rollout, release string) (*Audit, error) {
	// Read the records newest first, then fold them oldest first.
	w := newWalker(d.Repo)
	var recs []*policy.Record
	for l, err := range w.firstParents(tip) {
		if err != nil {
			return nil, err
		}
		parentTree, err := w.rootTree(l.parent)
		if err != nil {
			return nil, err
		}
		rec, err := d.record(w, l.commit, parentTree, map[string]*policy.Rollout{r.Name(): r})
		if err != nil {
			return nil, err
		}
		if rec != nil {
			recs = append(recs, rec)
		}
	}
	a := &Audit{Rollout: r.Name(), Release: release}
	s := policy.Base(r.Name(), "", "", 0)
	for i := len(recs) - 1; i >= 0; i-- {
		before := s
		s = policy.Fold(s, r, recs[i])
		row := auditRow(r, before, s, recs[i])
		if row == nil || (release != "" && row.Release != release) {
			continue
		}
		a.Findings += len(row.Findings)
		a.Rows = append(a.Rows, *row)
	}
	return a, nil
}

// auditRow describes one folded record, or nil when it is not about r.
func auditRow(r *policy.Rollout, before, after policy.State, rec *policy.Record) *AuditRow {
	row := &AuditRow{Commit: rec.Commit, Time: rec.Time, Author: rec.Author, Signer: rec.Signer, Release: after.Release}
	ch := rec.Changes[r.Name()]
	if after.StartCommit == rec.Commit && after.Phase != policy.PhaseStable {
		row.What = "start"
		row.Reason = "release field set to " + after.Release
		if after.Superseded != "" {
			row.Reason += "; supersedes " + after.Superseded
		}
	}
	for _, e := range rec.Entries {
		if e.Rollout != r.Name() || !rec.Signer.In(policy.RampGroup) {
			continue
		}
		row.What, row.Release, row.Reason = string(e.Action), e.Release, e.Reason
		if e.Step > 0 {
			row.Step = fmt.Sprintf("%d/%d", e.Step, e.Steps)
		}
		w := e.Weight
		row.Weight, row.Gates, row.Approved = &w, e.Gates, e.Approved
		for _, ap := range e.Approved {
			if !hasApproval(before, ap) {
				row.Findings = append(row.Findings, fmt.Sprintf("records approval commit %s by %s that history does not hold as an accepted approval", ap.Commit, ap.Principal))
			}
		}
	}
	for _, c := range rec.Commands {
		if c.Rollout == r.Name() && row.What == "" {
			row.What, row.Reason = string(c.Kind), c.Reason
			if c.Step > 0 {
				row.Step = fmt.Sprintf("%d/%d", c.Step, len(r.Steps()))
			}
		}
	}
	for _, rj := range after.Rejected[min(len(before.Rejected), len(after.Rejected)):] {
		if rj.Command != nil {
			row.Rejected = append(row.Rejected, rj)
		} else {
			row.Findings = append(row.Findings, rj.Reason)
		}
	}
	for _, h := range after.Holds[min(len(before.Holds), len(after.Holds)):] {
		row.Findings = append(row.Findings, h.Reason)
	}
	if row.What == "" {
		switch {
		case ch.Target || ch.Stable != nil || ch.Release != nil:
			row.What = "edit"
		case ch.Spec:
			row.What = "spec"
		default:
			if len(row.Findings)+len(row.Rejected) == 0 {
				return nil
			}
			row.What = "other"
		}
	}
	return row
}

func hasApproval(s policy.State, ap policy.ApprovalRef) bool {
	for _, a := range s.Approvals {
		if a.Commit == ap.Commit && a.Key == ap.Key {
			return true
		}
	}
	return false
}
