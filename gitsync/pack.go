package gitsync

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
)

// maxPackCommits bounds the walk from a new tip back to the expected one.
// A pass writes one commit per step of each rollout it moves; a walk that
// goes further has left ramp's own commits (the new tip does not build on
// expected) and Push falls back to go-git's full object walk.
const maxPackCommits = 1 << 16

// errNotOnExpected reports that the new tip's commits do not all build on
// the expected tip, so the objects to send cannot be found without walking
// the history.
var errNotOnExpected = errors.New("new commits do not build on the expected tip")

// newObjects returns the commits from newTip back to expected (not
// included) and the trees and blobs they changed: every object newTip has
// that a repository at expected can lack. A tree or blob that is the same
// as at the same path in the commit's first parent is left out, since the
// receiver has the parent's objects (expected's, or ones sent in the same
// pack). It reads only the new commits and the trees along changed paths,
// never the history below expected.
func newObjects(s storer.EncodedObjectStorer, expected, newTip plumbing.Hash) ([]plumbing.Hash, error) {
	set := map[plumbing.Hash]bool{}
	var out []plumbing.Hash
	add := func(h plumbing.Hash) bool {
		if set[h] {
			return false
		}
		set[h] = true
		out = append(out, h)
		return true
	}
	stack := []plumbing.Hash{newTip}
	for commits := 0; len(stack) > 0; {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if h == expected || set[h] {
			continue
		}
		if commits++; commits > maxPackCommits {
			return nil, errNotOnExpected
		}
		c, err := object.GetCommit(s, h)
		if err != nil {
			return nil, fmt.Errorf("read commit %s: %w", h, err)
		}
		if len(c.ParentHashes) == 0 {
			return nil, errNotOnExpected
		}
		add(h)
		if err := addChangedTrees(s, c.TreeHash, parentTree(s, c), add); err != nil {
			return nil, err
		}
		stack = append(stack, c.ParentHashes...)
	}
	return out, nil
}

// parentTree returns the tree of c's first parent.
func parentTree(s storer.EncodedObjectStorer, c *object.Commit) plumbing.Hash {
	p, err := object.GetCommit(s, c.ParentHashes[0])
	if err != nil {
		return plumbing.ZeroHash // compare with nothing: send the whole tree
	}
	return p.TreeHash
}

// addChangedTrees adds tree and every tree and blob under it that differs
// from the entry at the same path under old (ZeroHash: no old tree). A
// tree already added was walked before, against an old tree the receiver
// also has, so it is not walked again. Submodule entries are skipped.
func addChangedTrees(s storer.EncodedObjectStorer, tree, old plumbing.Hash, add func(plumbing.Hash) bool) error {
	if tree == old || !add(tree) {
		return nil
	}
	t, err := object.GetTree(s, tree)
	if err != nil {
		return fmt.Errorf("read tree %s: %w", tree, err)
	}
	before := map[string]object.TreeEntry{}
	if !old.IsZero() {
		if o, err := object.GetTree(s, old); err == nil {
			for _, e := range o.Entries {
				before[e.Name] = e
			}
		}
	}
	for _, e := range t.Entries {
		prev, had := before[e.Name]
		if had && prev.Hash == e.Hash {
			continue
		}
		switch e.Mode {
		case filemode.Submodule:
		case filemode.Dir:
			oldSub := plumbing.ZeroHash
			if had && prev.Mode == filemode.Dir {
				oldSub = prev.Hash
			}
			if err := addChangedTrees(s, e.Hash, oldSub, add); err != nil {
				return err
			}
		default:
			add(e.Hash)
		}
	}
	return nil
}

// pushPack updates the remote branch from expected to newTip in one
// receive-pack session whose pack holds only newObjects(expected, newTip).
// The compare-and-swap is the same as go-git's push with RequireRemoteRefs:
// the advertised tip must be expected, and the update command carries
// expected as the old value, so receive-pack refuses when another push
// landed in between. It returns errNotOnExpected, having sent nothing,
// when the new commits do not build on expected. A pack already built
// (not nil) is sent as it is, without the walk.
func (r *Repo) pushPack(ctx context.Context, expected, newTip plumbing.Hash, pack []byte) error {
	var hashes []plumbing.Hash
	if pack == nil {
		var err error
		if hashes, err = newObjects(r.repo.Storer, expected, newTip); err != nil {
			return err
		}
	}
	ep, err := transport.NewEndpoint(r.url)
	if err != nil {
		return remoteErr("push", r.url, r.branch, err)
	}
	c, err := client.NewClient(ep)
	if err != nil {
		return remoteErr("push", r.url, r.branch, err)
	}
	sess, err := c.NewReceivePackSession(ep, r.auth)
	if err != nil {
		return remoteErr("push", r.url, r.branch, err)
	}
	defer sess.Close()
	adv, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return remoteErr("push", r.url, r.branch, err)
	}
	refs, err := adv.AllReferences()
	if err != nil {
		return remoteErr("push", r.url, r.branch, err)
	}
	tip := plumbing.ZeroHash
	if ref, err := refs.Reference(r.branchRef()); err == nil {
		tip = ref.Hash()
	}
	if tip != expected {
		return fmt.Errorf("push %s to %s: %w (remote tip is %s, required to be %s)",
			r.branch, redactURL(r.url), ErrBranchMoved, tip, expected)
	}
	if newTip == expected {
		return nil
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(adv.Capabilities)
	req.Commands = []*packp.Command{{Name: r.branchRef(), Old: expected, New: newTip}}
	cfg, err := r.repo.Storer.Config()
	if err != nil {
		return fmt.Errorf("push %s: %w", r.branch, err)
	}
	refDeltas := !adv.Capabilities.Supports(capability.OFSDelta)
	rd, wr := io.Pipe()
	req.Packfile = rd
	encoded := make(chan error, 1)
	go func() {
		var err error
		if pack != nil {
			_, err = wr.Write(pack)
		} else {
			_, err = packfile.NewEncoder(wr, r.repo.Storer, refDeltas).Encode(hashes, cfg.Pack.Window)
		}
		_ = wr.CloseWithError(err)
		encoded <- err
	}()
	status, err := sess.ReceivePack(ctx, req)
	if err != nil {
		_ = rd.CloseWithError(err)
		<-encoded
		return r.pushErr(ctx, expected, err)
	}
	if err := <-encoded; err != nil {
		return fmt.Errorf("push %s: encode pack: %w", r.branch, err)
	}
	if status != nil {
		if err := status.Error(); err != nil {
			return r.pushErr(ctx, expected, err)
		}
	}
	return nil
}
