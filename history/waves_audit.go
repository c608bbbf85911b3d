package history

import (
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/policy"
)

// FleetAudit is the history of a rollout with targets as lanes: one row
// per commit that concerns it, oldest first, with what the commit did in
// each target's lane (policy.AuditRecord of the target's own rollout).
type FleetAudit struct {
	Rollout string   `json:"rollout"`
	Targets []string `json:"targets"`
	// Waves names each target's wave.
	Waves    map[string]string `json:"waves"`
	Rows     []FleetAuditRow   `json:"rows"`
	Findings int               `json:"findings"`
}

// FleetAuditRow is one commit: the release it is about, the wave it is
// part of (a hand-over or a target's step), and each lane it touched.
type FleetAuditRow struct {
	policy.AuditRow
	Wave string `json:"wave,omitempty"`
	// Lanes are what the commit did per target, by target name.
	Lanes map[string]policy.AuditRow `json:"lanes,omitempty"`
}

// AuditFleet walks the whole first-parent history up to tip and lists
// every commit that changed spec.release of r (a rollout with targets),
// handed a release to a wave, or concerned one of its targets, each
// folded with FoldFleet. It judges the history with the spec at tip (the
// audit of a rollout without targets, AuditRollout, uses each commit's).
func (d *Deriver) AuditFleet(tip plumbing.Hash, r *policy.Rollout, release string) (*FleetAudit, error) {
	return d.auditFleet(tip, r, release, false)
}

// auditFleet is AuditFleet; plain reads every commit in full (no scan
// skips any), as auditRollout.
func (d *Deriver) auditFleet(tip plumbing.Hash, r *policy.Rollout, release string, plain bool) (*FleetAudit, error) {
	w := d.walker()
	rolls := fleetRollouts(r)
	var skip func(c, parent rawCommit) bool
	if !plain {
		paths := fleetFiles(rolls)
		skip = func(c, parent rawCommit) bool { return w.scan().skipsFleet(paths, c, parent) }
	}
	var recs []*policy.Record
	var exists []bool // whether the spec file is in the commit's tree
	err := d.auditWalk(w, tip, skip, func(l link) error {
		tree, err := w.rootTree(l.commit)
		if err != nil {
			return err
		}
		parentTree, err := w.rootTree(l.parent)
		if err != nil {
			return err
		}
		rec, err := d.record(w, l, parentTree, rolls)
		if err != nil {
			return err
		}
		if rec != nil {
			recs = append(recs, rec)
			exists = append(exists, !w.blobHash(tree, r.Path).IsZero())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a := &FleetAudit{Rollout: r.Name(), Waves: map[string]string{}}
	for _, t := range r.Spec.Targets {
		a.Targets = append(a.Targets, t.Name)
		if i := r.WaveOf(t.Name); i >= 0 {
			a.Waves[t.Name] = r.Spec.Waves[i].Name
		}
	}
	fs, _ := w.fleetAt(nil, r)
	for i := len(recs) - 1; i >= 0; i-- {
		rec := recs[i]
		if !exists[i] {
			continue // the rollout does not exist yet (or any more)
		}
		before := fs
		var err error
		if fs, err = d.foldFleetRecord(fs, r, rec); err != nil {
			return nil, err
		}
		row := FleetAuditRow{AuditRow: policy.AuditRow{Commit: rec.Commit, Time: rec.Time, Author: rec.Author, Signer: rec.Signer, Release: fs.Release}}
		if ch := rec.Changes[r.Name()]; ch.Release != nil {
			row.What = "start"
		}
		for _, e := range rec.Entries {
			if e.Rollout == r.Name() {
				row.What, row.Wave, row.Reason = string(e.Action), e.Wave, e.Reason
				row.Approved = e.Approved
			} else if e.Wave != "" {
				row.Wave = e.Wave
			}
		}
		for _, c := range rec.Commands {
			if c.Rollout == r.Name() && row.What == "" {
				row.What = string(c.Kind)
			}
		}
		row.Rejected = fs.Rejected[len(before.Rejected):]
		for _, rj := range row.Rejected {
			if rj.Foreign {
				row.Findings = append(row.Findings, rj.Reason)
				a.Findings++
			}
		}
		for _, t := range r.Spec.Targets {
			lane := policy.AuditRecord(r.ForTarget(t.Name), before.Targets[t.Name], fs.Targets[t.Name], rec)
			if lane == nil {
				continue
			}
			if row.Lanes == nil {
				row.Lanes = map[string]policy.AuditRow{}
			}
			row.Lanes[t.Name] = *lane
			a.Findings += len(lane.Findings)
		}
		if row.What == "" && len(row.Lanes) == 0 && len(row.Rejected) == 0 {
			continue
		}
		if release == "" || row.Release == release {
			a.Rows = append(a.Rows, row)
		}
	}
	return a, nil
}
