package history

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// TestUnmergedReadsOnlyWhatTheTwoSidesDoNotShare: the commits of a
// commands ref that the release branch does not reach are what the system
// git's `rev-list cmds ^main` lists (a pull request merged into both, and
// a commands-ref commit main merged, are main's), and finding them reads
// the commits since the two sides parted, not the 2,000 below the fork.
func TestUnmergedReadsOnlyWhatTheTwoSidesDoNotShare(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo.git")
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"--git-dir", dir}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return string(out)
	}
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	// fast-import: marks :1.. in order; when is seconds since 2026-01-01.
	var s strings.Builder
	mark := 0
	commit := func(ref string, when int, msg string, from int, merge ...int) int {
		mark++
		fmt.Fprintf(&s, "commit %s\nmark :%d\ncommitter ramp <ramp@example.com> %d +0000\ndata %d\n%s\n",
			ref, mark, 1767225600+when, len(msg), msg)
		if from > 0 {
			fmt.Fprintf(&s, "from :%d\n", from)
		}
		for _, m := range merge {
			fmt.Fprintf(&s, "merge :%d\n", m)
		}
		fmt.Fprintf(&s, "M 100644 inline f\ndata %d\n%d\n", len(fmt.Sprint(mark))+1, mark)
		return mark
	}
	tip := 0
	for i := range 2000 {
		tip = commit("refs/heads/main", i, fmt.Sprintf("base %d", i), tip)
	}
	fork := tip
	pr := commit("refs/heads/pr", 2001, "pull request", fork)
	a1 := commit("refs/heads/cmds", 2002, "approve 1\n\nRamp-Command: approve", fork)
	m := fork
	for i := range 300 {
		m = commit("refs/heads/main", 2003+i, fmt.Sprintf("ramp %d", i), m)
		if i == 100 {
			m = commit("refs/heads/main", 2003+i, "merge pull request", m, pr)
		}
		if i == 200 {
			m = commit("refs/heads/main", 2003+i, "merge the commands ref", m, a1)
		}
	}
	c := commit("refs/heads/cmds", 2400, "merge pull request", a1, pr)
	c = commit("refs/heads/cmds", 2401, "approve 2\n\nRamp-Command: approve", c)
	commit("refs/heads/cmds", 2402, "approve 3\n\nRamp-Command: approve", c)
	run(s.String(), "fast-import", "--quiet")
	run("", "repack", "-adq")

	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref := func(name string) plumbing.Hash {
		r, err := repo.Reference(plumbing.NewBranchReferenceName(name), true)
		if err != nil {
			t.Fatal(err)
		}
		return r.Hash()
	}
	d := &Deriver{Repo: repo}
	for _, since := range []int{0, 2401} {
		got, read, err := d.unmerged(ref("cmds"), ref("main"), time.Unix(int64(1767225600+since), 0))
		if err != nil {
			t.Fatal(err)
		}
		var gotHashes []string
		for _, c := range got {
			gotHashes = append(gotHashes, c.Hash.String())
		}
		// rev-list prints "hash time" pairs.
		want := strings.Fields(run("", "rev-list", "--format=%H %ct", "--no-commit-header", "cmds", "^main"))
		var wantHashes []string
		for i := 0; i+1 < len(want); i += 2 {
			var ct int
			fmt.Sscan(want[i+1], &ct)
			if ct >= 1767225600+since {
				wantHashes = append(wantHashes, want[i])
			}
		}
		slices.Sort(gotHashes)
		slices.Sort(wantHashes)
		if !slices.Equal(gotHashes, wantHashes) {
			t.Errorf("since +%ds: unmerged gave %v, git rev-list cmds ^main %v", since, gotHashes, wantHashes)
		}
		if since == 0 && len(wantHashes) != 3 {
			t.Errorf("git rev-list cmds ^main lists %d commits, want the merge of the pull request and the two approvals after it", len(wantHashes))
		}
		t.Logf("since +%ds: read %d commits", since, read)
		if read > 400 {
			t.Errorf("since +%ds: read %d commits to find them; the two sides parted 305 commits down main", since, read)
		}
	}
}
