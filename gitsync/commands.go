package gitsync

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
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
	tracking := plumbing.NewRemoteReferenceName(originName, name)
	err := r.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: originName,
		RefSpecs:   []config.RefSpec{config.RefSpec(fmt.Sprintf("+%s:%s", local, tracking))},
		Auth:       r.auth,
		Tags:       git.NoTags,
	})
	var missing git.NoMatchingRefSpecError
	switch {
	case errors.As(err, &missing):
		return plumbing.ZeroHash, nil
	case err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate):
		return plumbing.ZeroHash, remoteErr("fetch", r.url, name, err)
	}
	ref, err := r.repo.Reference(tracking, true)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read %s after fetch: %w", tracking, err)
	}
	return ref.Hash(), nil
}
