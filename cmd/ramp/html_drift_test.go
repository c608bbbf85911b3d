package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

func TestAuditHTMLShowsTheFieldsAHandEditChanged(t *testing.T) {
	finding := "commit 0123456789 (unsigned, author bob@example.com) changed the stable field apps/demo/stable/k.yaml images[name=demo].newTag from 1.0 to 1.1 without a ramp decision"
	a := &history.Audit{Rollout: "demo", Findings: 1, Rows: []policy.AuditRow{{
		Commit: "0123456789abcdef0123456789abcdef01234567", Time: time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC),
		Author: "bob@example.com", Unverified: "unsigned", Release: "1.1", What: "edit", Findings: []string{finding},
		HandFields: []policy.FieldChange{{Field: policy.FieldStable, File: "apps/demo/stable/k.yaml", Path: "images[name=demo].newTag", Old: "1.0", New: "1.1"}},
	}}}
	var b bytes.Buffer
	if err := writeHTML(&b, a, nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"stable 1.0 → 1.1 by hand", "changed the stable field apps/demo/stable/k.yaml"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the HTML audit lacks %q", want)
		}
	}
}
