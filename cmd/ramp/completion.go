package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/policy"
)

// completeRollouts completes a rollout name: the directories under
// releases/ of --repo (a working copy) that hold a rollout.yaml.
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
	entries, err := os.ReadDir(filepath.Join(repo, policy.SpecDir))
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), toComplete) {
			continue
		}
		if _, err := os.Stat(filepath.Join(repo, filepath.FromSlash(policy.SpecPath(e.Name())))); err == nil {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, cobra.ShellCompDirectiveNoFileComp
}

func (sc *signedCommand) completeRollouts(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	return completeRollouts(cmd, args, toComplete)
}
