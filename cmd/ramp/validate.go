package main

import (
	"errors"
	"fmt"
	"io/fs"
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
			"pre-commit hook or a pull-request check, and reads them as git stores them: a symbolic link is\n" +
			"never followed, as ramp run, which reads git, never does. Exits 1 when anything is wrong,\n" +
			"naming file:line and field.\n\n" +
			"Exit codes: 0 every rollout valid, 1 problems found, 2 usage or environment error.",
		Example: "  ramp validate\n" +
			"  ramp validate --repo ./fleet --guardrails platform-guardrails.yaml -o json",
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
			wt := workTree{f.repo}
			specs, err := specPaths(wt)
			if err != nil {
				return err
			}
			var problems []string
			for _, rel := range specs {
				problems = append(problems, validateOne(wt, rel, g)...)
			}
			problems = append(problems, validateCalendar(wt, g)...)
			res := struct {
				Rollouts int      `json:"rollouts"`
				Problems []string `json:"problems"`
			}{len(specs), problems}
			if res.Problems == nil {
				res.Problems = []string{}
			}
			if f.structured() {
				if err := f.write(cmd.OutOrStdout(), res); err != nil {
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
	f.addFlags(cmd, withGuardrails) // reads the working copy on disk: no branch, URL or keys
	f.outputFlag.add(cmd)
	return cmd
}

// specPaths returns releases/<name>/rollout.yaml, slash-separated and
// relative to the working copy, for every entry of releases/ that ramp
// run would read as a rollout: a directory with a rollout.yaml (a link
// there included, which validateOne refuses), or a link (refused too).
func specPaths(wt workTree) ([]string, error) {
	entries, err := wt.ReadDir(policy.SpecDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var specs []string
	for _, e := range entries {
		rel := policy.SpecPath(e.Name())
		if e.Type()&fs.ModeSymlink != 0 {
			specs = append(specs, rel)
		} else if _, err := os.Lstat(filepath.Join(wt.root, filepath.FromSlash(rel))); e.IsDir() && err == nil {
			specs = append(specs, rel)
		}
	}
	sort.Strings(specs)
	return specs, nil
}

// validateOne checks the spec file rel and the files and fields it names.
func validateOne(wt workTree, rel string, g policy.Guardrails) []string {
	data, err := wt.ReadFile(rel)
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
	// check reads the release and stable fields (those of fields) and the
	// traffic target of rollout x, a target's own rollout for a rollout
	// with targets: its problems are named at the target's fields (name).
	check := func(x *policy.Rollout, name func(string) string, fields ...string) {
		problem := func(field, format string, args ...any) {
			e := &policy.SpecError{File: rel, Line: x.Line(field), Field: name(field), Msg: fmt.Sprintf(format, args...)}
			problems = append(problems, e.Error())
		}
		read := func(field, file string) []byte {
			b, err := wt.ReadFile(file)
			if err != nil {
				problem(field, "%v", err)
			}
			return b
		}
		for _, what := range fields {
			f := x.Spec.Release
			if what == "spec.stable" {
				f = x.Spec.Stable
			}
			b := read(what+".file", f.File)
			if b == nil {
				continue
			}
			p, err := policy.ParseFieldPath(f.Path)
			if err == nil {
				var v string
				if v, err = manifest.GetField(b, p); err == nil && what == "spec.release" {
					err = policy.CheckRelease(x, g, v)
				}
			}
			if err != nil {
				problem(what+".path", "%s %s: %v", f.File, f.Path, err)
			}
		}
		if len(fields) < 2 {
			return
		}
		// The traffic target's fields: weight, stable side, mirror,
		// replicas, read as git stores the files.
		for _, e := range manifest.CheckTarget(wt.ReadFile, x) {
			e.Field = name(e.Field)
			problems = append(problems, e.Error())
		}
	}
	same := func(field string) string { return field }
	if !r.HasTargets() {
		check(r, same, "spec.release", "spec.stable")
		return append(problems, validateJobs(wt, r)...)
	}
	check(r, same, "spec.release")
	for i, sub := range r.TargetRollouts() { // ForTarget by name, per target, was quadratic
		prefix := fmt.Sprintf("spec.targets[%d].", i)
		check(sub, func(field string) string {
			if rest, ok := strings.CutPrefix(field, "spec."); ok && field != "" {
				return prefix + rest
			}
			return field
		}, "spec.release", "spec.stable")
	}
	return problems
}
