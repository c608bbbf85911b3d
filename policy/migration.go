package policy

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// What a release declares of the data migrations it ships (spec.migration,
// or the Ramp-Migration trailer of its start commit).
const (
	// MigrationExpand adds to the schema: old and new code both work with
	// it. It needs an approval from a group the guardrails name.
	MigrationExpand = "expand"
	// MigrationContract removes from the schema what only older code
	// used: refused while an older version may still serve traffic.
	MigrationContract = "contract"
)

// MigrationRules are the guardrails' rules for data and schema changes.
type MigrationRules struct {
	// Paths mark migrations: a directory as "db/migrations/**", or a file.
	// A release whose start commit changes one must declare expand or
	// contract.
	Paths []string `json:"paths,omitempty" yaml:"paths"`
	// ExpandGroups are the key groups whose signed `Ramp-Approve: … migration=expand`
	// lets an expand release take its first step.
	ExpandGroups []string `json:"expandGroups,omitempty" yaml:"expandGroups"`
}

// checkMigrations reports what the migration rules cannot be.
func (g Guardrails) checkMigrations(fail func(field, format string, args ...any)) {
	for i, p := range g.Migrations.Paths {
		dir, tree := strings.CutSuffix(p, "/**")
		switch {
		case dir == "" || path.IsAbs(dir) || path.Clean(dir) != dir || strings.HasPrefix(dir, ".."):
			fail("migrations.paths["+strconv.Itoa(i)+"]", "%q is not a clean relative path", p)
		case strings.ContainsAny(dir, "*?[]"):
			fail("migrations.paths["+strconv.Itoa(i)+"]", "%q: only a directory as dir/** or a file path, no other wildcards", p)
		case tree && dir == ".":
			fail("migrations.paths["+strconv.Itoa(i)+"]", "%q marks the whole repository", p)
		}
	}
	if len(g.Migrations.Paths) > 0 && len(g.Migrations.ExpandGroups) == 0 {
		fail("migrations.expandGroups", "required with migrations.paths: the groups that approve an expand (e.g. [dba])")
	}
}

// MigrationPath is the repository path a migrations pattern watches: the
// directory of "dir/**", or the file.
func MigrationPath(pattern string) string {
	dir, _ := strings.CutSuffix(pattern, "/**")
	return dir
}

// migration holds a release whose start commit changed migration paths
// before its first step: it must declare expand or contract; a contract
// is refused when the release started while another was in flight (an
// older version may still serve traffic, or be rolled back to, after the
// schema lost what it needs); an expand waits for an approval from a
// group the guardrails name, which step 1 records.
func (p *planner) migration(g Guardrails) (exc []Approval, d Decision, held bool) {
	s := p.s
	if len(s.MigrationPaths) == 0 && len(s.MigrationJobs) == 0 {
		return nil, Decision{}, false
	}
	kind, from := migrationKind(p.r, s)
	touched := fmt.Sprintf("release %s's start commit %s changes %s (guardrail migrations.paths)", s.Release, short(s.StartCommit), strings.Join(s.MigrationPaths, ", "))
	if len(s.MigrationPaths) == 0 {
		touched = fmt.Sprintf("release %s ships suspended migration Job %s (spec.migrations)", s.Release, strings.Join(s.MigrationJobs, ", "))
	}
	switch kind {
	case "":
		return nil, p.hold("a Ramp-Abort; then release again declaring the migration",
			touched+" but declares no migration: write Ramp-Migration: expand or contract in the release commit, or spec.migration"), true
	case MigrationContract:
		if s.StartedInFlight != "" {
			return nil, p.hold("a Ramp-Abort; ship the contract once no older version serves traffic and no bake or rollback window is open",
				touched+"; contract migration refused: "+s.StartedInFlight), true
		}
		return nil, Decision{}, false
	case MigrationExpand:
		for _, a := range s.Approvals {
			if a.Migration == MigrationExpand {
				exc = append(exc, a)
			}
		}
		if len(exc) == 0 {
			return nil, p.hold(fmt.Sprintf("an approval of the expand migration from %s (Ramp-Approve: rollout=%s release=%s migration=expand)",
				strings.Join(g.Migrations.ExpandGroups, " or "), p.r.Name(), s.Release), touched+"; expand migration"), true
		}
		return exc, Decision{}, false
	}
	return nil, p.hold("a Ramp-Abort; then release again declaring the migration",
		fmt.Sprintf("%s; %s says %q: not expand or contract", touched, from, kind)), true
}

// migrationApproval folds an approval of a release's expand migration:
// signed by a key of a group the guardrails name (migrations.expandGroups),
// by someone who did not sign the release's start.
func migrationApproval(s State, rec *Record, c Command, groups []string, g Guardrails, reject func(string) State) State {
	if c.Migration != MigrationExpand {
		return reject(fmt.Sprintf("migration=%s: only an expand migration is approved", c.Migration))
	}
	return grant(s, rec, Approval{Migration: c.Migration}, groups, g.Migrations.ExpandGroups,
		"approve expand migrations", "migrations.expandGroups", reject)
}
