package history

import (
	"errors"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// linkOn returns the *SymlinkError of a symbolic link at path in tree, or
// at a directory above it, or nil. A guardrail's migrations path that is
// a link hides what changes behind it: git stores the link, and its
// target's edits change no entry at the path.
func (w *walker) linkOn(tree *object.Tree, path string) error {
	e, err := w.entry(tree, path)
	var link *SymlinkError
	if errors.As(err, &link) {
		return link
	}
	if err != nil || e.Mode != filemode.Symlink {
		return nil
	}
	b, err := object.GetBlob(w.s, e.Hash)
	if err != nil {
		return err
	}
	return symlinkError(path, path, b)
}
