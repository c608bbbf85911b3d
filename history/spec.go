package history

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/policy"
)

// Spec reads the spec of rollout name at tip as Specs reads every spec,
// and no other: r is what Specs has in Rollouts[name] (nil when there is
// no such rollout or its spec does not parse or validate), invalid what
// it has in Invalid[name]. An audit of one rollout needs its spec only;
// at 200 rollouts reading them all costs ~0.1 s.
func (d *Deriver) Spec(tip plumbing.Hash, name string) (r *policy.Rollout, invalid error, err error) {
	c, err := object.GetCommit(d.objects(), tip)
	if err != nil {
		return nil, nil, fmt.Errorf("read commit %s: %w", tip, err)
	}
	w := d.walker()
	tree, err := w.rootTree(c)
	if err != nil {
		return nil, nil, err
	}
	specs, err := tree.Tree(policy.SpecDir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s/ at %s: %w", policy.SpecDir, short(tip), err)
	}
	var entry *object.TreeEntry
	for i, e := range specs.Entries {
		if e.Name == name && !e.Mode.IsFile() {
			entry = &specs.Entries[i]
		}
	}
	if entry == nil {
		return nil, nil, nil
	}
	r, invalid = d.readSpec(w, tree, name, nil)
	return r, invalid, nil
}
