package history

import (
	"slices"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// TestParseCommitReadsWhatGoGitReads: for commits as git writes them and
// odd ones (a signature whose lines mention parent and ramp-, a parent
// after the author, no message, a message that mentions RAMP-abort in
// capitals, ramp- in the author), parseCommit reads the tree and parents
// go-git decodes, and says the message mentions ramp exactly when
// go-git's message does.
func TestParseCommitReadsWhatGoGitReads(t *testing.T) {
	const (
		tree = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n"
		p1   = "parent 1111111111111111111111111111111111111111\n"
		p2   = "parent 2222222222222222222222222222222222222222\n"
		who  = "author A <a@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n"
		sig  = "gpgsig -----BEGIN SSH SIGNATURE-----\n parent 3333333333333333333333333333333333333333\n ramp-rollout: x\n -----END SSH SIGNATURE-----\n"
	)
	for name, raw := range map[string]string{
		"plain":                tree + p1 + who + "\nwork\n",
		"merge":                tree + p1 + p2 + who + "\nmerge\n",
		"root":                 tree + who + "\nfirst\n",
		"signed":               tree + p1 + who + sig + "\nsigned work\n",
		"parent after author":  tree + who + p1 + "\nodd\n",
		"no message":           tree + p1 + who,
		"trailers in capitals": tree + p1 + who + "\nabort\n\nRAMP-ABORT: rollout=demo release=1.0.0\n",
		"ramp- in the header":  tree + p1 + "author ramp-bot <ramp-bot@example.com> 1700000000 +0000\ncommitter A <a@example.com> 1700000000 +0000\n\nwork\n",
	} {
		obj := &plumbing.MemoryObject{}
		obj.SetType(plumbing.CommitObject)
		obj.Write([]byte(raw))
		var want object.Commit
		if err := want.Decode(obj); err != nil {
			t.Fatalf("%s: go-git: %v", name, err)
		}
		got, err := parseCommit(obj.Hash(), []byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.tree != want.TreeHash || !slices.Equal(got.parents, want.ParentHashes) {
			t.Errorf("%s: tree %s parents %v, go-git %s %v", name, got.tree, got.parents, want.TreeHash, want.ParentHashes)
		}
		if got.ramp != mentionsRamp(want.Message) {
			t.Errorf("%s: mentions ramp %v, go-git's message %q", name, got.ramp, want.Message)
		}
	}
}
