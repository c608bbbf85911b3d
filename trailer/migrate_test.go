package trailer

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

func TestMigrateTrailersNameEachReleasedJobAndReadBack(t *testing.T) {
	e := policy.Entry{Rollout: "demo", Release: "2.0", Step: 1, Steps: 4, Action: policy.ActionSetWeight, Weight: 10,
		Approved: []policy.ApprovalRef{{Principal: "dan@example.com", Key: "SHA256:dan", Commit: "c-dan"}},
		Migrate:  []policy.MigrateRef{{Job: "db/migrations/job.yaml", Migration: policy.MigrationExpand}, {Job: "db/seed job.yaml", Migration: policy.MigrationExpand}}}
	ts := ForEntry(e)
	var got []string
	for _, tr := range ts {
		if tr.Key == "Ramp-Migrate" {
			got = append(got, tr.Value)
		}
	}
	want := []string{"job=db/migrations/job.yaml migration=expand", `job="db/seed job.yaml" migration=expand`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Ramp-Migrate trailers %q, want %q", got, want)
	}
	entries, _, malformed := ParseRecord(ts)
	if len(malformed) != 0 || len(entries) != 1 || !reflect.DeepEqual(entries[0], e) {
		t.Fatalf("read back %+v (malformed %v), want %+v", entries, malformed, e)
	}
	_, _, malformed = ParseRecord(append(ts[:len(ts):len(ts)], Trailer{"Ramp-Migrate", "job=x.yaml migration=drop"}))
	if len(malformed) != 1 || !strings.Contains(malformed[0], `migration "drop": want expand or contract`) {
		t.Fatalf("malformed %q, want the unknown migration named", malformed)
	}
}
