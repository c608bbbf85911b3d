package history

import (
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/ramp-dev/ramp/policy"
)

// TestDescendsAnswersAsGit: for every commit of a history with a pull
// request merged, another repository's history merged with -s ours
// (unrelated), and a commands ref forked from main, whether it descends
// from each commit of main's first-parent history is what the system
// git's `rev-list` of its ancestors says; and vouch writes those answers
// on an off-line record.
func TestDescendsAnswersAsGit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo.git")
	run := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command("git", append([]string{"--git-dir", dir}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	var s strings.Builder
	mark := 0
	commit := func(ref string, when int, msg string, from int, merge ...int) int {
		mark++
		fmt.Fprintf(&s, "commit %s\nmark :%d\ncommitter ramp <ramp@example.com> %d +0000\ndata %d\n%s\n",
			ref, mark, 1767225600+when*60, len(msg), msg)
		if from > 0 {
			fmt.Fprintf(&s, "from :%d\n", from)
		}
		for _, m := range merge {
			fmt.Fprintf(&s, "merge :%d\n", m)
		}
		fmt.Fprintf(&s, "M 100644 inline f\ndata %d\n%d\n", len(fmt.Sprint(mark))+1, mark)
		return mark
	}
	// Another repository's history, older and newer than main's.
	other := 0
	for i := range 10 {
		other = commit("refs/heads/staging", i*10, fmt.Sprintf("staging %d", i), other)
	}
	var line []int // main's first-parent history, oldest first
	m := 0
	pr := 0
	for i := range 50 {
		switch i {
		case 30:
			m = commit("refs/heads/main", 100+i, "merge pull request", m, pr)
		case 40:
			m = commit("refs/heads/main", 100+i, "merge staging -s ours", m, other)
		default:
			m = commit("refs/heads/main", 100+i, fmt.Sprintf("main %d", i), m)
		}
		line = append(line, m)
		if i == 20 {
			pr = commit("refs/heads/pr", 121, "pr 1", m)
			pr = commit("refs/heads/pr", 122, "pr 2\n\nRamp-Approve: rollout=demo release=1 step=2", pr)
		}
		if i == 35 {
			c := commit("refs/heads/cmds", 136, "approve on the commands ref", m)
			commit("refs/heads/cmds", 137, "merge main", c, line[len(line)-1])
		}
	}
	if _, err := run(s.String(), "fast-import", "--quiet"); err != nil {
		t.Fatal(err)
	}
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := run("", "rev-list", "--all")
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Fields(hashes)
	lineHashes, err := run("", "rev-list", "--first-parent", "main")
	if err != nil {
		t.Fatal(err)
	}
	d := &Deriver{Repo: repo}
	yes := 0
	for _, c := range all {
		// c's ancestors (and c), as git lists them.
		list, err := run("", "rev-list", c)
		if err != nil {
			t.Fatal(err)
		}
		ancestors := map[string]bool{}
		for _, a := range strings.Fields(list) {
			ancestors[a] = true
		}
		for _, b := range strings.Fields(lineHashes) {
			want := ancestors[b]
			got, err := d.descends(plumbing.NewHash(c), plumbing.NewHash(b))
			if err != nil {
				t.Fatalf("descends(%.10s, %.10s): %v", c, b, err)
			}
			if got != want {
				t.Fatalf("descends(%.10s, %.10s) = %v, git rev-list %.10s says %v", c, b, got, c, want)
			}
			if got {
				yes++
			}
		}
	}
	if yes == 0 || yes == len(all)*50 {
		t.Fatalf("%d of %d pairs descend: the history tests nothing", yes, len(all)*50)
	}

	// vouch writes the answers on an off-line record that concerns the rollout.
	stagingTip, _ := run("", "rev-parse", "staging")
	start, _ := run("", "rev-parse", "main~20")
	rec := &policy.Record{Commit: stagingTip, Ancestry: &policy.Ancestry{},
		Commands: []policy.Command{{Kind: policy.CommandApprove, Rollout: "demo", Release: "1", Step: 2}}}
	if err := d.vouch(rec, func(n string) bool { return n == "demo" }, []string{start}); err != nil {
		t.Fatal(err)
	}
	if got, ok := rec.Ancestry.Descends[start]; !ok || got {
		t.Fatalf("staging's tip descends from main's %.10s: %v (known %v), want known not to", start, got, ok)
	}
}

// TestDescendsPastAShallowClonesBoundaryIsAnErrorNotANo: on a shallow
// clone, whether main's tip descends from a commit below the clone's
// boundary cannot be answered: it is an error that wraps
// plumbing.ErrObjectNotFound (so a deepening walk fetches more and asks
// again), never "no", and vouch records no answer.
func TestDescendsPastAShallowClonesBoundaryIsAnErrorNotANo(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(cmd.Environ(), "GIT_AUTHOR_NAME=dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=dev", "GIT_COMMITTER_EMAIL=dev@example.com")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v: %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "init", "-q", "-b", "main", src).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v: %s", err, out)
	}
	for i := range 20 {
		run(src, "commit", "-q", "--allow-empty", "-m", fmt.Sprintf("c%d", i))
	}
	deep := run(src, "rev-parse", "main~15")
	shallow := filepath.Join(t.TempDir(), "shallow.git")
	if out, err := exec.Command("git", "clone", "-q", "--bare", "--depth", "5", "file://"+src, shallow).CombinedOutput(); err != nil {
		t.Fatalf("git clone --depth 5: %v: %s", err, out)
	}
	repo, err := git.PlainOpen(shallow)
	if err != nil {
		t.Fatal(err)
	}
	d := &Deriver{Repo: repo}
	tip := plumbing.NewHash(run(src, "rev-parse", "main"))
	near := plumbing.NewHash(run(src, "rev-parse", "main~2"))
	if ok, err := d.descends(tip, near); err != nil || !ok {
		t.Fatalf("descends(tip, main~2) = %v, %v; want yes", ok, err)
	}
	// Below the boundary: the base is missing, and so is the way to it.
	if ok, err := d.descends(tip, plumbing.NewHash(deep)); !errors.Is(err, plumbing.ErrObjectNotFound) || ok {
		t.Fatalf("descends(tip, main~15) = %v, %v; want an error wrapping ErrObjectNotFound", ok, err)
	}
	rec := &policy.Record{Commit: tip.String(), Ancestry: &policy.Ancestry{},
		Commands: []policy.Command{{Kind: policy.CommandApprove, Rollout: "demo", Release: "1", Step: 2}}}
	if err := d.vouch(rec, func(n string) bool { return n == "demo" }, []string{deep}); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Fatalf("vouch: %v, want an error wrapping ErrObjectNotFound", err)
	}
	if _, ok := rec.Ancestry.Descends[deep]; ok {
		t.Fatalf("vouch recorded an answer past the boundary: %v", rec.Ancestry.Descends)
	}
}
