package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ramp-dev/ramp/history"
)

// workTree is a release repository's working copy, read as git stores it:
// a symbolic link, at a path or at a directory above it, is never
// followed but reported as a *history.SymlinkError naming the link and
// its target, as ramp run reports it from git's tree. Every command reads
// repository content through it and never with the OS file API, so a
// link committed in a pull request cannot make a command read, or print,
// a file outside the repository (a CI runner's secrets, say).
type workTree struct{ root string }

// lstat checks rel (slash-separated, relative, clean, inside the working
// copy) part by part without following a link, and returns its OS path
// and what is there.
func (w workTree) lstat(rel string) (string, fs.FileInfo, error) {
	if rel == "" || path.IsAbs(rel) || strings.Contains(rel, `\`) || path.Clean(rel) != rel ||
		rel == ".." || strings.HasPrefix(rel, "../") {
		return "", nil, fmt.Errorf("%s: not a clean path inside the repository", rel)
	}
	p := w.root
	var fi fs.FileInfo
	if rel == "." {
		fi, err := os.Lstat(p)
		return p, fi, err
	}
	for _, part := range strings.Split(rel, "/") {
		p = filepath.Join(p, part)
		var err error
		if fi, err = os.Lstat(p); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return "", nil, fmt.Errorf("%s: %w", rel, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			link, _ := filepath.Rel(w.root, p)
			return "", nil, &history.SymlinkError{Path: rel, Link: filepath.ToSlash(link), Target: target}
		}
	}
	return p, fi, nil
}

// ReadFile reads the regular file rel.
func (w workTree) ReadFile(rel string) ([]byte, error) {
	p, fi, err := w.lstat(rel)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", rel)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	defer f.Close()
	// The file opened is the one checked, not a link put there since.
	if opened, err := f.Stat(); err != nil || !os.SameFile(fi, opened) {
		return nil, fmt.Errorf("%s: changed while being read", rel)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	return data, nil
}

// ReadDir lists the directory rel; its entries' types are their own (a
// link is a link, not what it points at).
func (w workTree) ReadDir(rel string) ([]fs.DirEntry, error) {
	p, fi, err := w.lstat(rel)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", rel)
	}
	return os.ReadDir(p)
}

// Walk walks the directory rel as filepath.WalkDir does (links are not
// followed), with slash-separated paths relative to the working copy.
func (w workTree) Walk(rel string, fn func(rel string, d fs.DirEntry, err error) error) error {
	p, fi, err := w.lstat(rel)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", rel)
	}
	return filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		r, _ := filepath.Rel(w.root, q)
		return fn(filepath.ToSlash(r), d, err)
	})
}

// MkdirAll makes the directory rel and those above it that are missing,
// refusing a link on the way (a write through it could land outside the
// repository).
func (w workTree) MkdirAll(rel string) error {
	parts := strings.Split(rel, "/")
	for i := range parts {
		dir := strings.Join(parts[:i+1], "/")
		_, fi, err := w.lstat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := os.Mkdir(filepath.Join(w.root, filepath.FromSlash(dir)), 0o755); err != nil {
				return err
			}
		case err != nil:
			return err
		case !fi.IsDir():
			return fmt.Errorf("%s: not a directory", dir)
		}
	}
	return nil
}

// Inside returns file's path relative to the working copy, slash
// separated, when file lies inside it.
func (w workTree) Inside(file string) (string, bool) {
	root, err1 := filepath.Abs(w.root)
	abs, err2 := filepath.Abs(file)
	if err1 != nil || err2 != nil {
		return "", false
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}
