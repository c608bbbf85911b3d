package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ramp-dev/ramp/manifest"
	"github.com/ramp-dev/ramp/policy"
)

func newValidate() *cobra.Command {
	var f repoFlags
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check every releases/*/rollout.yaml in a working copy: spec, guardrails, and the fields it points at",
		Long: "Reads the files as they are on disk under --repo (uncommitted edits included), so it fits a\n" +
			"pre-commit hook or a pull-request check. Exits 1 when anything is wrong, naming file:line and field.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			if isURL(f.repo) {
				return &exitError{code: exitUsage, err: fmt.Errorf("validate reads a working copy: --repo must be a directory")}
			}
			g, err := f.guard()
			if err != nil {
				return err
			}
			specs, err := filepath.Glob(filepath.Join(f.repo, policy.SpecDir, "*", "rollout.yaml"))
			if err != nil {
				return err
			}
			sort.Strings(specs)
			var problems []string
			for _, path := range specs {
				problems = append(problems, validateOne(f.repo, path, g)...)
			}
			problems = append(problems, validateCalendar(f.repo, g)...)
			res := struct {
				Rollouts int      `json:"rollouts"`
				Problems []string `json:"problems"`
			}{len(specs), problems}
			if res.Problems == nil {
				res.Problems = []string{}
			}
			if f.output == "json" {
				if err := writeJSON(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			} else {
				for _, p := range problems {
					fmt.Fprintln(cmd.OutOrStdout(), p)
				}
				if len(problems) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "%d rollout(s) valid\n", len(specs))
				}
			}
			if len(problems) > 0 {
				return findings("%d problem(s) in %d rollout(s)", len(problems), len(specs))
			}
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

// validateOne checks one spec file and the fields it names.
func validateOne(root, path string, g policy.Guardrails) []string {
	rel, _ := filepath.Rel(root, path)
	rel = filepath.ToSlash(rel)
	data, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}
	}
	r, err := policy.Parse(rel, data)
	if err != nil {
		return strings.Split(err.Error(), "\n")
	}
	if err := policy.Validate(r, g).Err(); err != nil {
		return strings.Split(err.Error(), "\n")
	}
	var problems []string
	read := func(file string) []byte {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s names %s, which cannot be read: %v", rel, r.Name(), file, err))
		}
		return b
	}
	for _, ref := range []struct {
		what string
		f    policy.FieldRef
	}{{"spec.release", r.Spec.Release}, {"spec.stable", r.Spec.Stable}} {
		b := read(ref.f.File)
		if b == nil {
			continue
		}
		p, err := policy.ParseFieldPath(ref.f.Path)
		if err == nil {
			var v string
			if v, err = manifest.GetField(b, p); err == nil && ref.what == "spec.release" {
				err = policy.CheckRelease(r, g, v)
			}
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s: %s %s: %v", rel, ref.what, ref.f.File, ref.f.Path, err))
		}
	}
	if b := read(r.TargetFile()); b != nil {
		if _, err := manifest.Weight(b, r); err != nil {
			problems = append(problems, fmt.Sprintf("%s: spec.target: %v", rel, err))
		}
	}
	return problems
}
