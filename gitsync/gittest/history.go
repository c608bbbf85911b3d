package gittest

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"time"
)

// History describes a generated release repository: Rollouts rollouts
// (named r000, r001, …) created in the first commit, then Commits more,
// mostly unrelated changes, among which each rollout goes through
// Releases complete releases (start, weight 10, promote, complete). At
// the tip every rollout is stable.
type History struct {
	Commits  int
	Rollouts int
	Releases int
	// Seed makes the interleaving reproducible.
	Seed int64
}

// Epoch is the time of a generated history's first commit; commit i is
// i minutes later.
var Epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// RolloutName is the name of generated rollout i.
func RolloutName(i int) string { return fmt.Sprintf("r%03d", i) }

// Generate writes h into a new bare repository at dir with the system
// `git fast-import` (seconds for 100k commits) and returns the branch
// main's tip. The operator's commits in it are unsigned: they are old
// history that derive never needs to verify.
func Generate(dir string, h History) (string, error) {
	if out, err := exec.Command("git", "init", "--quiet", "--bare", "--initial-branch=main", dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("git init %s: %v: %s", dir, err, out)
	}
	cmd := exec.Command("git", "fast-import", "--quiet", "--done")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_DIR="+dir)
	in, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("git fast-import: %w", err)
	}
	werr := writeHistory(in, h)
	in.Close()
	if err := cmd.Wait(); err != nil || werr != nil {
		return "", fmt.Errorf("git fast-import: %v %v: %s", werr, err, stderr.String())
	}
	out, err := exec.Command("git", "--git-dir", dir, "rev-parse", "refs/heads/main").Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

type streamWriter struct {
	w *bufio.Writer
	n int // commits written
}

func (s *streamWriter) commit(author, msg string, files map[string]string) {
	when := Epoch.Add(time.Duration(s.n) * time.Minute).Unix()
	s.n++
	fmt.Fprintf(s.w, "commit refs/heads/main\nauthor %s <%s> %d +0000\ncommitter %s <%s> %d +0000\ndata %d\n%s\n",
		author, author, when, author, author, when, len(msg), msg)
	for path, content := range files {
		fmt.Fprintf(s.w, "M 100644 inline %s\ndata %d\n%s\n", path, len(content), content)
	}
	s.w.WriteString("\n")
}

func writeHistory(out io.Writer, h History) error {
	s := &streamWriter{w: bufio.NewWriterSize(out, 1<<20)}
	first := map[string]string{}
	for i := 0; i < h.Rollouts; i++ {
		for p, c := range RolloutFiles(RolloutName(i), "1.0.0") {
			first[p] = c
		}
	}
	s.commit("dev@example.com", "initial release repository", first)

	// Spread the releases evenly, in a random order, over the history.
	type release struct{ rollout, n int }
	var releases []release
	for n := 1; n <= h.Releases; n++ {
		for i := 0; i < h.Rollouts; i++ {
			releases = append(releases, release{i, n})
		}
	}
	rng := rand.New(rand.NewSource(h.Seed))
	rng.Shuffle(len(releases), func(a, b int) { releases[a], releases[b] = releases[b], releases[a] })
	// Number each rollout's releases in the order they now come.
	seen := map[int]int{}
	for k := range releases {
		seen[releases[k].rollout]++
		releases[k].n = seen[releases[k].rollout]
	}
	unrelated := h.Commits - 1 - 4*len(releases)
	if unrelated < 0 {
		return fmt.Errorf("%d commits cannot hold %d releases of 4 commits", h.Commits, len(releases))
	}
	every := unrelated / (len(releases) + 1)
	next := 0
	for k := 0; k < unrelated; k++ {
		s.commit("dev@example.com", fmt.Sprintf("work %d", k), map[string]string{
			fmt.Sprintf("src/mod%02d/file.go", k%64): fmt.Sprintf("package mod // change %d\n", k)})
		if every > 0 && k%every == every-1 && next < len(releases) {
			rel := releases[next]
			next++
			writeRelease(s, RolloutName(rel.rollout), fmt.Sprintf("1.%d.0", rel.n))
		}
	}
	for ; next < len(releases); next++ {
		rel := releases[next]
		writeRelease(s, RolloutName(rel.rollout), fmt.Sprintf("1.%d.0", rel.n))
	}
	s.w.WriteString("done\n")
	return s.w.Flush()
}

// writeRelease writes one complete release: the engineer's start, then
// the operator's weight, promote and complete commits.
func writeRelease(s *streamWriter, name, v string) {
	canary := "apps/" + name + "/canary/kustomization.yaml"
	stable := "apps/" + name + "/stable/kustomization.yaml"
	route := "apps/" + name + "/route.yaml"
	s.commit("dev@example.com", fmt.Sprintf("%s: release %s", name, v), map[string]string{canary: Kustomization(name, v)})
	trailers := func(step, action string, weight int) string {
		return fmt.Sprintf("ramp: %s %s %s\n\nRamp-Rollout: %s\nRamp-Release: %s\n%sRamp-Action: %s\nRamp-Weight: %d\n",
			name, v, action, name, v, step, action, weight)
	}
	s.commit("ramp@localhost", trailers("Ramp-Step: 1/4\n", "set-weight", 10), map[string]string{route: Route(name, 10)})
	s.commit("ramp@localhost", trailers("", "promote", 10), map[string]string{stable: Kustomization(name, v)})
	s.commit("ramp@localhost", trailers("", "complete", 0), map[string]string{route: Route(name, 0)})
}

// Route returns rollout name's HTTPRoute with the canary at weight.
func Route(name string, weight int) string {
	return strings.ReplaceAll(WithRouteWeight(route, weight), "NAME", name)
}

// WithRouteWeight returns an HTTPRoute whose first backend is at weight
// 100 and the second at 0 (written "weight: 0" at the end of its line)
// with the second at weight and the first at 100-weight.
func WithRouteWeight(r string, weight int) string {
	r = strings.Replace(r, "weight: 100", fmt.Sprintf("weight: %d", 100-weight), 1)
	return strings.Replace(r, "weight: 0\n", fmt.Sprintf("weight: %d\n", weight), 1)
}
