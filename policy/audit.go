package policy

import (
	"fmt"
	"reflect"
	"time"
)

// AuditRow is one commit of a rollout's history: who did what, when, and
// whether it checks out.
type AuditRow struct {
	Commit string    `json:"commit"`
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Signer *Signer   `json:"signer,omitempty"`
	// Unverified says why the commit has no signer: "unsigned", "signed
	// by unknown key …", a bad signature, a key not allowed.
	Unverified string `json:"unverified,omitempty"`
	Release    string `json:"release"`
	// What happened: "start", a ramp action, a command, or an edit.
	What   string `json:"what"`
	Step   string `json:"step,omitempty"`
	Weight *int   `json:"weight,omitempty"`
	// HandWeight is the canary weight a commit ramp did not make wrote
	// into the traffic target, when it can be read.
	HandWeight *int `json:"handWeight,omitempty"`
	// HandFields are the other managed fields such a commit changed,
	// with their old and new values (drift.go).
	HandFields []FieldChange `json:"handFields,omitempty"`
	Gates      []AuditGate   `json:"gates,omitempty"`
	Approved   []ApprovalRef `json:"approved,omitempty"`
	Reason     string        `json:"reason,omitempty"`
	// Findings are what --verify fails on for this commit.
	Findings []string `json:"findings,omitempty"`
	// Rejected are commands in this commit that were not accepted.
	Rejected []Rejection `json:"rejected,omitempty"`
	// ChangeID is the change id ramp recorded (Ramp-Change-Id).
	ChangeID string `json:"changeId,omitempty"`
	// Spec is the version of the rollout spec at this commit.
	Spec *SpecVersion `json:"spec,omitempty"`
	// Message is the message of a commit giving commands, without its
	// trailers: where a reason given outside the trailers is.
	Message string `json:"message,omitempty"`
	// StartUnverified, on a release's start, says which commits of the
	// start no trusted key signed: separation of duties was not verified.
	StartUnverified string `json:"startUnverified,omitempty"`
}

// AuditGate is a gate result ramp recorded, with the text of the query
// whose hash the result carries, as the spec at the commit has it.
type AuditGate struct {
	GateResult
	QueryText string `json:"queryText,omitempty"`
}

// AuditRecord describes one record of r's history for the audit, given
// the states Fold returned before and after it, or returns nil when the
// record is not about r; r is the spec at the record's commit. Its
// findings are ramp trailers without ramp's signature, holds the record
// put on r (a managed file edited by hand while a release was in flight),
// approvals recorded by ramp that the state before does not hold,
// recorded gate results whose query hash does not match the query of r,
// and commands whose commit is not in this repository's history (a
// foreign rejection, ancestry.go).
func AuditRecord(r *Rollout, before, after State, rec *Record) *AuditRow {
	row := &AuditRow{Commit: rec.Commit, Time: rec.Time, Author: rec.Author, Signer: rec.Signer, Release: after.Release}
	if rec.Signer == nil {
		row.Unverified = rec.SignatureError
	}
	ch := rec.Changes[r.Name()]
	if after.StartCommit == rec.Commit && after.Phase != PhaseStable {
		row.What = "start"
		row.Reason = "release field set to " + after.Release
		if after.Superseded != "" {
			row.Reason += "; supersedes " + after.Superseded
		}
		if after.StartUnverified != "" {
			row.Reason += "; separation of duties cannot be verified: " + after.StartUnverified
			row.StartUnverified = after.StartUnverified
		}
	}
	for _, e := range rec.Entries {
		if e.Rollout != r.Name() || !rec.Signer.In(RampGroup) {
			continue
		}
		row.What, row.Release, row.Reason = string(e.Action), e.Release, e.Reason
		if e.Step > 0 {
			row.Step = fmt.Sprintf("%d/%d", e.Step, e.Steps)
		}
		w := e.Weight
		row.Weight, row.Approved, row.ChangeID = &w, e.Approved, e.ChangeID
		row.Gates = nil
		for _, g := range e.Gates {
			ag, finding := auditGate(r, g)
			row.Gates = append(row.Gates, ag)
			if finding != "" {
				row.Findings = append(row.Findings, finding)
			}
		}
		if e.Action == ActionCheckpoint {
			row.Reason, row.Findings = checkpointClaim(before, e, row.Findings)
		}
		row.Findings = append(row.Findings, migrateFindings(before, e)...)
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
			if c.Freeze != "" {
				row.Step = "freeze " + c.Freeze
			}
			if c.Migration != "" {
				row.Step = "migration " + c.Migration
			}
		}
	}
	for _, rj := range after.Rejected[min(len(before.Rejected), len(after.Rejected)):] {
		if rj.Command != nil {
			row.Rejected = append(row.Rejected, rj)
			if rj.Foreign {
				// A signed command from another history: a replay.
				row.Findings = append(row.Findings, rj.Reason)
			}
		} else {
			row.Findings = append(row.Findings, rj.Reason)
		}
	}
	for _, h := range after.Holds[min(len(before.Holds), len(after.Holds)):] {
		row.Findings = append(row.Findings, h.Reason)
	}
	if ch.Target && ch.Weight != nil && !rec.Signer.In(RampGroup) {
		w := *ch.Weight
		row.HandWeight = &w
	}
	if ch.Fields != nil && !rec.Signer.In(RampGroup) {
		row.HandFields = *ch.Fields
	}
	if row.What == "" {
		switch {
		case ch.Target || ch.Stable != nil || ch.Release != nil || ch.Fields != nil:
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

// checkpointClaim describes what ramp's checkpoint entry e claims, and
// adds a finding when it is not the state the history before it folds to
// (before): the state a derive that starts at the checkpoint would get.
func checkpointClaim(before State, e Entry, findings []string) (string, []string) {
	if e.Anchor == nil {
		return e.Reason, findings
	}
	claim := fmt.Sprintf("restates: release %s %s at %s, step %d, weight %d%%", e.Release, e.Anchor.Action, short(e.Anchor.Commit), e.Step, e.Weight)
	if e.Reason != "" {
		claim += ": " + e.Reason
	}
	want := before
	want.Release = e.Release
	if want = restated(want, e.Weight, e.Step, e.Anchor.Commit, e.Anchor.Action, e.Reason); !reflect.DeepEqual(before, want) {
		findings = append(findings, fmt.Sprintf("checkpoint claims release %s %s at %s (step %d, weight %d%%), but the history before it folds to release %s %s (last commit %s, step %d, weight %d%%, %d holds, %d rejections)",
			e.Release, e.Anchor.Action, short(e.Anchor.Commit), e.Step, e.Weight,
			before.Release, before.Phase, short(before.LastCommit), before.Step, before.LiveWeight(), len(before.Holds), len(before.Rejected)))
	}
	return claim, findings
}

// auditGate pairs a recorded gate result with the query text of r's gate
// of that name, and says when the recorded query hash does not match it.
func auditGate(r *Rollout, g GateResult) (AuditGate, string) {
	ag := AuditGate{GateResult: g}
	if g.Query == "" {
		return ag, ""
	}
	q, ok := r.routingQuery(g.Name)
	if !ok {
		gate := r.Gate(g.Name)
		if gate == nil {
			return ag, fmt.Sprintf("gate %s: recorded with query %s, but %s defines no gate %s", g.Name, g.Query, r.Path, g.Name)
		}
		q = gate.QueryText()
	}
	ag.QueryText = q
	if h := QueryHash(ag.QueryText); h != g.Query {
		return ag, fmt.Sprintf("gate %s: recorded query hash %s does not match the query in %s (%s)", g.Name, g.Query, r.Path, h)
	}
	return ag, ""
}

// QueryText is the query whose hash a gate's results carry: a Prometheus
// gate's query template, or an alerts gate's query for its selector; ""
// for a gate that queries nothing.
func (g *Gate) QueryText() string {
	switch {
	case g.Prometheus != nil:
		return g.Prometheus.Query
	case g.Alerts != nil:
		return AlertsQuery(g.Alerts.Selector)
	}
	return ""
}

// hasApproval reports whether s has accepted the approval ap.
func hasApproval(s State, ap ApprovalRef) bool {
	for _, a := range s.Approvals {
		if a.Commit == ap.Commit && a.Key == ap.Key {
			return true
		}
	}
	return false
}
