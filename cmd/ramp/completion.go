package main

import (
	"os/exec"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/policy"
)

// completeRollouts completes a rollout name: the directories under
// releases/ of --repo (a working copy) that hold a rollout.yaml, read as
// git stores them.
func completeRollouts(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	repo := "."
	if f := cmd.Flags().Lookup("repo"); f != nil {
		repo = f.Value.String()
	}
	if isURL(repo) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	wt := workTree{repo}
	entries, err := wt.ReadDir(policy.SpecDir)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), toComplete) {
			continue
		}
		// As git stores it: a link is no rollout ramp run would read.
		if _, fi, err := wt.lstat(policy.SpecPath(e.Name())); err == nil && fi.Mode().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, cobra.ShellCompDirectiveNoFileComp
}

func (sc *signedCommand) completeRollouts(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return completeRollouts(cmd, args, toComplete)
}

// completeReleases completes --release: the releases of the rollout named
// first on the command line that ramp's commits in --repo (a working
// copy) name in their Ramp-Release trailers, newest first.
func completeReleases(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	repo, branch := ".", "main"
	if f := cmd.Flags().Lookup("repo"); f != nil {
		repo = f.Value.String()
	}
	if f := cmd.Flags().Lookup("branch"); f != nil {
		branch = f.Value.String()
	}
	if isURL(repo) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	c := exec.Command("git", "log", "--first-parent", "--fixed-strings", "--grep", "Ramp-Rollout: "+args[0],
		"--format=%(trailers:key=Ramp-Release,valueonly)", branch)
	c.Dir = repo
	out, err := c.Output()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var releases []string
	seen := map[string]bool{}
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" && !seen[l] && strings.HasPrefix(l, toComplete) {
			seen[l] = true
			releases = append(releases, l)
		}
	}
	return releases, cobra.ShellCompDirectiveNoFileComp
}
