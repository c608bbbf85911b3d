package policy

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestAuditRecord(t *testing.T) {
	progressing := State{Rollout: "demo", Phase: PhaseProgressing, Release: "2.0", Stable: "1.0", Step: 1, Weight: 10,
		StartCommit: "start-2.0", StartAuthor: "dev@example.com"}
	with := func(s State, mods ...func(*State)) State {
		for _, m := range mods {
			m(&s)
		}
		return s
	}
	step := func(n int) func(*State) { return func(s *State) { s.Step = n } }
	approvedBy := func(step int, commit string, by *Signer) func(*State) {
		return func(s *State) {
			s.Approvals = append(s.Approvals, Approval{Step: step, Principal: by.Principal, Key: by.Key, Groups: []string{"sre"}, Commit: commit})
		}
	}
	held := func(commit, reason string) func(*State) {
		return func(s *State) { s.Holds = append(s.Holds, Hold{Commit: commit, Reason: reason}) }
	}
	rejected := func(rj Rejection) func(*State) {
		return func(s *State) { s.Rejected = append(s.Rejected, rj) }
	}
	recorded := func(rec *Record, mods ...func(*Entry)) *Record {
		for _, m := range mods {
			m(&rec.Entries[0])
		}
		return rec
	}
	signedBy := func(by *Signer, rec *Record) *Record { rec.Signer = by; return rec }
	edit := func(commit string, ch Change) *Record {
		return &Record{Commit: commit, Author: "bob@example.com", Time: t0, Changes: map[string]Change{"demo": ch}}
	}
	weight := func(n int) *int { return &n }

	passed := GateResult{Name: "error-rate", Verdict: Pass, Value: 0.001, HasValue: true, Bound: "<=0.01"}
	approveStep2 := Command{Kind: CommandApprove, Rollout: "demo", Release: "2.0", Step: 2}
	byDan := Rejection{Commit: "a-dan", Author: "dan@example.com", Command: &approveStep2,
		Reason: "key SHA256:dan (dan@example.com) is not in group sre, which approves step 2"}
	earlier := Rejection{Commit: "a-old", Author: "someone@example.com", Command: &approveStep2, Reason: "unsigned"}
	forged := Rejection{Commit: "forged", Author: "alice@example.com",
		Reason: "Ramp-* trailers in a commit not signed by ramp's key (no trusted signature)"}
	targetEdited := "commit edit by bob@example.com edited the traffic target apps/demo/route.yaml without ramp's signature"
	specEdited := "commit spec by bob@example.com edited releases/demo/rollout.yaml while release 2.0 is in progress; a signed Ramp-Resume accepts the new spec"

	tests := []struct {
		name          string
		before, after State
		rec           *Record
		want          *AuditRow // Commit, Time, Author and Signer aside: they are the record's
	}{
		// Starts.
		{name: "release field set while stable: start",
			before: Base("demo", "1.0", "1.0", 0),
			after:  State{Rollout: "demo", Phase: PhaseProgressing, Release: "2.0", Stable: "1.0", StartCommit: "start-2.0", StartAuthor: "dev@example.com"},
			rec:    startRelease("2.0"),
			want:   &AuditRow{Release: "2.0", What: "start", Reason: "release field set to 2.0"}},
		{name: "an unsigned start: the row says separation of duties cannot be verified",
			before: Base("demo", "1.0", "1.0", 0),
			after: State{Rollout: "demo", Phase: PhaseProgressing, Release: "2.0", Stable: "1.0", StartCommit: "start-2.0", StartAuthor: "dev@example.com",
				StartUnverified: "not signed by a trusted key: start commit start-2.0 by dev@example.com (unsigned)"},
			rec: startRelease("2.0"),
			want: &AuditRow{Release: "2.0", What: "start", Reason: "release field set to 2.0; separation of duties cannot be verified: " +
				"not signed by a trusted key: start commit start-2.0 by dev@example.com (unsigned)",
				StartUnverified: "not signed by a trusted key: start commit start-2.0 by dev@example.com (unsigned)"}},
		{name: "release field set while another release has traffic: start that supersedes it",
			before: progressing,
			after:  State{Rollout: "demo", Phase: PhaseProgressing, Release: "2.1", Stable: "1.0", Weight: 10, Superseded: "2.0", StartCommit: "start-2.1", StartAuthor: "dev@example.com"},
			rec:    startRelease("2.1"),
			want:   &AuditRow{Release: "2.1", What: "start", Reason: "release field set to 2.1; supersedes 2.0"}},
		{name: "release field set back to stable with no traffic: settles, an edit and no start",
			before: with(progressing, func(s *State) { s.Weight = 0 }),
			after:  Base("demo", "1.0", "1.0", 0),
			rec:    startRelease("1.0"),
			want:   &AuditRow{Release: "1.0", What: "edit"}},

		// Ramp's entries.
		{name: "ramp's analysis step: action, step of steps, weight, gates and reason",
			before: progressing,
			after:  with(progressing, step(3), func(s *State) { s.Weight = 50 }),
			rec: recorded(rampStep("s3", "2.0", 3, ActionAnalysis, 50), func(e *Entry) {
				e.Gates, e.Reason = []GateResult{passed}, "error-rate passed"
			}),
			want: &AuditRow{Release: "2.0", What: "analysis", Step: "3/4", Weight: weight(50), Gates: []AuditGate{{GateResult: passed}}, Reason: "error-rate passed"}},
		{name: "ramp's entry without a step: no step, weight 0 still shown",
			before: with(progressing, step(4), func(s *State) { s.Phase = PhasePromoted; s.Stable = "2.0"; s.Weight = 50 }),
			after:  Base("demo", "2.0", "2.0", 0),
			rec:    rampStep("done", "2.0", 0, ActionComplete, 0),
			want:   &AuditRow{Release: "2.0", What: "complete", Weight: weight(0)}},
		{name: "ramp's entry names its release, not the state's: a rollback of the superseded release",
			before: State{Rollout: "demo", Phase: PhaseProgressing, Release: "2.1", Stable: "1.0", Weight: 10, Superseded: "2.0", StartCommit: "start-2.1"},
			after:  State{Rollout: "demo", Phase: PhaseProgressing, Release: "2.1", Stable: "1.0", StartCommit: "start-2.1"},
			rec:    recorded(rampStep("rb", "2.0", 0, ActionRollback, 0), func(e *Entry) { e.Reason = "superseded by 2.1" }),
			want:   &AuditRow{Release: "2.0", What: "rollback", Weight: weight(0), Reason: "superseded by 2.1"}},
		{name: "approval recorded by ramp that the earlier state holds: no finding",
			before: with(progressing, step(2), approvedBy(2, "a1", alice)),
			after:  with(progressing, step(3), approvedBy(2, "a1", alice), func(s *State) { s.Weight = 50 }),
			rec: recorded(rampStep("s3", "2.0", 3, ActionSetWeight, 50), func(e *Entry) {
				e.Approved = []ApprovalRef{{Principal: "alice@example.com", Key: "SHA256:alice", Commit: "a1"}}
			}),
			want: &AuditRow{Release: "2.0", What: "set-weight", Step: "3/4", Weight: weight(50),
				Approved: []ApprovalRef{{Principal: "alice@example.com", Key: "SHA256:alice", Commit: "a1"}}}},
		{name: "approval recorded by ramp that the earlier state does not hold: finding",
			before: with(progressing, step(2)),
			after:  with(progressing, step(3), func(s *State) { s.Weight = 50 }),
			rec: recorded(rampStep("s3", "2.0", 3, ActionSetWeight, 50), func(e *Entry) {
				e.Approved = []ApprovalRef{{Principal: "alice@example.com", Key: "SHA256:alice", Commit: "a1"}}
			}),
			want: &AuditRow{Release: "2.0", What: "set-weight", Step: "3/4", Weight: weight(50),
				Approved: []ApprovalRef{{Principal: "alice@example.com", Key: "SHA256:alice", Commit: "a1"}},
				Findings: []string{"records approval commit a1 by alice@example.com that history does not hold as an accepted approval"}}},
		{name: "approval recorded by ramp whose commit the earlier state holds for another key: finding",
			before: with(progressing, step(2), approvedBy(2, "a1", alice)),
			after:  with(progressing, step(3), approvedBy(2, "a1", alice), func(s *State) { s.Weight = 50 }),
			rec: recorded(rampStep("s3", "2.0", 3, ActionSetWeight, 50), func(e *Entry) {
				e.Approved = []ApprovalRef{{Principal: "alice@example.com", Key: "SHA256:other", Commit: "a1"}}
			}),
			want: &AuditRow{Release: "2.0", What: "set-weight", Step: "3/4", Weight: weight(50),
				Approved: []ApprovalRef{{Principal: "alice@example.com", Key: "SHA256:other", Commit: "a1"}},
				Findings: []string{"records approval commit a1 by alice@example.com that history does not hold as an accepted approval"}}},
		{name: "ramp's entry and a command in one commit: the entry names the row",
			before: progressing,
			after:  with(progressing, step(2)),
			rec: func() *Record {
				rec := rampStep("s2", "2.0", 2, ActionPause, 10)
				rec.Commands = []Command{{Kind: CommandPause, Rollout: "demo", Release: "2.0", Reason: "look"}}
				return rec
			}(),
			want: &AuditRow{Release: "2.0", What: "pause", Step: "2/4", Weight: weight(10)}},
		{name: "ramp trailers signed by another key: the entry is ignored, its rejection is a finding, the target change an edit",
			before: progressing,
			after:  with(progressing, rejected(forged), held("forged", "commit forged by alice@example.com edited the traffic target apps/demo/route.yaml without ramp's signature")),
			rec:    signedBy(alice, recorded(rampStep("forged", "2.0", 2, ActionSetWeight, 50))),
			want: &AuditRow{Release: "2.0", What: "edit", Findings: []string{
				"Ramp-* trailers in a commit not signed by ramp's key (no trusted signature)",
				"commit forged by alice@example.com edited the traffic target apps/demo/route.yaml without ramp's signature"}}},

		// Commands.
		{name: "accepted approval: the command's kind and its step of the rollout's steps",
			before: with(progressing, step(2)),
			after:  with(progressing, step(2), approvedBy(2, "a1", alice)),
			rec:    cmd("a1", alice, Command{Kind: CommandApprove, Release: "2.0", Step: 2}),
			want:   &AuditRow{Release: "2.0", What: "Ramp-Approve", Step: "2/4"}},
		{name: "accepted abort: its reason",
			before: progressing,
			after:  with(progressing, func(s *State) { s.AbortBy = &Rejection{Commit: "x", Author: "alice@example.com"} }),
			rec:    cmd("x", alice, Command{Kind: CommandAbort, Release: "2.0", Reason: "errors in the logs"}),
			want:   &AuditRow{Release: "2.0", What: "Ramp-Abort", Reason: "errors in the logs"}},
		{name: "rejected command: listed as rejected, not as a finding",
			before: with(progressing, step(2)),
			after:  with(progressing, step(2), rejected(byDan)),
			rec:    cmd("a-dan", dba, approveStep2),
			want:   &AuditRow{Release: "2.0", What: "Ramp-Approve", Step: "2/4", Rejected: []Rejection{byDan}}},
		{name: "rejections of earlier records are not repeated",
			before: with(progressing, step(2), rejected(earlier)),
			after:  with(progressing, step(2), rejected(earlier), rejected(byDan)),
			rec:    cmd("a-dan", dba, approveStep2),
			want:   &AuditRow{Release: "2.0", What: "Ramp-Approve", Step: "2/4", Rejected: []Rejection{byDan}}},
		{name: "resume that clears a hold: no finding for the cleared hold",
			before: with(progressing, held("edit", targetEdited)),
			after:  progressing,
			rec:    cmd("r", alice, Command{Kind: CommandResume, Release: "2.0"}),
			want:   &AuditRow{Release: "2.0", What: "Ramp-Resume"}},
		{name: "command for another rollout only: not about this one",
			before: progressing,
			after:  progressing,
			rec: func() *Record {
				rec := cmd("p", alice, Command{Kind: CommandPause, Release: "3.0"})
				rec.Commands[0].Rollout = "other"
				return rec
			}(),
			want: nil},

		// Edits.
		{name: "unsigned hand edit of the target mid-release: an edit with its hold as a finding",
			before: progressing,
			after:  with(progressing, held("edit", targetEdited)),
			rec:    edit("edit", Change{Target: true}),
			want:   &AuditRow{Release: "2.0", What: "edit", Findings: []string{targetEdited}}},
		{name: "holds of earlier records are not repeated",
			before: with(progressing, held("edit", targetEdited)),
			after:  with(progressing, held("edit", targetEdited), held("edit2", "commit edit2 by bob@example.com changed the stable field apps/demo/stable/k.yaml by hand")),
			rec:    edit("edit2", Change{Stable: str("1.1")}),
			want:   &AuditRow{Release: "2.0", What: "edit", Findings: []string{"commit edit2 by bob@example.com changed the stable field apps/demo/stable/k.yaml by hand"}}},
		{name: "hand edit of the target while stable: an edit, no finding",
			before: Base("demo", "1.0", "1.0", 0),
			after:  Base("demo", "1.0", "1.0", 0),
			rec:    edit("edit", Change{Target: true}),
			want:   &AuditRow{Release: "1.0", What: "edit"}},
		{name: "spec edited while stable: spec",
			before: Base("demo", "1.0", "1.0", 0),
			after:  Base("demo", "1.0", "1.0", 0),
			rec:    edit("spec", Change{Spec: true}),
			want:   &AuditRow{Release: "1.0", What: "spec"}},
		{name: "spec edited mid-release: spec with its hold as a finding",
			before: progressing,
			after:  with(progressing, held("spec", specEdited)),
			rec:    edit("spec", Change{Spec: true}),
			want:   &AuditRow{Release: "2.0", What: "spec", Findings: []string{specEdited}}},

		// Neither.
		{name: "ramp trailers signed by another key with no change: other, with the finding",
			before: progressing,
			after:  with(progressing, rejected(forged)),
			rec: func() *Record {
				rec := signedBy(alice, rampStep("forged", "2.0", 2, ActionSetWeight, 50))
				rec.Changes = nil
				return rec
			}(),
			want: &AuditRow{Release: "2.0", What: "other", Findings: []string{"Ramp-* trailers in a commit not signed by ramp's key (no trusted signature)"}}},
		{name: "edit of another rollout's files: not about this one",
			before: progressing,
			after:  progressing,
			rec:    &Record{Commit: "o", Author: "bob@example.com", Changes: map[string]Change{"other": {Target: true, Spec: true}}},
			want:   nil},
		{name: "ramp's entry for another rollout: not about this one",
			before: progressing,
			after:  progressing,
			rec: func() *Record {
				rec := rampStep("o1", "3.0", 1, ActionSetWeight, 10)
				rec.Entries[0].Rollout, rec.Changes = "other", map[string]Change{"other": {Target: true}}
				return rec
			}(),
			want: nil},
		{name: "commit that touches nothing: not about this one",
			before: progressing,
			after:  progressing,
			rec:    &Record{Commit: "readme", Author: "bob@example.com"},
			want:   nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := AuditRecord(foldRollout(), tt.before, tt.after, tt.rec)
			if got != nil {
				if got.Commit != tt.rec.Commit || !got.Time.Equal(tt.rec.Time) || got.Author != tt.rec.Author || got.Signer != tt.rec.Signer {
					t.Errorf("row is commit %s at %s by %s signed %v, want the record's %s at %s by %s signed %v",
						got.Commit, got.Time, got.Author, got.Signer, tt.rec.Commit, tt.rec.Time, tt.rec.Author, tt.rec.Signer)
				}
				rest := *got
				rest.Commit, rest.Time, rest.Author, rest.Signer = "", time.Time{}, "", nil
				got = &rest
			}
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(tt.want)
				t.Fatalf("row\n %s\nwant\n %s", g, w)
			}
		})
	}
}

// TestAuditRowJSON pins the field names of `ramp audit -o json`.
func TestAuditRowJSON(t *testing.T) {
	fifty := 50
	approve := Command{Kind: CommandApprove, Rollout: "demo", Release: "2.0", Step: 2}
	row := AuditRow{
		Commit: "c1", Time: t0, Author: "ramp@localhost", Signer: rampKey, Release: "2.0",
		What: "set-weight", Step: "3/4", Weight: &fifty,
		Gates:    []AuditGate{{GateResult: GateResult{Name: "error-rate", Verdict: Pass, Value: 0.001, HasValue: true, Window: Duration{10 * time.Minute}}}},
		Approved: []ApprovalRef{{Principal: "alice@example.com", Key: "SHA256:alice", Commit: "a1"}},
		Reason:   "why", Findings: []string{"f"},
		Rejected: []Rejection{{Commit: "a2", Author: "dan@example.com", Command: &approve, Reason: "r"}},
	}
	got, err := json.Marshal(row)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"commit":"c1","time":"2026-11-25T10:00:00Z","author":"ramp@localhost",` +
		`"signer":{"principal":"ramp@localhost","key":"SHA256:ramp","groups":["ramp"]},"release":"2.0",` +
		`"what":"set-weight","step":"3/4","weight":50,` +
		`"gates":[{"name":"error-rate","verdict":"pass","value":0.001,"hasValue":true,"window":"10m"}],` +
		`"approved":[{"principal":"alice@example.com","key":"SHA256:alice","commit":"a1"}],` +
		`"reason":"why","findings":["f"],` +
		`"rejected":[{"commit":"a2","author":"dan@example.com","command":{"kind":"Ramp-Approve","rollout":"demo","release":"2.0","step":2},"reason":"r"}]}`
	if string(got) != want {
		t.Fatalf("JSON\n %s\nwant\n %s", got, want)
	}
	got, err = json.Marshal(AuditRow{Commit: "c2", Time: t0, Author: "bob@example.com", Release: "2.0", What: "edit"})
	if err != nil {
		t.Fatal(err)
	}
	want = `{"commit":"c2","time":"2026-11-25T10:00:00Z","author":"bob@example.com","release":"2.0","what":"edit"}`
	if string(got) != want {
		t.Fatalf("JSON of a bare row\n %s\nwant\n %s", got, want)
	}
	got, err = json.Marshal(AuditRow{Commit: "c3", Time: t0, Author: "ramp@localhost", Release: "2.0", What: "abort",
		Gates:    []AuditGate{{GateResult: GateResult{Name: "error-rate", Verdict: Fail, Window: Duration{3 * time.Second}, Query: "q-75a288c0"}, QueryText: "up"}},
		ChangeID: "CHG-7", Message: "m",
		Spec: &SpecVersion{Path: "releases/demo/rollout.yaml", Commit: "c3", Blob: "b1", ChangedIn: "c1", Error: "e"}})
	if err != nil {
		t.Fatal(err)
	}
	want = `{"commit":"c3","time":"2026-11-25T10:00:00Z","author":"ramp@localhost","release":"2.0","what":"abort",` +
		`"gates":[{"name":"error-rate","verdict":"fail","value":0,"hasValue":false,"window":"3s","query":"q-75a288c0","queryText":"up"}],` +
		`"changeId":"CHG-7","spec":{"path":"releases/demo/rollout.yaml","commit":"c3","blob":"b1","changedIn":"c1","error":"e"},"message":"m"}`
	if string(got) != want {
		t.Fatalf("JSON of a row with the record's fields\n %s\nwant\n %s", got, want)
	}
}

func TestAuditRecordShowsTheQueryTextAndChecksItsHash(t *testing.T) {
	r := foldRollout()
	r.Spec.Gates[0].Prometheus = &PrometheusGate{Query: "up"} // QueryHash("up") is q-75a288c0
	progressing := State{Rollout: "demo", Phase: PhaseProgressing, Release: "2.0", Stable: "1.0", Step: 2, Weight: 10}
	for _, tt := range []struct {
		name, gate, hash string
		want             AuditGate
		finding          string
	}{
		{name: "hash of the spec's query: its text, no finding", gate: "error-rate", hash: "q-75a288c0",
			want: AuditGate{GateResult: GateResult{Name: "error-rate", Query: "q-75a288c0"}, QueryText: "up"}},
		{name: "hash of another query: the spec's text, and a finding", gate: "error-rate", hash: "q-00000000",
			want:    AuditGate{GateResult: GateResult{Name: "error-rate", Query: "q-00000000"}, QueryText: "up"},
			finding: "gate error-rate: recorded query hash q-00000000 does not match the query in releases/demo/rollout.yaml (q-75a288c0)"},
		{name: "gate the spec does not define: a finding", gate: "p99", hash: "q-75a288c0",
			want:    AuditGate{GateResult: GateResult{Name: "p99", Query: "q-75a288c0"}},
			finding: "gate p99: recorded with query q-75a288c0, but releases/demo/rollout.yaml defines no gate p99"},
		{name: "no hash recorded (a webhook): nothing to check", gate: "latency",
			want: AuditGate{GateResult: GateResult{Name: "latency"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := rampStep("s3", "2.0", 3, ActionSetWeight, 50)
			rec.Entries[0].Gates = []GateResult{{Name: tt.gate, Query: tt.hash}}
			rec.Entries[0].ChangeID = "CHG-7"
			row := AuditRecord(r, progressing, progressing, rec)
			if len(row.Gates) != 1 || !reflect.DeepEqual(row.Gates[0], tt.want) {
				t.Errorf("gates %+v, want %+v", row.Gates, tt.want)
			}
			if want := []string{tt.finding}; tt.finding == "" && len(row.Findings) > 0 || tt.finding != "" && !reflect.DeepEqual(row.Findings, want) {
				t.Errorf("findings %q, want %q", row.Findings, tt.finding)
			}
			if row.ChangeID != "CHG-7" {
				t.Errorf("change id %q, want CHG-7", row.ChangeID)
			}
		})
	}
}
