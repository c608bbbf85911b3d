package history

import (
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/manifest"
	"github.com/ramp-dev/ramp/policy"
)

// jobFacts adds to rec what the commit's tree (its first parent's:
// parentTree) holds of the migration Jobs of rollouts (spec.migrations):
// for a rollout whose release field the commit changes, every Job file;
// for the others, the Job files it changed. It reports whether it added
// any. policy.Fold decides what they mean.
func (w *walker) jobFacts(tree, parentTree *object.Tree, rollouts map[string]*policy.Rollout, rec *policy.Record) bool {
	added := false
	for name, r := range rollouts {
		files := r.MigrationJobFiles()
		if len(files) == 0 {
			continue
		}
		starts := rec.Changes[name].Release != nil
		var facts []policy.JobFact
		for _, f := range files {
			changed := !w.sameEntry(tree, parentTree, f)
			if !changed && !starts {
				continue
			}
			fact := policy.JobFact{File: f, Changed: changed}
			data, err := w.readFile(tree, f)
			if err == nil {
				fact.Suspend, err = manifest.JobSuspend(data)
			}
			if err != nil {
				fact.Problem = err.Error()
			}
			facts = append(facts, fact)
		}
		if len(facts) > 0 {
			if rec.Jobs == nil {
				rec.Jobs = map[string][]policy.JobFact{}
			}
			rec.Jobs[name] = facts
			added = true
		}
	}
	return added
}
