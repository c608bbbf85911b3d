package gitsync

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// FetchCommands brings the commands ref, refs/heads/<name> of the remote,
// into refs/remotes/origin/<name> and returns its tip; zero when the
// remote has no such ref. People without push rights to the release
// branch push their signed commands there. Without an origin it reads
// the local branch <name>.
func (r *Repo) FetchCommands(ctx context.Context, name string) (plumbing.Hash, error) {
	local := plumbing.NewBranchReferenceName(name)
	if r.url == "" {
		ref, err := r.repo.Reference(local, true)
		if errors.Is(err, plumbing.ErrReferenceNotFound) {
			return plumbing.ZeroHash, nil
		}
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("read commands ref %s: %w", local, err)
		}
		return ref.Hash(), nil
	}
	tip, err := r.fetchBranch(ctx, name)
	if errors.Is(err, git.NoMatchingRefSpecError{}) {
		return plumbing.ZeroHash, nil
	}
	return tip, err
}
