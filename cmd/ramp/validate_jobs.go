package main

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/manifest"
	"github.com/ramp-dev/ramp/policy"
	"github.com/ramp-dev/ramp/trailer"
)

// maxJobHistory bounds how many commits validateJobs reads to find the
// commit that last changed a migration Job.
const maxJobHistory = 2000

// validateJobs checks the migration Jobs of rollout r (spec.migrations)
// in the working copy wt: each file holds one batch/v1 Job with a
// spec.suspend, and that is true, unless the file is as ramp's signed
// commit that released it left it: a Job that ran stays unsuspended.
// That is told from git: the file on disk must be as HEAD has it, and the
// newest commit on HEAD's first-parent history that changed it must carry
// ramp's Ramp-Migrate trailer for it (validate has no keys: ramp run
// verifies that commit's signature, and holds a release whose Job someone
// else unsuspended).
func validateJobs(wt workTree, r *policy.Rollout) []string {
	var problems []string
	read := wt.ReadFile
	for _, e := range manifest.CheckMigrationJobs(read, r) {
		problems = append(problems, e.Error())
	}
	if len(problems) > 0 {
		return problems
	}
	for i, m := range r.Spec.Migrations {
		data, _ := read(m.Job.File)
		if s, _ := manifest.JobSuspend(data); s == "true" {
			continue
		}
		field := fmt.Sprintf("spec.migrations[%d].job.file", i)
		if why := releasedByRamp(wt.root, m.Job.File, data); why != "" {
			problems = append(problems, r.Errorf(field, "%s: spec.suspend is false: a migration Job is committed suspended (spec.suspend: true) and only ramp's signed commit releases it; %s",
				m.Job.File, why).Error())
		}
	}
	return problems
}

// releasedByRamp says why the file rel (with content data on disk) under
// the working copy root is not as ramp's commit that released it left
// it, or "" when it is.
func releasedByRamp(root, rel string, data []byte) string {
	repo, err := gogit.PlainOpenWithOptions(root, &gogit.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return "and this is no git working copy to tell whether ramp released it (" + err.Error() + ")"
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "and the git working copy cannot be read (" + err.Error() + ")"
	}
	abs, err := filepath.Abs(root)
	if err == nil {
		abs, err = filepath.Rel(wt.Filesystem.Root(), abs)
	}
	if err != nil {
		return "and the git working copy cannot be read (" + err.Error() + ")"
	}
	path := filepath.ToSlash(filepath.Join(abs, filepath.FromSlash(rel)))
	head, err := repo.Head()
	if err != nil {
		return "and HEAD cannot be read (" + err.Error() + ")"
	}
	c, err := repo.CommitObject(head.Hash())
	if err != nil {
		return "and HEAD cannot be read (" + err.Error() + ")"
	}
	hash := func(c *object.Commit) (string, bool) {
		tree, err := c.Tree()
		if err != nil {
			return "", false
		}
		f, err := tree.File(path)
		if err != nil {
			return "", errors.Is(err, object.ErrFileNotFound)
		}
		return f.Hash.String(), true
	}
	tree, err := c.Tree()
	if err != nil {
		return "and HEAD cannot be read (" + err.Error() + ")"
	}
	committed, err := history.ReadFile(tree, path)
	if err != nil || !bytes.Equal(committed, data) {
		return "the file differs from HEAD's: this change unsuspends it"
	}
	for range maxJobHistory {
		if len(c.ParentHashes) == 0 {
			return "no commit of ramp's released it"
		}
		p, err := repo.CommitObject(c.ParentHashes[0])
		if err != nil {
			return "and the history that would tell whether ramp released it is missing (" + err.Error() + "); fetch more of it"
		}
		h, ok := hash(c)
		ph, pok := hash(p)
		if !ok || !pok {
			return "and the history that would tell whether ramp released it cannot be read"
		}
		if h == ph {
			c = p
			continue
		}
		entries, _, _ := trailer.ParseRecord(trailer.Parse(c.Message))
		if slices.ContainsFunc(entries, func(e policy.Entry) bool {
			return slices.ContainsFunc(e.Migrate, func(m policy.MigrateRef) bool { return m.Job == rel })
		}) {
			return ""
		}
		return fmt.Sprintf("commit %.10s by %s, which last changed it, is not ramp's release of it (no Ramp-Migrate trailer naming it)", c.Hash, c.Author.Email)
	}
	return fmt.Sprintf("no commit among the %d newest changed it", maxJobHistory)
}
