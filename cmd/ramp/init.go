package main

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

//go:embed all:example
var example embed.FS

func newInit() *cobra.Command {
	return &cobra.Command{
		Use:   "init DIR",
		Short: "Create a release repository on branch main with a working example rollout, demo",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("%s exists and is not empty", dir)}
			}
			err := fs.WalkDir(example, "example", func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				data, err := example.ReadFile(path)
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel("example", path)
				dst := filepath.Join(dir, rel)
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					return err
				}
				return os.WriteFile(dst, data, 0o644)
			})
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("write example: %w", err)}
			}
			for _, args := range [][]string{
				{"init", "-q", "-b", "main"},
				{"add", "-A"},
				{"-c", "user.name=ramp init", "-c", "user.email=ramp-init@localhost", "commit", "-q", "-m", "ramp init: example rollout demo"},
			} {
				c := exec.Command("git", args...)
				c.Dir = dir
				if out, err := c.CombinedOutput(); err != nil {
					return &exitError{code: exitUsage, err: fmt.Errorf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)}
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created release repository %s (branch main) with rollout demo:\n"+
				"  release field  apps/demo/canary/kustomization.yaml images[name=demo].newTag\n"+
				"  stable field   apps/demo/stable/kustomization.yaml images[name=demo].newTag\n"+
				"  traffic        apps/demo/route.yaml (demo-stable / demo-canary)\n"+
				"  steps          setWeight 10, approval by sre, setWeight 50, approval by sre, promote\n", dir)
			return nil
		},
	}
}
