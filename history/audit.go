package history

import (
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/trailer"
)

// Audit is a rollout's history, oldest first.
type Audit struct {
	Rollout string            `json:"rollout"`
	Release string            `json:"release,omitempty"`
	Rows    []policy.AuditRow `json:"rows"`
	// Findings counts the findings in Rows.
	Findings int `json:"findings"`
	// Releases are the complete records of the releases Rows start.
	Releases []policy.ReleaseRecord `json:"releases,omitempty"`
}

// AuditRollout walks the whole first-parent history up to tip and lists
// every commit that started a release of r, carried ramp's trailers for
// it, gave a command for it or edited the files it manages, each read and
// folded with the spec as it was at that commit (r, the spec at tip, where
// the file is absent or invalid). When release is set only that release's
// rows and record are kept. Findings: ramp trailers without ramp's
// signature, a managed file edited by hand (or drifted), approvals
// recorded by ramp that history does not hold, and gate results whose
// query hash does not match the spec's query.
//
// commands are the records of a commands ref (Commands): an approval a
// step commit names that is not on the release branch is looked up there,
// judged by the same rules, and listed just before the step that used it;
// those for the release still in flight that no step used are listed at
// the end, as the loop judges them. The commands a merge brought in are
// listed right after the merge. A command whose commit does not descend
// from the release's start (or a step approval's from the step's commit)
// is a finding.
func (d *Deriver) AuditRollout(tip plumbing.Hash, r *policy.Rollout, release string, commands ...*policy.Record) (*Audit, error) {
	return deepening(d, func() (*Audit, error) { return d.auditRollout(tip, r, release, false, commands...) })
}

// auditRollout is AuditRollout on the commits the clone has. plain reads
// every commit in full (no scan skips any): the straightforward walk the
// tests compare the scan with.
func (d *Deriver) auditRollout(tip plumbing.Hash, r *policy.Rollout, release string, plain bool, commands ...*policy.Record) (*Audit, error) {
	// Read the records newest first, then fold them oldest first.
	type audited struct {
		rec     *policy.Record
		spec    *specAt
		message string
	}
	w := d.walker()
	specs := &specReader{w: w, tip: r, guardrails: d.Guardrails, seen: map[plumbing.Hash]*specAt{}}
	var items []audited
	var skip func(c, parent rawCommit) bool
	if !plain {
		skip = func(c, parent rawCommit) bool { return w.scan().skips(specs, c, parent) }
	}
	err := d.auditWalk(w, tip, skip, func(l link) error {
		tree, err := w.rootTree(l.commit)
		if err != nil {
			return err
		}
		parentTree, err := w.rootTree(l.parent)
		if err != nil {
			return err
		}
		spec := specs.at(tree)
		rec, err := d.record(w, l, parentTree, map[string]*policy.Rollout{r.Name(): spec.fold})
		if err != nil {
			return err
		}
		if rec != nil {
			items = append(items, audited{rec: rec, spec: spec, message: l.commit.Message})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	byCommit := map[string]*policy.Record{}
	for _, c := range commands {
		byCommit[c.Commit] = c
	}
	a := &Audit{Rollout: r.Name(), Release: release}
	s := policy.Base(r.Name(), "", "", 0)
	var rows []policy.AuditRow
	changedIn := ""
	fold := func(rec *policy.Record, spec *specAt, message string) error {
		before := s
		var err error
		if s, err = d.fold(s, spec.fold, rec); err != nil {
			return err
		}
		row := policy.AuditRecord(spec.fold, before, s, rec)
		if row == nil {
			return nil
		}
		row.Spec = spec.version(r.Path, rec.Commit, changedIn)
		if len(rec.Commands) > 0 {
			row.Message = messageBody(message)
		}
		rows = append(rows, *row)
		return nil
	}
	for i := len(items) - 1; i >= 0; i-- {
		it := items[i]
		if it.rec.Changes[r.Name()].Spec {
			changedIn = it.rec.Commit
		}
		for _, e := range it.rec.Entries {
			for _, ap := range e.Approved {
				if c := byCommit[ap.Commit]; c != nil {
					delete(byCommit, ap.Commit)
					if err := fold(c, it.spec, ""); err != nil {
						return nil, err
					}
				}
			}
		}
		rec := *it.rec
		rec.Merged = nil
		if err := fold(&rec, it.spec, it.message); err != nil {
			return nil, err
		}
		for _, m := range it.rec.Merged {
			if err := fold(m, it.spec, ""); err != nil {
				return nil, err
			}
		}
	}
	// The commands ref's commands for the release in flight that no step
	// used count after the release branch, as the loop reads them: an
	// approval ramp rejected (one from another repository's history) is
	// listed, and its finding reported.
	for _, c := range commands {
		if byCommit[c.Commit] != nil && len(items) > 0 && s.InProgress() && commandFor(c, r.Name(), s.Release) {
			if err := fold(c, items[0].spec, ""); err != nil {
				return nil, err
			}
		}
	}
	for _, row := range rows {
		if release == "" || row.Release == release {
			a.Findings += len(row.Findings)
			a.Rows = append(a.Rows, row)
		}
	}
	for _, rec := range policy.ReleaseRecords(r.Name(), rows, specs.parsed()) {
		if release == "" || rec.Release == release {
			a.Releases = append(a.Releases, rec)
		}
	}
	return a, nil
}

// commandFor reports whether rec gives a command for rollout name's
// release.
func commandFor(rec *policy.Record, name, release string) bool {
	for _, c := range rec.Commands {
		if c.Rollout == name && c.Release == release {
			return true
		}
	}
	return false
}

// specAt is a rollout's spec file at one commit.
type specAt struct {
	blob plumbing.Hash // zero when the file is absent
	// rollout is the parsed file, nil when it did not parse; err says
	// why it did not parse or validate.
	rollout *policy.Rollout
	err     error
	// fold is the spec the audit folds the commit with: rollout when it
	// validates, else the spec at the tip.
	fold *policy.Rollout
}

// version describes the spec at commit, last changed in changedIn.
func (s *specAt) version(path, commit, changedIn string) *policy.SpecVersion {
	v := &policy.SpecVersion{Path: path, Commit: commit}
	if s.blob.IsZero() {
		return v
	}
	v.Blob, v.ChangedIn = s.blob.String(), changedIn
	if s.err != nil {
		v.Error = s.err.Error()
	}
	return v
}

// specReader reads one rollout's spec at the commits of a walk, parsing
// each version of the file once.
type specReader struct {
	w          *walker
	tip        *policy.Rollout
	guardrails policy.Guardrails
	seen       map[plumbing.Hash]*specAt
	absent     *specAt
}

// at returns the spec in tree.
func (sr *specReader) at(tree *object.Tree) *specAt {
	h := sr.w.blobHash(tree, sr.tip.Path)
	if h.IsZero() {
		if sr.absent == nil {
			sr.absent = &specAt{fold: sr.tip}
		}
		return sr.absent
	}
	if s, ok := sr.seen[h]; ok {
		return s
	}
	s := &specAt{blob: h, fold: sr.tip}
	data, err := sr.w.readFile(tree, sr.tip.Path)
	if err == nil {
		s.rollout, err = policy.Parse(sr.tip.Path, data)
	}
	if err == nil {
		err = policy.Validate(s.rollout, sr.guardrails).Err()
		if err == nil {
			s.fold = s.rollout
		}
	}
	s.err = err
	sr.seen[h] = s
	return s
}

// parsed returns the versions of the spec that parsed, by blob hash.
func (sr *specReader) parsed() map[string]*policy.Rollout {
	out := map[string]*policy.Rollout{}
	for h, s := range sr.seen {
		if s.rollout != nil {
			out[h.String()] = s.rollout
		}
	}
	return out
}

// messageBody is a commit message without its trailer block (its last
// paragraph, when that holds trailers).
func messageBody(message string) string {
	message = strings.TrimSpace(message)
	if len(trailer.Parse(message)) > 0 {
		i := strings.LastIndex(message, "\n\n")
		message = message[:max(i, 0)]
	}
	return strings.TrimSpace(message)
}
