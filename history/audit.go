package history

import (
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/policy"
)

// Audit is a rollout's history, oldest first.
type Audit struct {
	Rollout string            `json:"rollout"`
	Release string            `json:"release,omitempty"`
	Rows    []policy.AuditRow `json:"rows"`
	// Findings counts the findings in Rows.
	Findings int `json:"findings"`
}

// AuditRollout walks the whole first-parent history up to tip and lists
// every commit that started a release of r, carried ramp's trailers for
// it, gave a command for it or edited the files it manages. When release
// is set only that release's rows are kept. Findings: ramp trailers
// without ramp's signature, a managed file edited by hand while a release
// was in flight, and approvals recorded by ramp that history does not hold.
//
// commands are the records of a commands ref (Commands): an approval a
// step commit names that is not on the release branch is looked up there,
// judged by the same rules, and listed just before the step that used it.
func (d *Deriver) AuditRollout(tip plumbing.Hash, r *policy.Rollout, release string, commands ...*policy.Record) (*Audit, error) {
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
		rec, err := d.record(w, l, parentTree, map[string]*policy.Rollout{r.Name(): r})
		if err != nil {
			return nil, err
		}
		if rec != nil {
			recs = append(recs, rec)
		}
	}
	a := &Audit{Rollout: r.Name(), Release: release}
	s := policy.Base(r.Name(), "", "", 0)
	fold := func(rec *policy.Record) {
		before := s
		s = policy.Fold(s, r, rec, d.Guardrails)
		row := policy.AuditRecord(r, before, s, rec)
		if row == nil || (release != "" && row.Release != release) {
			return
		}
		a.Findings += len(row.Findings)
		a.Rows = append(a.Rows, *row)
	}
	byCommit := map[string]*policy.Record{}
	for _, c := range commands {
		byCommit[c.Commit] = c
	}
	for i := len(recs) - 1; i >= 0; i-- {
		for _, e := range recs[i].Entries {
			for _, ap := range e.Approved {
				if c := byCommit[ap.Commit]; c != nil {
					delete(byCommit, ap.Commit)
					fold(c)
				}
			}
		}
		// The commands a merge brought in get rows of their own, after it.
		rec := *recs[i]
		rec.Merged = nil
		fold(&rec)
		for _, m := range recs[i].Merged {
			fold(m)
		}
	}
	return a, nil
}
