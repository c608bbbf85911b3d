package history

import (
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

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
func (d *Deriver) AuditRollout(tip plumbing.Hash, r *policy.Rollout, release string) (*Audit, error) {
	w := newWalker(d.Repo)
	var commits []*object.Commit
	for c, err := d.Repo.CommitObject(tip); c != nil; c, err = w.firstParent(c) {
		if err != nil {
			return nil, err
		}
		commits = append(commits, c)
	}
	a := &Audit{Rollout: r.Name(), Release: release}
	s := policy.Base(r.Name(), "", "", 0)
	var parentTree *object.Tree // oldest first: the root commit has none
	for i := len(commits) - 1; i >= 0; i-- {
		rec, err := d.record(w, commits[i], parentTree, map[string]*policy.Rollout{r.Name(): r})
		if err != nil {
			return nil, err
		}
		if parentTree, err = w.rootTree(commits[i]); err != nil {
			return nil, err
		}
		if rec == nil {
			continue
		}
		before := s
		s = policy.Fold(s, r, rec)
		row := policy.AuditRecord(r, before, s, rec)
		if row == nil || (release != "" && row.Release != release) {
			continue
		}
		a.Findings += len(row.Findings)
		a.Rows = append(a.Rows, *row)
	}
	return a, nil
}
