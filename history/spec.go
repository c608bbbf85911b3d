package history

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/manifest"
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
		return nil, nil, specDirLink(w, tree)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read %s/ at %s: %w", policy.SpecDir, short(tip), err)
	}
	var entry *object.TreeEntry
	for i, e := range specs.Entries {
		if e.Name == name && (!e.Mode.IsFile() || e.Mode == filemode.Symlink) {
			entry = &specs.Entries[i]
		}
	}
	if entry == nil {
		return nil, nil, nil
	}
	if entry.Mode == filemode.Symlink {
		return nil, specLinkError(w, name, entry), nil
	}
	r, invalid = d.readSpec(w, tree, name, nil)
	return r, invalid, nil
}

// Specs reads and validates every spec under releases/ at tip, and reads
// no history: a Snapshot whose States are empty. An audit needs only the
// specs; a derive would walk back to every in-flight release first.
func (d *Deriver) Specs(tip plumbing.Hash) (*Snapshot, error) {
	return d.load(tip)
}

// load reads and validates every spec under releases/ at tip.
func (d *Deriver) load(tip plumbing.Hash) (*Snapshot, error) {
	snap := &Snapshot{Tip: tip, Rollouts: map[string]*policy.Rollout{}, Invalid: map[string]error{}, States: map[string]policy.State{},
		targets: map[string]plumbing.Hash{}}
	c, err := object.GetCommit(d.objects(), tip)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", tip, err)
	}
	w := d.walker()
	tree, err := w.rootTree(c)
	if err != nil {
		return nil, err
	}
	specs, err := tree.Tree(policy.SpecDir)
	if errors.Is(err, object.ErrDirectoryNotFound) {
		if err := specDirLink(w, tree); err != nil {
			return nil, err
		}
		return snap, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s/ at %s: %w", policy.SpecDir, short(tip), err)
	}
	snap.specs = specs.Hash
	for _, e := range specs.Entries {
		if e.Mode == filemode.Symlink {
			// A link where a rollout's directory is expected holds that
			// rollout: read as missing, it would leave ramp's control
			// silently.
			snap.Invalid[e.Name] = specLinkError(w, e.Name, &e)
			continue
		}
		if e.Mode.IsFile() {
			continue
		}
		r, invalid := d.readSpec(w, tree, e.Name, func(p string) { snap.targets[p] = w.blobHash(tree, p) })
		if r != nil {
			snap.Rollouts[e.Name] = r
		}
		if invalid != nil {
			snap.Invalid[e.Name] = invalid
		}
	}
	return snap, nil
}

// specDirLink returns the *SymlinkError of releases/ when it is a link
// in tree, or nil: a link there is no repository without rollouts, which
// would leave every rollout ramp's control silently, but an error.
func specDirLink(w *walker, tree *object.Tree) error {
	e, ok := FindEntry(tree, policy.SpecDir)
	if !ok || e.Mode != filemode.Symlink {
		return nil
	}
	b, err := object.GetBlob(w.s, e.Hash)
	if err != nil {
		return fmt.Errorf("%s: %w", policy.SpecDir, err)
	}
	return symlinkError(policy.SpecDir, policy.SpecDir, b)
}

// specLinkError is the *SymlinkError of releases/<name>, entry e of
// releases/, a symbolic link.
func specLinkError(w *walker, name string, e *object.TreeEntry) error {
	link := policy.SpecDir + "/" + name
	b, err := object.GetBlob(w.s, e.Hash)
	if err != nil {
		return fmt.Errorf("%s: %w", link, err)
	}
	return symlinkError(policy.SpecPath(name), link, b)
}

// readSpec reads rollout name's spec in tree, parses and validates it,
// and checks the fields its targets name. r is nil when the spec cannot be
// read, parsed or validated, and invalid says why; a spec that parses but
// names a field that cannot be used is returned with invalid too: the
// rollout holds, and its history can still be audited. read, when set, is
// told every file a target check reads.
func (d *Deriver) readSpec(w *walker, tree *object.Tree, name string, read func(path string)) (r *policy.Rollout, invalid error) {
	path := policy.SpecPath(name)
	data, err := w.readFile(tree, path)
	if err != nil {
		return nil, err
	}
	if r, err = policy.Parse(path, data); err == nil {
		err = policy.Validate(r, d.Guardrails).Err()
	}
	if err != nil {
		return nil, err
	}
	check := func(r *policy.Rollout) error {
		files := func(p string) ([]byte, error) {
			if read != nil {
				read(p)
			}
			return w.readFile(tree, p)
		}
		return append(manifest.CheckTarget(files, r), manifest.CheckMigrationJobs(files, r)...).Err()
	}
	if r.HasTargets() {
		return r, checkFleetTargets(r, check)
	}
	return r, check(r)
}
