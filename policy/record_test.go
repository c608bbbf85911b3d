package policy

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

const digest64 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestParseArtifact(t *testing.T) {
	for _, tt := range []struct{ value, tag, digest string }{
		{"1.2.0", "1.2.0", ""},
		{"1.2.0@sha256:" + digest64, "1.2.0", "sha256:" + digest64},
		{"sha256:" + digest64, "", "sha256:" + digest64},
		{"registry.example.com/app:1.2@sha256:" + digest64, "registry.example.com/app:1.2", "sha256:" + digest64},
		{"1.2.0@sha256:0123", "1.2.0@sha256:0123", ""},
	} {
		a := ParseArtifact(tt.value)
		if a.Value != tt.value || a.Tag != tt.tag || a.Digest != tt.digest {
			t.Errorf("ParseArtifact(%q) = tag %q digest %q, want tag %q digest %q", tt.value, a.Tag, a.Digest, tt.tag, tt.digest)
		}
	}
}

// recordRows builds audit rows of rollout demo, one minute apart, under
// the spec version "b1" unless a row names another; commits are ca, cb, ….
type recordRows []AuditRow

func (rs *recordRows) add(row AuditRow) {
	row.Commit = "c" + string(rune('a'+len(*rs)))
	row.Time = t0.Add(time.Duration(len(*rs)) * time.Minute)
	if row.Author == "" {
		row.Author, row.Signer = "ramp@localhost", rampKey
	}
	if row.Spec == nil {
		row.Spec = &SpecVersion{Path: "releases/demo/rollout.yaml", Commit: row.Commit, Blob: "b1"}
	}
	*rs = append(*rs, row)
}

func (rs *recordRows) start(release string) {
	rs.add(AuditRow{Author: "dev@example.com", Release: release, What: "start"})
}

func (rs *recordRows) ramp(release string, a Action, step string, weight int, mods ...func(*AuditRow)) {
	row := AuditRow{Release: release, What: string(a), Step: step, Weight: &weight}
	for _, m := range mods {
		m(&row)
	}
	rs.add(row)
}

func (rs *recordRows) by(who *Signer, release string, kind CommandKind, mods ...func(*AuditRow)) {
	row := AuditRow{Author: who.Principal, Signer: who, Release: release, What: string(kind)}
	for _, m := range mods {
		m(&row)
	}
	rs.add(row)
}

func (rs recordRows) commit(i int) CommitRef {
	return CommitRef{Commit: rs[i].Commit, Time: rs[i].Time, Author: rs[i].Author, Signer: rs[i].Signer}
}

func TestReleaseRecordsFollowEachRelease(t *testing.T) {
	specs := map[string]*Rollout{"b1": foldRollout()}
	approval := ApprovalRef{Principal: "alice@example.com", Key: "SHA256:alice", Commit: "cd"}
	failed := AuditGate{GateResult: GateResult{Name: "error-rate", Verdict: Fail, Value: 0.2, HasValue: true, Bound: "<=0.01"}}
	reason := func(r string) func(*AuditRow) { return func(row *AuditRow) { row.Reason = r } }
	rejected := []Rejection{{Commit: "ce", Author: "dan@example.com", Command: &Command{Kind: CommandApprove}, Reason: "not in group sre"}}
	rows := &recordRows{}
	rows.start("2.0")                                                                                             // 0
	rows.ramp("2.0", ActionSetWeight, "1/4", 10)                                                                  // 1
	rows.ramp("2.0", ActionPause, "2/4", 10)                                                                      // 2
	rows.by(alice, "2.0", CommandApprove, func(r *AuditRow) { r.Step = "2/4" })                                   // 3
	rows.by(dba, "2.0", CommandApprove, func(r *AuditRow) { r.Step, r.Rejected = "2/4", rejected })               // 4
	rows.ramp("2.0", ActionSetWeight, "3/4", 50, func(r *AuditRow) { r.Approved = []ApprovalRef{approval} })      // 5
	rows.add(AuditRow{Author: "bob@example.com", Release: "2.0", What: "spec", Findings: []string{"spec edited"}, // 6
		Spec: &SpecVersion{Path: "releases/demo/rollout.yaml", Commit: "cg", Blob: "b2", ChangedIn: "cg"}})
	rows.start("2.1")                                                                                                     // 7: supersedes 2.0
	rows.ramp("2.0", ActionRollback, "", 0, reason("superseded by 2.1"))                                                  // 8
	rows.ramp("2.1", ActionSetWeight, "1/4", 10)                                                                          // 9
	rows.ramp("2.1", ActionAbort, "1/4", 0, func(r *AuditRow) { r.Gates, r.Reason = []AuditGate{failed}, "gate failed" }) // 10
	rows.add(AuditRow{Author: "bob@example.com", Release: "2.1", What: "edit", Findings: []string{"late edit"}})          // 11: after the end

	got := ReleaseRecords("demo", *rows, specs)
	r := *rows
	planned := StrategyRecord{Kind: "canary", Steps: []PlannedStep{
		{Step: 1, Kind: "setWeight", Description: "set the canary weight to 10%", Weight: intp(10)},
		{Step: 2, Kind: "approval", Description: "wait for 1 approval(s) by group sre", Group: "sre", Count: 1},
		{Step: 3, Kind: "setWeight", Description: "set the canary weight to 50%", Weight: intp(50)},
		{Step: 4, Kind: "approval", Description: "wait for 1 approval(s) by group sre", Group: "sre", Count: 1},
	}}
	gates := []GateSpec{{Name: "error-rate", Severity: "critical", InconclusiveLimit: 3}, {Name: "latency", Severity: "warning"}}
	w10, w50 := 10, 50
	want := []ReleaseRecord{{
		Rollout: "demo", Release: "2.0", Artifact: Artifact{Value: "2.0", Tag: "2.0", Field: foldRollout().Spec.Release},
		Start: r.commit(0), Spec: *r[0].Spec, SpecChanges: []SpecVersion{*r[6].Spec}, Strategy: planned, Gates: gates,
		Steps: []StepResult{
			{Step: 1, Kind: "setWeight", Result: StepDone, Weight: &w10, Entered: ref(r.commit(1)), SpecBlob: "b1", Left: ref(r.commit(2))},
			{Step: 2, Kind: "approval", Result: StepApproved, Weight: &w10, Entered: ref(r.commit(2)), SpecBlob: "b1", Left: ref(r.commit(5)), Approved: []ApprovalRef{approval}},
			{Step: 3, Kind: "setWeight", Result: StepRolledBack, Weight: &w50, Entered: ref(r.commit(5)), SpecBlob: "b1", Left: ref(r.commit(8))},
			{Step: 4, Kind: "approval", Result: StepNotReached},
		},
		Overrides: []Override{
			{Command: CommandApprove, Step: "2/4", CommitRef: r.commit(3), Accepted: true},
			{Command: CommandApprove, Step: "2/4", CommitRef: r.commit(4), Rejected: "not in group sre"},
		},
		Outcome: OutcomeRolledBack, End: ref(r.commit(8)), RollbackReason: "superseded by 2.1", SupersededBy: "2.1",
		Findings: []string{"spec edited"},
	}, {
		Rollout: "demo", Release: "2.1", Artifact: Artifact{Value: "2.1", Tag: "2.1", Field: foldRollout().Spec.Release},
		Start: r.commit(7), Spec: *r[7].Spec, Strategy: planned, Gates: gates,
		Steps: []StepResult{
			{Step: 1, Kind: "setWeight", Result: StepFailed, Weight: &w10, Entered: ref(r.commit(9)), SpecBlob: "b1", Left: ref(r.commit(10)), Gates: []AuditGate{failed}},
			{Step: 2, Kind: "approval", Result: StepNotReached},
			{Step: 3, Kind: "setWeight", Result: StepNotReached},
			{Step: 4, Kind: "approval", Result: StepNotReached},
		},
		Outcome: OutcomeAborted, End: ref(r.commit(10)), AbortReason: "gate failed",
	}}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", "  ")
		w, _ := json.MarshalIndent(want, "", "  ")
		t.Fatalf("records\n%s\nwant\n%s", g, w)
	}
}

func ref(c CommitRef) *CommitRef { return &c }

func TestReleaseRecordsOfAReleaseInFlight(t *testing.T) {
	rows := &recordRows{}
	rows.start("2.0")
	rows.ramp("2.0", ActionSetWeight, "1/4", 10)
	rows.by(alice, "2.0", CommandPause, func(r *AuditRow) { r.Message = "pause demo 2.0\n\nlooking at the logs" })
	rows.by(alice, "2.0", CommandResume, func(r *AuditRow) { r.Reason = "logs are clean" })
	got := ReleaseRecords("demo", *rows, map[string]*Rollout{})
	if len(got) != 1 {
		t.Fatalf("%d records, want 1", len(got))
	}
	rec := got[0]
	if rec.Outcome != OutcomeInProgress || rec.End != nil || len(rec.Steps) != 1 || rec.Steps[0].Result != StepInProgress || rec.Steps[0].Kind != "" {
		t.Errorf("outcome %s, steps %+v: want in progress at step 1 of an unknown spec", rec.Outcome, rec.Steps)
	}
	if len(rec.Overrides) != 2 || rec.Overrides[0].Message != "pause demo 2.0\n\nlooking at the logs" || rec.Overrides[0].Reason != "" ||
		rec.Overrides[1].Reason != "logs are clean" || !rec.Overrides[1].Accepted {
		t.Errorf("overrides %+v", rec.Overrides)
	}
}

func TestStrategyAndGatesAreDescribedFromTheSpec(t *testing.T) {
	r := foldRollout()
	r.Spec.Strategy = Strategy{BlueGreen: &BlueGreen{
		Analysis: &Analysis{Gates: []string{"error-rate"}, Window: Duration{5 * time.Minute}},
		Approval: &ApprovalReq{Group: "sre", Count: 2}, RollbackWindow: Duration{30 * time.Minute}}}
	max := 0.01
	r.Spec.Gates = []Gate{
		{Name: "error-rate", Severity: "critical", Prometheus: &PrometheusGate{Query: "up", Max: &max, SampleQuery: "count(up)", MinSamples: 3}},
		{Name: "incidents", Severity: "warning", Alerts: &AlertsGate{Selector: `service="demo"`}},
		{Name: "smoke", Severity: "critical", Webhook: &WebhookGate{URL: "https://hooks.example.com/smoke"}},
		{Name: "hours", Severity: "critical", Schedule: &ScheduleGate{TimeZone: "Europe/Berlin",
			Windows: []ChangeWindow{{Days: []string{"Mon", "Tue"}, Start: "09:00", End: "16:00"}}}},
	}
	var kinds, descriptions []string
	s := strategyRecord(r)
	for _, p := range s.Steps {
		kinds = append(kinds, p.Kind)
		descriptions = append(descriptions, p.Description)
	}
	if s.Kind != "blueGreen" || strings.Join(kinds, ",") != "analysis,approval,setWeight,pause" ||
		strings.Join(descriptions, "; ") != "analyse gates error-rate over 5m; wait for 2 approval(s) by group sre; set the canary weight to 100%; pause for 30m" {
		t.Errorf("strategy %s %v: %v", s.Kind, kinds, descriptions)
	}
	for i, want := range []GateSpec{
		{Name: "error-rate", Kind: "prometheus", Severity: "critical", Threshold: "<=0.01", Query: "up", QueryHash: "q-75a288c0", SampleQuery: "count(up)", MinSamples: 3},
		{Name: "incidents", Kind: "alerts", Severity: "warning", Threshold: "no alert firing",
			Query: `ALERTS{alertstate="firing", service="demo"}`, QueryHash: QueryHash(`ALERTS{alertstate="firing", service="demo"}`)},
		{Name: "smoke", Kind: "webhook", Severity: "critical", Threshold: "2xx", URL: "https://hooks.example.com/smoke"},
		{Name: "hours", Kind: "schedule", Severity: "critical", Threshold: "inside a change window", Windows: []string{"Mon,Tue 09:00-16:00 Europe/Berlin"}},
	} {
		if got := gateSpec(&r.Spec.Gates[i]); !reflect.DeepEqual(got, want) {
			t.Errorf("gate %s:\n %+v\nwant\n %+v", want.Name, got, want)
		}
	}
}

func TestReleaseRecordsKeepTheBakesVerdict(t *testing.T) {
	r := foldRollout()
	r.Spec.Strategy.Canary.Background = &Background{Gates: []string{"error-rate"}}
	r.Spec.Strategy.Canary.Bake = &Bake{Duration: Duration{time.Hour}, Gates: []string{"error-rate"}}
	specs := map[string]*Rollout{"b1": r}
	bg := AuditGate{GateResult: GateResult{Name: "error-rate", Verdict: Pass, Scope: ScopeBackground}}
	baked := AuditGate{GateResult: GateResult{Name: "error-rate", Verdict: Fail, Value: 0.3, HasValue: true, Scope: ScopeBake}}
	approval := ApprovalRef{Principal: "alice@example.com", Key: "SHA256:alice", Commit: "cx"}
	rows := &recordRows{}
	rows.start("2.0")
	rows.ramp("2.0", ActionSetWeight, "1/4", 10)
	rows.ramp("2.0", ActionPause, "2/4", 10, func(row *AuditRow) { row.Gates = []AuditGate{bg} })
	rows.ramp("2.0", ActionSetWeight, "3/4", 50, func(row *AuditRow) {
		row.Gates, row.Approved = []AuditGate{bg}, []ApprovalRef{approval}
	})
	rows.ramp("2.0", ActionPause, "4/4", 50, func(row *AuditRow) { row.Gates = []AuditGate{bg} })
	rows.ramp("2.0", ActionPromote, "", 50, func(row *AuditRow) { row.Gates = []AuditGate{bg} })
	rows.ramp("2.0", ActionRollback, "", 0, func(row *AuditRow) {
		row.Gates, row.Reason = []AuditGate{baked, bg}, "bake of 2.0 failed"
	})
	got := ReleaseRecords("demo", *rows, specs)[0]
	if got.Outcome != OutcomeRolledBack || got.RollbackReason != "bake of 2.0 failed" || !reflect.DeepEqual(got.Bake, []AuditGate{baked}) {
		t.Fatalf("outcome %q reason %q bake %+v, want rolled back by the bake, its verdict recorded", got.Outcome, got.RollbackReason, got.Bake)
	}
	if got.Steps[1].Result != StepApproved {
		t.Errorf("step 2 %q: background results on the commit that left it do not make an approval step %q", got.Steps[1].Result, StepApproved)
	}
	if got.Strategy.Bake == nil || got.Strategy.Background == nil {
		t.Errorf("strategy %+v, want its background gates and bake", got.Strategy)
	}
}
