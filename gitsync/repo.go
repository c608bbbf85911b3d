package gitsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/utils/merkletrie"
)

// ErrBranchMoved reports that the branch no longer points at the commit a
// push or update expected: someone else's commit landed first. The caller
// fetches, re-derives the state and re-plans; it never overwrites.
var ErrBranchMoved = errors.New("branch moved since it was last read: fetch, re-derive and re-plan")

const originName = "origin"

// Repo is one release repository: either ramp's own persistent clone (Open),
// a bare clone that is only a cache, or a user's working copy (OpenLocal).
type Repo struct {
	repo   *git.Repository
	dir    string
	url    string // origin's URL; empty for a working copy without origin
	branch string
	auth   transport.AuthMethod
	// depth is how many commits a shallow clone (OpenShallow) has asked
	// for; 0 for a full one.
	depth int
	// owned is true for clones made by Open: bare, and ramp's to rebuild.
	// A user's working copy is only moved forward, and only when its
	// tracked files have no local changes.
	owned bool
}

// OpenLocal returns the working copy at path (`--repo DIR`) without
// cloning. Fetch and Push use its origin remote when it has one, with the
// default credentials of go-git (ssh-agent and ~/.ssh/known_hosts for SSH,
// none for HTTPS); without origin the local branch is the release branch.
func OpenLocal(path, branch string) (*Repo, error) {
	if branch == "" {
		return nil, fmt.Errorf("open %s: no branch given", path)
	}
	// A bare repository, or a working copy's top; else search upwards.
	repo, err := plainOpen(path)
	if err != nil {
		repo, err = git.PlainOpenWithOptions(path, &git.PlainOpenOptions{DetectDotGit: true})
	}
	if err != nil {
		return nil, fmt.Errorf("open git repository at %s: %w", path, err)
	}
	r := &Repo{repo: repo, dir: path, branch: branch}
	if wt, err := repo.Worktree(); err == nil {
		r.dir = wt.Filesystem.Root()
	}
	if origin, err := repo.Remote(originName); err == nil && len(origin.Config().URLs) > 0 {
		r.url = origin.Config().URLs[0]
	} else if err != nil && !errors.Is(err, git.ErrRemoteNotFound) {
		return nil, fmt.Errorf("read origin of %s: %w", path, err)
	}
	if _, err := repo.Reference(r.branchRef(), true); err != nil {
		return nil, fmt.Errorf("branch %q not found in %s: %w", branch, r.dir, err)
	}
	return r, nil
}

// Git returns the underlying go-git repository.
func (r *Repo) Git() *git.Repository { return r.repo }

// Dir returns the directory of the clone, or of the working copy's top.
func (r *Repo) Dir() string { return r.dir }

// Branch returns the release branch's short name, such as "main".
func (r *Repo) Branch() string { return r.branch }

func (r *Repo) branchRef() plumbing.ReferenceName { return plumbing.NewBranchReferenceName(r.branch) }

func (r *Repo) trackingRef() plumbing.ReferenceName {
	return plumbing.NewRemoteReferenceName(originName, r.branch)
}

// Tip returns the commit the local branch points at.
func (r *Repo) Tip() (plumbing.Hash, error) {
	ref, err := r.repo.Reference(r.branchRef(), true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read branch %q in %s: %w", r.branch, r.dir, err)
	}
	return ref.Hash(), nil
}

// Fetch brings the remote branch into refs/remotes/origin/<branch>, fetching
// only objects the clone lacks, and returns the remote tip. Without an
// origin it returns the local branch tip.
func (r *Repo) Fetch(ctx context.Context) (plumbing.Hash, error) {
	if r.url == "" {
		return r.Tip()
	}
	return r.fetchBranch(ctx, r.branch)
}

// fetchBranch brings the remote branch name into
// refs/remotes/origin/<name>, fetching only objects the clone lacks, and
// returns its tip. A branch the remote lacks is an error that wraps
// git.NoMatchingRefSpecError.
func (r *Repo) fetchBranch(ctx context.Context, name string) (plumbing.Hash, error) {
	tracking := plumbing.NewRemoteReferenceName(originName, name)
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", plumbing.NewBranchReferenceName(name), tracking))
	err := r.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: originName,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       r.auth,
		Tags:       git.NoTags,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return plumbing.ZeroHash, remoteErr("fetch", r.url, name, err)
	}
	ref, err := r.repo.Reference(tracking, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read %s after fetch: %w", tracking, err)
	}
	return ref.Hash(), nil
}

// Push makes newTip the branch's tip if, and only if, the branch still
// points at expected (compare-and-swap), else it returns ErrBranchMoved.
// On success the local branch (and its working tree, when checked out)
// follows.
//
// With an origin, one receive-pack session sends a pack of only the objects
// the new commits added (their commits and changed trees and blobs; no walk
// of the history below expected) and the update command
// `<expected> <newTip> refs/heads/<branch>`. The client refuses unless the
// advertised tip is expected, and the update command carries expected as
// the old value, so receive-pack refuses when another push landed in
// between. No commit ramp has not seen is ever overwritten. New commits
// that do not build on expected go through go-git's push instead, with the
// refspec `+<newTip>:refs/heads/<branch>` and RequireRemoteRefs
// `<expected>:refs/heads/<branch>`: the same compare-and-swap.
// Without an origin the local ref is compared and set under go-git's file
// lock; the system git locks with a separate .lock file, so a git command
// updating the same branch at the same instant is not excluded.
func (r *Repo) Push(ctx context.Context, expected, newTip plumbing.Hash) error {
	return r.push(ctx, expected, newTip, nil)
}

// push is Push; pack, when not nil, is the pack to send: every object the
// new commits added, already stored in the clone (a pass's passStore.pack).
func (r *Repo) push(ctx context.Context, expected, newTip plumbing.Hash, pack []byte) error {
	if expected.IsZero() || newTip.IsZero() {
		return fmt.Errorf("push %s: expected and new tip must both be commits", r.branch)
	}
	if _, err := r.repo.CommitObject(newTip); err != nil {
		return fmt.Errorf("push %s: new tip %s: %w", r.branch, newTip, err)
	}
	if r.url == "" {
		return r.pushLocal(expected, newTip)
	}
	local, _ := r.Tip()
	move, err := r.planMove(local, newTip)
	if err != nil {
		return err
	}
	origin, err := r.repo.Remote(originName)
	if err != nil {
		return fmt.Errorf("push %s: %w", r.branch, err)
	}
	err = r.pushPack(ctx, expected, newTip, pack)
	if errors.Is(err, errNotOnExpected) {
		err = r.pushAll(ctx, origin, expected, newTip)
	}
	if err != nil {
		return err
	}
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(r.trackingRef(), newTip)); err != nil {
		return fmt.Errorf("pushed %s to %s, but recording it locally failed: %w", newTip, r.branch, err)
	}
	return r.moveBranch(newTip, move)
}

// pushAll is the push for new commits that do not build on expected: go-git
// walks every object reachable from newTip that the remote lacks.
func (r *Repo) pushAll(ctx context.Context, origin *git.Remote, expected, newTip plumbing.Hash) error {
	dst := r.branchRef().String()
	err := origin.PushContext(ctx, &git.PushOptions{
		RemoteName:        originName,
		RefSpecs:          []config.RefSpec{config.RefSpec("+" + newTip.String() + ":" + dst)},
		RequireRemoteRefs: []config.RefSpec{config.RefSpec(expected.String() + ":" + dst)},
		Auth:              r.auth,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return r.pushErr(ctx, expected, err)
	}
	return nil
}

// pushLocal compares and sets the local branch ref of a repository that has
// no origin.
func (r *Repo) pushLocal(expected, newTip plumbing.Hash) error {
	cur, err := r.Tip()
	if err != nil {
		return err
	}
	if cur == newTip {
		return nil
	}
	if cur != expected {
		return fmt.Errorf("update %s in %s: %w (it is at %s, expected %s)", r.branch, r.dir, ErrBranchMoved, cur, expected)
	}
	move, err := r.planMove(expected, newTip)
	if err != nil {
		return err
	}
	err = r.repo.Storer.CheckAndSetReference(
		plumbing.NewHashReference(r.branchRef(), newTip),
		plumbing.NewHashReference(r.branchRef(), expected))
	if errors.Is(err, storage.ErrReferenceHasChanged) {
		return fmt.Errorf("update %s in %s: %w", r.branch, r.dir, ErrBranchMoved)
	}
	if err != nil {
		return fmt.Errorf("update %s in %s: %w", r.branch, r.dir, err)
	}
	return r.moveBranch(newTip, move)
}

// pushErr maps a failed push to ErrBranchMoved when the remote branch is no
// longer at expected, and to a readable error otherwise.
func (r *Repo) pushErr(ctx context.Context, expected plumbing.Hash, err error) error {
	msg := err.Error()
	if strings.Contains(msg, "required to be") || strings.Contains(msg, "non-fast-forward") {
		return fmt.Errorf("push %s to %s: %w (%s)", r.branch, redactURL(r.url), ErrBranchMoved, msg)
	}
	// receive-pack refuses the update ("failed to update ref") when the
	// branch moved after it advertised it: ask the server where it is now.
	if tip, lerr := r.remoteTip(ctx); lerr == nil && tip != expected {
		return fmt.Errorf("push %s to %s: %w (%s)", r.branch, redactURL(r.url), ErrBranchMoved, msg)
	}
	return remoteErr("push", r.url, r.branch, err)
}

// remoteTip lists the remote's refs and returns the branch's tip there.
func (r *Repo) remoteTip(ctx context.Context) (plumbing.Hash, error) {
	origin, err := r.repo.Remote(originName)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	refs, err := origin.ListContext(ctx, &git.ListOptions{Auth: r.auth})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for _, ref := range refs {
		if ref.Name() == r.branchRef() {
			return ref.Hash(), nil
		}
	}
	return plumbing.ZeroHash, nil
}

// ResetTo points the local branch at hash, a commit already in the clone
// (after Fetch). It never touches the remote. A user's working copy is
// only moved forward and only when its tracked files have no local
// changes.
func (r *Repo) ResetTo(hash plumbing.Hash) error {
	if _, err := r.repo.CommitObject(hash); err != nil {
		return fmt.Errorf("reset %s to %s: %w", r.branch, hash, err)
	}
	local, _ := r.Tip()
	move, err := r.planMove(local, hash)
	if err != nil {
		return err
	}
	return r.moveBranch(hash, move)
}

// checkedOut reports whether the working tree has the branch checked out.
func (r *Repo) checkedOut() bool {
	head, err := r.repo.Storer.Reference(plumbing.HEAD)
	if err != nil || head.Type() != plumbing.SymbolicReference || head.Target() != r.branchRef() {
		return false
	}
	_, err = r.repo.Worktree()
	return err == nil
}

// treeMove is the file changes that take a checked-out working copy from
// one commit to another.
type treeMove struct {
	changes object.Changes
	to      *object.Tree
}

// planMove checks that a user's working copy may move from one commit to
// another (like `git reset --keep`) and returns the file changes, or nil
// when there is nothing to change on disk. ramp's own clones need no plan.
func (r *Repo) planMove(from, to plumbing.Hash) (*treeMove, error) {
	if r.owned || from == to || from.IsZero() || !r.checkedOut() {
		return nil, nil
	}
	fromCommit, err := r.repo.CommitObject(from)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", from, err)
	}
	toCommit, err := r.repo.CommitObject(to)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", to, err)
	}
	ok, err := fromCommit.IsAncestor(toCommit)
	if err != nil {
		return nil, fmt.Errorf("walk history from %s: %w", to, err)
	}
	if !ok {
		return nil, fmt.Errorf("branch %q in %s has commits that %s does not contain: "+
			"push or drop them before ramp moves the branch", r.branch, r.dir, to)
	}
	wt, _ := r.repo.Worktree()
	status, err := wt.Status()
	if err != nil {
		return nil, fmt.Errorf("read status of %s: %w", r.dir, err)
	}
	var dirty []string
	for path, s := range status {
		if s.Worktree != git.Untracked && (s.Staging != git.Unmodified || s.Worktree != git.Unmodified) {
			dirty = append(dirty, path)
		}
	}
	if len(dirty) > 0 {
		sort.Strings(dirty)
		return nil, fmt.Errorf("working tree %s has local changes (%s): commit or stash them, then run ramp again",
			r.dir, strings.Join(dirty, ", "))
	}
	fromTree, err := fromCommit.Tree()
	if err != nil {
		return nil, err
	}
	toTree, err := toCommit.Tree()
	if err != nil {
		return nil, err
	}
	changes, err := object.DiffTree(fromTree, toTree)
	if err != nil {
		return nil, fmt.Errorf("compare %s and %s: %w", from, to, err)
	}
	for _, ch := range changes {
		action, _ := ch.Action()
		if _, err := os.Lstat(filepath.Join(r.dir, ch.To.Name)); action == merkletrie.Insert && err == nil {
			return nil, fmt.Errorf("untracked file %s in %s would be overwritten by %s: move it away, then run ramp again",
				ch.To.Name, r.dir, to)
		}
	}
	return &treeMove{changes: changes, to: toTree}, nil
}

// moveBranch points the local branch at hash and brings a user's
// checked-out working copy along with the planned file changes. ramp's own
// clone is bare: its branch is all there is to move.
func (r *Repo) moveBranch(hash plumbing.Hash, move *treeMove) error {
	if err := r.repo.Storer.SetReference(plumbing.NewHashReference(r.branchRef(), hash)); err != nil {
		return fmt.Errorf("set branch %q to %s: %w", r.branch, hash, err)
	}
	if r.owned || move == nil || !r.checkedOut() {
		return nil
	}
	wt, _ := r.repo.Worktree()
	for _, ch := range move.changes {
		if err := r.applyChange(ch, move.to); err != nil {
			return fmt.Errorf("update working tree %s to %s: %w", r.dir, hash, err)
		}
	}
	// The files now match hash; make the index match them.
	if err := wt.Reset(&git.ResetOptions{Commit: hash, Mode: git.MixedReset}); err != nil {
		return fmt.Errorf("update index of %s to %s: %w", r.dir, hash, err)
	}
	return nil
}

// applyChange writes one changed file of the new tree, or removes it.
func (r *Repo) applyChange(ch *object.Change, to *object.Tree) error {
	action, err := ch.Action()
	if err != nil {
		return err
	}
	if action == merkletrie.Delete {
		path := filepath.Join(r.dir, ch.From.Name)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		// Drop directories the removal left empty, as git does; os.Remove
		// fails on the first one that is not empty.
		dir := filepath.Dir(path)
		for dir != r.dir && os.Remove(dir) == nil {
			dir = filepath.Dir(dir)
		}
		return nil
	}
	entry := ch.To.TreeEntry
	if entry.Mode == filemode.Submodule {
		return nil
	}
	file, err := to.TreeEntryFile(&entry)
	if err != nil {
		return err
	}
	rd, err := file.Reader()
	if err != nil {
		return err
	}
	defer rd.Close()
	content, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	path := filepath.Join(r.dir, ch.To.Name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if entry.Mode == filemode.Symlink {
		return os.Symlink(string(content), path)
	}
	perm := os.FileMode(0o644)
	if entry.Mode == filemode.Executable {
		perm = 0o755
	}
	return os.WriteFile(path, content, perm)
}

// remoteErr turns a transport error into one that says what to do.
func remoteErr(op, url, branch string, err error) error {
	where := redactURL(url)
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("%s %s: authentication failed: check the username and password or token of the "+
			"repository credentials: %w", op, where, err)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%s %s: repository not found: check the URL: %w", op, where, err)
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return fmt.Errorf("%s %s: the repository is empty: push a first commit to branch %q", op, where, branch)
	case errors.Is(err, git.NoMatchingRefSpecError{}), errors.Is(err, plumbing.ErrReferenceNotFound):
		return fmt.Errorf("%s %s: branch %q not found on the remote: %w", op, where, branch, err)
	default:
		return fmt.Errorf("%s %s (branch %q): %w", op, where, branch, err)
	}
}

// sameURL compares two remote URLs, ignoring a trailing slash.
func sameURL(a, b string) bool { return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/") }
