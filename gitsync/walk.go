package gitsync

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/policy"
)

// walker reads first-parent history and the few files a rollout manages,
// by blob hash: never a tree diff.
type walker struct {
	repo *git.Repository
}

func newWalker(repo *git.Repository) *walker { return &walker{repo: repo} }

// firstParent returns c's first parent, or nil for a root commit.
func (w *walker) firstParent(c *object.Commit) (*object.Commit, error) {
	if len(c.ParentHashes) == 0 {
		return nil, nil
	}
	p, err := w.repo.CommitObject(c.ParentHashes[0])
	if err != nil {
		return nil, fmt.Errorf("read parent %s of %s: %w", c.ParentHashes[0], short(c.Hash), err)
	}
	return p, nil
}

// fileHashes are the blob hashes of the files one rollout manages.
type fileHashes struct {
	release, stable, target, spec plumbing.Hash
}

// hashes looks up the rollout's files in tree (nil: all zero).
func (w *walker) hashes(tree *object.Tree, r *policy.Rollout) fileHashes {
	if tree == nil {
		return fileHashes{}
	}
	return fileHashes{
		release: blobHash(tree, r.Spec.Release.File),
		stable:  blobHash(tree, r.Spec.Stable.File),
		target:  blobHash(tree, r.TargetFile()),
		spec:    blobHash(tree, r.Path),
	}
}

func blobHash(tree *object.Tree, path string) plumbing.Hash {
	e, err := tree.FindEntry(path)
	if err != nil {
		return plumbing.ZeroHash
	}
	return e.Hash
}

// change compares the rollout's files in a commit (tree, hashes cur) with
// its parent's (hashes prev) and reads new field values where they changed.
func change(tree *object.Tree, cur, prev fileHashes, r *policy.Rollout) (policy.Change, error) {
	var ch policy.Change
	if cur.release != prev.release {
		v, err := fieldAt(tree, r.Spec.Release)
		if err != nil && !errors.Is(err, object.ErrFileNotFound) {
			return ch, err
		}
		ch.Release = &v
	}
	if cur.stable != prev.stable {
		v, err := fieldAt(tree, r.Spec.Stable)
		if err != nil && !errors.Is(err, object.ErrFileNotFound) {
			return ch, err
		}
		ch.Stable = &v
	}
	ch.Target = cur.target != prev.target
	ch.Spec = cur.spec != prev.spec
	return ch, nil
}

// values are a rollout's field values at one commit.
type values struct {
	release, stable string
	weight          int
}

// readValues reads the release, stable and canary weight at tree.
func readValues(tree *object.Tree, r *policy.Rollout) (values, error) {
	var v values
	var err error
	if tree == nil {
		return v, object.ErrFileNotFound
	}
	if v.release, err = fieldAt(tree, r.Spec.Release); err != nil {
		return v, err
	}
	if v.stable, err = fieldAt(tree, r.Spec.Stable); err != nil {
		return v, err
	}
	v.weight, err = weightAt(tree, r)
	return v, err
}

// fieldAt reads one field of one file at tree.
func fieldAt(tree *object.Tree, f policy.FieldRef) (string, error) {
	data, err := readFile(tree, f.File)
	if err != nil {
		return "", err
	}
	p, err := policy.ParseFieldPath(f.Path)
	if err != nil {
		return "", err
	}
	v, err := GetField(data, p)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", f.File, f.Path, err)
	}
	return v, nil
}

// weightAt reads the canary weight from the rollout's traffic target.
func weightAt(tree *object.Tree, r *policy.Rollout) (int, error) {
	data, err := readFile(tree, r.TargetFile())
	if err != nil {
		return 0, err
	}
	return Weight(data, r)
}

// Weight reads the canary weight from the content of the target file.
func Weight(data []byte, r *policy.Rollout) (int, error) {
	t := r.Spec.Target
	if t.HTTPRoute != nil {
		return RouteWeights(data, *t.HTTPRoute)
	}
	p, err := policy.ParseFieldPath(t.Field.Path)
	if err != nil {
		return 0, err
	}
	s, err := GetField(data, p)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: %w", t.Field.File, t.Field.Path, err)
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %s: weight %q is not an integer", t.Field.File, t.Field.Path, s)
	}
	return n, nil
}

// readFile returns a file's content at tree.
func readFile(tree *object.Tree, path string) ([]byte, error) {
	f, err := tree.File(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rd, err := f.Reader()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer rd.Close()
	return io.ReadAll(rd)
}
