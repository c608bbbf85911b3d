package trailer

import "github.com/ramp-dev/ramp/policy"

// keyMigrate names, in ramp's commit that releases a migration Job, the
// Job's file and the migration it runs: job=db/migrations/job.yaml
// migration=expand (one trailer per Job).
const keyMigrate = "Ramp-Migrate"

// migrateTrailers are the Ramp-Migrate trailers of refs.
func migrateTrailers(refs []policy.MigrateRef) []Trailer {
	var ts []Trailer
	for _, m := range refs {
		ts = append(ts, Trailer{keyMigrate, formatFields([]field{{"job", m.Job}, {"migration", m.Migration}})})
	}
	return ts
}

// parseMigrate reads a Ramp-Migrate value.
func parseMigrate(s string) (policy.MigrateRef, error) {
	f, err := readFields(s, "job", "migration")
	if err != nil {
		return policy.MigrateRef{}, err
	}
	m := policy.MigrateRef{Job: f.need("job"), Migration: f.need("migration")}
	if m.Migration != "" && m.Migration != policy.MigrationExpand && m.Migration != policy.MigrationContract {
		f.fail("migration %q: want expand or contract", m.Migration)
	}
	return m, f.err
}
