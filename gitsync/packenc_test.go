package gitsync

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestPassPackIsReadByGitAndGoGitWithTreesAsShortDeltas: 120 edits of one
// route in a directory of 300 rollouts, built in a pass's store and packed
// into the clone. The system git checks the pack (fsck, verify-pack) and
// reads every tree as go-git wrote it; the edited trees are deltas in
// chains of at most maxDeltaDepth, and the pack is far smaller than the
// trees it holds.
func TestPassPackIsReadByGitAndGoGitWithTreesAsShortDeltas(t *testing.T) {
	dir, _, ps, tree := routesPass(t, 300, false)
	trees := editTrees(t, ps, tree, "x", 300, 120)
	var size int64
	for _, h := range trees {
		tree, err := object.GetTree(ps, h)
		if err != nil {
			t.Fatal(err)
		}
		apps, err := tree.Tree("apps")
		if err != nil {
			t.Fatal(err)
		}
		size += ps.objects[apps.Hash].Size()
	}
	pack, err := ps.pack()
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(pack)) > size/10 {
		t.Errorf("pack of %d bytes for %d bytes of directory trees: the trees are not deltas", len(pack), size)
	}
	env := gittest.GitEnv(t.TempDir())
	gittest.Git(t, dir, env, "fsck", "--full", "--no-dangling")
	packs, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "*.idx"))
	if len(packs) != 1 {
		t.Fatalf("%d packs in the clone, want the pass's one", len(packs))
	}
	verify := gittest.Git(t, dir, env, "verify-pack", "-v", packs[0])
	deltas, longest := 0, 0
	for _, m := range regexp.MustCompile(`chain length = (\d+): (\d+) objects?`).FindAllStringSubmatch(verify, -1) {
		l, _ := strconv.Atoi(m[1])
		n, _ := strconv.Atoi(m[2])
		deltas += n
		longest = max(longest, l)
	}
	if deltas < 110 || longest > maxDeltaDepth {
		t.Errorf("%d deltas, longest chain %d; want the 120 edited apps/ trees as deltas (but for the start of each chain) in chains of at most %d:\n%s", deltas, longest, maxDeltaDepth, verify)
	}
	// go-git, from the clone, reads what git reads.
	reopened, err := plainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range trees {
		want := gittest.Git(t, dir, env, "ls-tree", "-r", h.String())
		tr, err := object.GetTree(reopened.Storer, h)
		if err != nil {
			t.Fatalf("go-git reads tree %s: %v", h, err)
		}
		got := ""
		walker := object.NewTreeWalker(tr, true, nil)
		for {
			name, e, err := walker.Next()
			if err != nil {
				break
			}
			if e.Mode.IsFile() {
				got += fmt.Sprintf("%06o blob %s\t%s\n", uint32(e.Mode), e.Hash, name)
			}
		}
		walker.Close()
		if got != want+"\n" {
			t.Fatalf("tree %s: go-git reads\n%.300s\ngit reads\n%.300s", h, got, want)
		}
	}
}
