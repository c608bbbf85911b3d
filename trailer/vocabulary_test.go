package trailer

import (
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/policy"
)

func TestFormatFieldsQuotesOnlyWhenNeeded(t *testing.T) {
	for _, tc := range []struct {
		fields []field
		want   string
	}{
		{[]field{{"name", "success-rate"}, {"verdict", "pass"}}, "name=success-rate verdict=pass"},
		{[]field{{"bound", ">=0.995"}}, `bound=">=0.995"`},
		{[]field{{"bound", "<=1.2x stable"}}, `bound="<=1.2x stable"`},
		{[]field{{"release", "2.4.0@sha256:abc"}}, "release=2.4.0@sha256:abc"},
		{[]field{{"key", "SHA256:uO7+/x="}}, `key="SHA256:uO7+/x="`},
		{[]field{{"k", ""}}, `k=""`},
		{[]field{{"reason", `a "b" \ c`}}, `reason="a \"b\" \\ c"`},
		{[]field{{"reason", "two\nlines\ttab"}}, `reason="two\nlines\ttab"`},
		{[]field{{"who", "zoë"}}, `who="zoë"`},
		{nil, ""},
	} {
		if got := formatFields(tc.fields); got != tc.want {
			t.Errorf("formatFields(%q) = %s, want %s", tc.fields, got, tc.want)
		}
	}
}

func TestParseFieldsReadsPlainAndQuotedValues(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []field
	}{
		{"", nil},
		{"  \t ", nil},
		{"a=1 b=\"x y\"  c=", []field{{"a", "1"}, {"b", "x y"}, {"c", ""}}},
		{"\tq=\"a=b\"\t", []field{{"q", "a=b"}}},
		{`r="\"q\" \\ \u00e9\x41"`, []field{{"r", `"q" \ éA`}}},
		{"x.y_z-1=a=b", []field{{"x.y_z-1", "a=b"}}},
	} {
		got, err := parseFields(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseFields(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseFieldsRejectsMalformedInput(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"novalue", "at byte 1: want key=value"},
		{"=x", "at byte 1: want key=value"},
		{"a=1 b", "at byte 5: want key=value"},
		{"k y=1", "at byte 1: want key=value"},
		{"ké=1", "at byte 1: want key=value"},
		{`a="x`, "a: unterminated quoted value"},
		{`a="x\"`, "a: unterminated quoted value"},
		{`a="x"y`, "a: want a space after the closing quote"},
		{`a=x"y`, "a: quote inside an unquoted value: quote the whole value"},
		{`a="\q"`, `a: bad quoted value "\q": invalid syntax`},
	} {
		got, err := parseFields(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("parseFields(%q) = %q, %v; want error %q", tc.in, got, err, tc.want)
		}
	}
}

func TestFormatFieldsThenParseFieldsGivesBackEveryField(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	const keyBytes = "abcXYZ019._-"
	pieces := []string{"a", "Z", "0", "=", `"`, `\`, " ", "\t", "\n", "\r", "é", "\x00", "\xff", "\x7f", ">=", "u00e9", "#", ":"}
	for i := 0; i < 3000; i++ {
		fields := make([]field, r.Intn(4))
		for j := range fields {
			var k, v strings.Builder
			for n := 1 + r.Intn(5); n > 0; n-- {
				k.WriteByte(keyBytes[r.Intn(len(keyBytes))])
			}
			for n := r.Intn(6); n > 0; n-- {
				v.WriteString(pieces[r.Intn(len(pieces))])
			}
			fields[j] = field{k.String(), v.String()}
		}
		s := formatFields(fields)
		if strings.ContainsAny(s, "\n\r") || s != strings.TrimSpace(s) {
			t.Fatalf("formatFields(%q) = %q: want one line without surrounding whitespace", fields, s)
		}
		got, err := parseFields(s)
		if err != nil || len(got) != len(fields) || (len(got) > 0 && !reflect.DeepEqual(got, fields)) {
			t.Fatalf("parseFields(formatFields(%q)) = %q, %v", fields, got, err)
		}
		if i < 20 && len(fields) > 0 && !strings.Contains(s, "\x00") {
			msg := Append("Subj\n", []Trailer{{"Ramp-Gate", s}})
			if back := parseGitOutput(interpretTrailers(t, msg, "--parse")); len(back) != 1 || back[0].Value != s {
				t.Fatalf("git read %q back as %q", s, back)
			}
		}
	}
}

// designEntry is the example of README.md "Commit trailers", with every
// optional field set.
var designEntry = policy.Entry{
	Rollout: "payment-api", Release: "2.4.0@sha256:9f86d081884c7d65", Step: 3, Steps: 7,
	Action: policy.ActionSetWeight, Weight: 25,
	Gates: []policy.GateResult{
		{Name: "success-rate", Verdict: policy.Pass, Value: 0.9981, HasValue: true, Bound: ">=0.995",
			Samples: 48213, Window: minutes(10), Query: "q-1a2b3c4d", Severity: "critical"},
		{Name: "p99-latency", Verdict: policy.Inconclusive, Bound: "<=1.2x stable", Baseline: 0.21, HasBaseline: true,
			Window: policy.Duration{Duration: 90 * time.Second}, Failures: 1, Inconclusives: 2, Reason: "no samples from canary",
			Scope: policy.ScopeBackground},
	},
	Approved: []policy.ApprovalRef{{Principal: "alice@example.com", Key: "SHA256:uO7Cq9hZ+dJ1Hk3q/abc=",
		Commit: "0123456789abcdef0123456789abcdef01234567"}},
	Reason:   `p99 "regression" on /v2/search, threshold=1.2x`,
	ChangeID: "CHG-2026-10422",
}

func TestEntryTrailersWritesDesignVocabulary(t *testing.T) {
	want := []Trailer{
		{"Ramp-Rollout", "payment-api"},
		{"Ramp-Release", "2.4.0@sha256:9f86d081884c7d65"},
		{"Ramp-Step", "3/7"},
		{"Ramp-Action", "set-weight"},
		{"Ramp-Weight", "25"},
		{"Ramp-Gate", `name=success-rate verdict=pass value=0.9981 bound=">=0.995" samples=48213 window=10m query=q-1a2b3c4d severity=critical`},
		{"Ramp-Gate", `name=p99-latency verdict=inconclusive bound="<=1.2x stable" baseline=0.21 window=1m30s failures=1 inconclusives=2 reason="no samples from canary" scope=background`},
		{"Ramp-Approved-By", `principal=alice@example.com key="SHA256:uO7Cq9hZ+dJ1Hk3q/abc=" commit=0123456789abcdef0123456789abcdef01234567`},
		{"Ramp-Reason", `p99 "regression" on /v2/search, threshold=1.2x`},
		{"Ramp-Change-Id", "CHG-2026-10422"},
	}
	if got := ForEntry(designEntry); !reflect.DeepEqual(got, want) {
		t.Errorf("EntryTrailers:\n got %q\nwant %q", got, want)
	}
}

func TestEntryTrailersOmitsUnsetFieldsAndJoinsLines(t *testing.T) {
	e := policy.Entry{Rollout: "checkout", Release: "1.0.0", Action: policy.ActionAbort, Reason: "gate failed:\n  error rate\r\nabove 1%",
		Gates: []policy.GateResult{{Name: "errors", Verdict: policy.Fail, Value: 0, HasValue: true, Window: minutes(60)}}}
	want := []Trailer{
		{"Ramp-Rollout", "checkout"},
		{"Ramp-Release", "1.0.0"},
		{"Ramp-Action", "abort"},
		{"Ramp-Weight", "0"},
		{"Ramp-Gate", "name=errors verdict=fail value=0 window=1h"},
		{"Ramp-Reason", "gate failed: error rate above 1%"},
	}
	if got := ForEntry(e); !reflect.DeepEqual(got, want) {
		t.Errorf("EntryTrailers:\n got %q\nwant %q", got, want)
	}
}

func TestEntryRoundTripsThroughGit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		message string
		entries []policy.Entry
	}{
		{"design example", "ramp: payment-api 2.4.0 step 3/7 (weight 25)\n\nGate success-rate passed.\n",
			[]policy.Entry{designEntry}},
		{"no step, no gates", "ramp: checkout 1.0.0 complete\n",
			[]policy.Entry{{Rollout: "checkout", Release: "1.0.0", Action: policy.ActionComplete, Weight: 0}}},
		{"two rollouts in one commit after a sign-off", "ramp: two rollouts\n\nBody.\n\nSigned-off-by: ramp <ramp@example.com>\n",
			[]policy.Entry{
				{Rollout: "search", Release: "7.1.0@sha256:abc123def456", Step: 7, Steps: 7, Action: policy.ActionPromote, Weight: 100,
					Gates: []policy.GateResult{{Name: "p99", Verdict: policy.Fail, Value: -1.5e-07, HasValue: true,
						Samples: 1e6, Window: policy.Duration{Duration: 500 * time.Millisecond}, Reason: `a "b" = c`}}},
				{Rollout: "cart", Release: "0.9.1", Step: 1, Steps: 4, Action: policy.ActionRollback, Weight: 0,
					Reason: `abort by bob: reason="p99 regression on /v2/search" (x=1)`},
			}},
		{"a mirror step and its shadow declaration", "ramp: demo 2.0 step 3/4 set-mirror-route (weight 5%)\n",
			[]policy.Entry{{Rollout: "demo", Release: "2.0", Step: 3, Steps: 4, Action: policy.ActionSetMirrorRoute, Weight: 5,
				Shadow: &policy.ShadowRecord{Name: "shadow", Percent: 10, SideEffects: "isolated", Reason: `writes go to "sandbox-db"`}}}},
		{"a cohort step", "ramp: demo 2.0 step 1/4 set-header-route (weight 0%)\n",
			[]policy.Entry{{Rollout: "demo", Release: "2.0", Step: 1, Steps: 4, Action: policy.ActionSetHeaderRoute}}},
		{"a checkpoint of two aborted rollouts", "ramp: checkpoint of 2 aborted rollouts\n",
			[]policy.Entry{
				{Rollout: "demo", Release: "2.0", Step: 2, Steps: 4, Action: policy.ActionCheckpoint, Weight: 0,
					Reason: `gate error-rate failed: value="0.3"`, Anchor: &policy.AnchorRef{Commit: "0123456789abcdef0123456789abcdef01234567", Action: policy.ActionAbort}},
				{Rollout: "cart", Release: "0.9.1", Action: policy.ActionCheckpoint, Weight: 0,
					Anchor: &policy.AnchorRef{Commit: "89abcdef0123456789abcdef0123456789abcdef", Action: policy.ActionRollback}},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ts []Trailer
			for _, e := range tc.entries {
				ts = append(ts, ForEntry(e)...)
			}
			msg := Append(tc.message, ts)
			fromGit := parseGitOutput(interpretTrailers(t, msg, "--parse"))
			if own := Parse(msg); !sameTrailers(own, fromGit) {
				t.Errorf("Parse(%q) = %q, git gives %q", msg, own, fromGit)
			}
			entries, commands, malformed := ParseRecord(fromGit)
			if !reflect.DeepEqual(entries, tc.entries) || commands != nil || malformed != nil {
				t.Errorf("message %q read back as\n entries %+v\ncommands %+v\nmalformed %q\nwant entries %+v",
					msg, entries, commands, malformed, tc.entries)
			}
		})
	}
}

func TestParseRecordTrailersReadsCommands(t *testing.T) {
	ts := []Trailer{
		{"Signed-off-by", "Bob <bob@example.com>"},
		{"Ramp-Approve", "rollout=payment-api release=2.4.0 step=4"},
		{"ramp-abort", `rollout=payment-api release=2.4.0 reason="p99 regression on /v2/search"`},
		{"RAMP-PAUSE", "rollout=cart release=0.9.1"},
		{"Ramp-Resume", `release="2.4.0@sha256:abc" rollout=search reason=ok`},
	}
	want := []policy.Command{
		{Kind: policy.CommandApprove, Rollout: "payment-api", Release: "2.4.0", Step: 4},
		{Kind: policy.CommandAbort, Rollout: "payment-api", Release: "2.4.0", Reason: "p99 regression on /v2/search"},
		{Kind: policy.CommandPause, Rollout: "cart", Release: "0.9.1"},
		{Kind: policy.CommandResume, Rollout: "search", Release: "2.4.0@sha256:abc", Reason: "ok"},
	}
	entries, commands, malformed := ParseRecord(ts)
	if entries != nil || malformed != nil || !reflect.DeepEqual(commands, want) {
		t.Errorf("got entries %+v, malformed %q, commands %+v; want commands %+v", entries, malformed, commands, want)
	}
}

func TestCommandTrailerRoundTripsThroughGit(t *testing.T) {
	cmds := []policy.Command{
		{Kind: policy.CommandApprove, Rollout: "payment-api", Release: "2.4.0", Step: 4},
		{Kind: policy.CommandAbort, Rollout: "payment-api", Release: "2.4.0", Reason: "p99 regression on /v2/search"},
		{Kind: policy.CommandPause, Rollout: "cart", Release: "0.9.1@sha256:abc"},
		{Kind: policy.CommandResume, Rollout: "cart", Release: "0.9.1", Reason: `fixed "x=1"`},
		{Kind: policy.CommandApprove, Rollout: "cart", Release: "0.9.1", Freeze: "year-end", Reason: "CHG-7: security fix"},
		{Kind: policy.CommandApprove, Rollout: "cart", Release: "0.9.1", Migration: "expand"},
	}
	var ts []Trailer
	for _, c := range cmds {
		ts = append(ts, ForCommand(c))
	}
	if got, want := ts[0], (Trailer{"Ramp-Approve", "rollout=payment-api release=2.4.0 step=4"}); got != want {
		t.Errorf("CommandTrailer = %q, want %q", got, want)
	}
	msg := Append("Approve payment-api 2.4.0 step 4\n", ts)
	_, commands, malformed := ParseRecord(parseGitOutput(interpretTrailers(t, msg, "--parse")))
	if malformed != nil || !reflect.DeepEqual(commands, cmds) {
		t.Errorf("message %q read back as %+v (malformed %q), want %+v", msg, commands, malformed, cmds)
	}
}

func TestCheckpointTrailersWriteTheAnchor(t *testing.T) {
	e := policy.Entry{Rollout: "r000", Release: "9.0.0", Step: 1, Steps: 4, Action: policy.ActionCheckpoint, Weight: 0,
		Reason: "gate error-rate fail", Anchor: &policy.AnchorRef{Commit: "0123456789abcdef0123456789abcdef01234567", Action: policy.ActionAbort}}
	want := []Trailer{
		{"Ramp-Rollout", "r000"},
		{"Ramp-Release", "9.0.0"},
		{"Ramp-Step", "1/4"},
		{"Ramp-Action", "checkpoint"},
		{"Ramp-Weight", "0"},
		{"Ramp-Anchor", "commit=0123456789abcdef0123456789abcdef01234567 action=abort"},
		{"Ramp-Reason", "gate error-rate fail"},
	}
	if got := ForEntry(e); !reflect.DeepEqual(got, want) {
		t.Errorf("ForEntry:\n got %q\nwant %q", got, want)
	}
}

func TestParseRecordTrailersReportsMalformed(t *testing.T) {
	rollout := Trailer{"Ramp-Rollout", "web"}
	complete := []Trailer{rollout, {"Ramp-Release", "1.0"}, {"Ramp-Action", "set-weight"}, {"Ramp-Weight", "5"}}
	with := func(extra ...Trailer) []Trailer { return append(append([]Trailer{}, complete...), extra...) }
	for _, tc := range []struct {
		name          string
		trailers      []Trailer
		want          []string
		entries, cmds int
	}{
		{"step not a number", with(Trailer{"Ramp-Step", "x/7"}), []string{`Ramp-Step: "x/7": want N/M with 1 <= N <= M`}, 0, 0},
		{"step beyond steps", with(Trailer{"Ramp-Step", "8/7"}), []string{`Ramp-Step: "8/7": want N/M with 1 <= N <= M`}, 0, 0},
		{"weight above 100", []Trailer{rollout, {"Ramp-Release", "1.0"}, {"Ramp-Action", "pause"}, {"Ramp-Weight", "120"}},
			[]string{`Ramp-Weight: "120": want a whole number from 0 to 100`}, 0, 0},
		{"a shadow record without its reason", []Trailer{rollout, {"Ramp-Release", "1.0"}, {"Ramp-Action", "set-mirror-route"},
			{"Ramp-Weight", "0"}, {"Ramp-Shadow", "name=s percent=10 sideEffects=none"}},
			[]string{`Ramp-Shadow: "name=s percent=10 sideEffects=none": missing reason=`}, 0, 0},
		{"unknown action", []Trailer{rollout, {"Ramp-Release", "1.0"}, {"Ramp-Action", "explode"}, {"Ramp-Weight", "0"}},
			[]string{`Ramp-Action: "explode": unknown action: want set-weight, set-header-route, set-mirror-route, pause, analysis, promote, complete, abort, rollback or restore`}, 0, 0},
		{"missing action and weight", []Trailer{rollout, {"Ramp-Release", "1.0"}},
			[]string{`Ramp-Rollout: "web": missing Ramp-Action`, `Ramp-Rollout: "web": missing Ramp-Weight`}, 0, 0},
		{"empty rollout", []Trailer{{"Ramp-Rollout", ""}, {"Ramp-Release", "1.0"}, {"Ramp-Action", "pause"}, {"Ramp-Weight", "0"}},
			[]string{`Ramp-Rollout: "": empty rollout name`}, 0, 0},
		{"empty release", []Trailer{rollout, {"Ramp-Release", ""}, {"Ramp-Action", "pause"}, {"Ramp-Weight", "0"}},
			[]string{`Ramp-Release: "": empty value`}, 0, 0},
		{"repeated weight", with(Trailer{"Ramp-Weight", "10"}), []string{`Ramp-Weight: "10": repeated in the entry of rollout "web"`}, 0, 0},
		{"gate without verdict", with(Trailer{"Ramp-Gate", "name=errors"}), []string{`Ramp-Gate: "name=errors": missing verdict=`}, 0, 0},
		{"gate with bad verdict", with(Trailer{"Ramp-Gate", "name=e verdict=ok"}),
			[]string{`Ramp-Gate: "name=e verdict=ok": verdict "ok": want pass, fail or inconclusive`}, 0, 0},
		{"gate of an unknown scope", with(Trailer{"Ramp-Gate", "name=e verdict=pass scope=later"}),
			[]string{`Ramp-Gate: "name=e verdict=pass scope=later": scope "later": want background, bake, preflight or soak`}, 0, 0},
		{"gate with bad value", with(Trailer{"Ramp-Gate", "name=e verdict=pass value=high"}),
			[]string{`Ramp-Gate: "name=e verdict=pass value=high": value "high": want a number`}, 0, 0},
		{"gate with bad window", with(Trailer{"Ramp-Gate", "name=e verdict=pass window=soon"}),
			[]string{`Ramp-Gate: "name=e verdict=pass window=soon": window "soon": want a duration like 10m`}, 0, 0},
		{"gate with unknown field", with(Trailer{"Ramp-Gate", "name=e verdict=pass colour=red"}),
			[]string{`Ramp-Gate: "name=e verdict=pass colour=red": unknown field "colour": want name, verdict, value, bound, baseline, samples, window, query, severity, failures, inconclusives, reason, scope`}, 0, 0},
		{"gate with open quote", with(Trailer{"Ramp-Gate", `name=e verdict=pass bound=">=1`}),
			[]string{`Ramp-Gate: "name=e verdict=pass bound=\">=1": bound: unterminated quoted value`}, 0, 0},
		{"checkpoint without anchor", []Trailer{rollout, {"Ramp-Release", "1.0"}, {"Ramp-Action", "checkpoint"}, {"Ramp-Weight", "0"}},
			[]string{`Ramp-Rollout: "web": missing Ramp-Anchor in a checkpoint entry`}, 0, 0},
		{"anchor in a set-weight entry", with(Trailer{"Ramp-Anchor", "commit=0123456789abcdef0123456789abcdef01234567 action=abort"}),
			[]string{`Ramp-Rollout: "web": Ramp-Anchor in a set-weight entry: only a checkpoint names an anchor`}, 0, 0},
		{"anchor with a short commit", []Trailer{rollout, {"Ramp-Release", "1.0"}, {"Ramp-Action", "checkpoint"}, {"Ramp-Weight", "0"},
			{"Ramp-Anchor", "commit=abc1234 action=abort"}},
			[]string{`Ramp-Anchor: "commit=abc1234 action=abort": commit "abc1234": want a full commit hash`}, 0, 0},
		{"anchor of a step", []Trailer{rollout, {"Ramp-Release", "1.0"}, {"Ramp-Action", "checkpoint"}, {"Ramp-Weight", "0"},
			{"Ramp-Anchor", "commit=0123456789abcdef0123456789abcdef01234567 action=set-weight"}},
			[]string{`Ramp-Anchor: "commit=0123456789abcdef0123456789abcdef01234567 action=set-weight": action "set-weight": want abort or rollback`}, 0, 0},
		{"approval without commit", with(Trailer{"Ramp-Approved-By", "principal=a key=k"}),
			[]string{`Ramp-Approved-By: "principal=a key=k": missing commit=`}, 0, 0},
		{"entry trailer before any rollout", append([]Trailer{{"Ramp-Release", "2.0"}}, complete...),
			[]string{`Ramp-Release: "2.0": before any Ramp-Rollout`}, 1, 0},
		{"bad entry does not spoil the next", append(with(Trailer{"Ramp-Step", "0/3"}), complete...),
			[]string{`Ramp-Step: "0/3": want N/M with 1 <= N <= M`}, 1, 0},
		{"unknown ramp trailer", with(Trailer{"Ramp-Foo", "x"}), []string{`Ramp-Foo: "x": unknown ramp trailer`}, 1, 0},
		{"approve without step", []Trailer{{"Ramp-Approve", "rollout=a release=b"}}, []string{`Ramp-Approve: "rollout=a release=b": missing step=`}, 0, 0},
		{"approve step zero", []Trailer{{"Ramp-Approve", "rollout=a release=b step=0"}},
			[]string{`Ramp-Approve: "rollout=a release=b step=0": step "0": want a whole number from 1 to 2147483647`}, 0, 0},
		{"approve both a step and a freeze", []Trailer{{"Ramp-Approve", "rollout=a release=b step=2 freeze=year-end"}},
			[]string{`Ramp-Approve: "rollout=a release=b step=2 freeze=year-end": one of step=, freeze= and migration=: an approval is of one step, one freeze exception or one migration`}, 0, 0},
		{"a freeze exception", []Trailer{{"Ramp-Approve", "rollout=a release=b freeze=year-end"}}, nil, 0, 1},
		{"a migration approval", []Trailer{{"Ramp-Approve", "rollout=a release=b migration=expand"}}, nil, 0, 1},
		{"a release commit's migration is no entry and no problem", []Trailer{{"Ramp-Migration", "expand"}}, nil, 0, 0},
		{"abort without release", []Trailer{{"ramp-abort", `rollout=a reason="x y"`}}, []string{`ramp-abort: "rollout=a reason=\"x y\"": missing release=`}, 0, 0},
		{"pause with a step", []Trailer{{"Ramp-Pause", "rollout=a release=b step=2"}, {"Ramp-Resume", "rollout=a release=b"}},
			[]string{`Ramp-Pause: "rollout=a release=b step=2": unknown field "step": want rollout, target, release, reason`}, 0, 1},
		{"repeated command field", []Trailer{{"Ramp-Resume", "rollout=a rollout=b release=c"}},
			[]string{`Ramp-Resume: "rollout=a rollout=b release=c": field "rollout" repeated`}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			entries, cmds, malformed := ParseRecord(tc.trailers)
			if !reflect.DeepEqual(malformed, tc.want) {
				t.Errorf("malformed:\n got %q\nwant %q", malformed, tc.want)
			}
			if len(entries) != tc.entries || len(cmds) != tc.cmds {
				t.Errorf("got %d entries and %d commands, want %d and %d", len(entries), len(cmds), tc.entries, tc.cmds)
			}
		})
	}
}

func TestParseRecordTrailersIgnoresOtherTrailers(t *testing.T) {
	ts := []Trailer{{"Signed-off-by", "A"}, {"Rampage", "x"}, {"Co-authored-by", "B"}}
	if e, c, m := ParseRecord(ts); e != nil || c != nil || m != nil {
		t.Errorf("got %+v %+v %q, want nothing", e, c, m)
	}
}

func minutes(n int) policy.Duration { return policy.Duration{Duration: time.Duration(n) * time.Minute} }

func TestMigrationReadsTheReleaseCommitsDeclaration(t *testing.T) {
	for _, tc := range []struct {
		ts   []Trailer
		want string
	}{
		{nil, ""},
		{[]Trailer{{"Signed-off-by", "dev"}, {"ramp-migration", " contract "}}, "contract"},
		{[]Trailer{{"Ramp-Migration", "drop"}}, "drop"},
	} {
		if got := Migration(tc.ts); got != tc.want {
			t.Errorf("Migration(%q) = %q, want %q", tc.ts, got, tc.want)
		}
	}
}

func TestAPreflightGateOnStepOneReadsBackWithItsScope(t *testing.T) {
	e := policy.Entry{Rollout: "demo", Release: "1.1.0", Step: 1, Steps: 3, Action: policy.ActionSetWeight, Weight: 10,
		Gates: []policy.GateResult{{Name: "incident", Verdict: policy.Pass, Value: 0, HasValue: true, Bound: "no alert firing", Scope: policy.ScopePreflight}}}
	ts := ForEntry(e)
	if !slices.Contains(ts, Trailer{"Ramp-Gate", `name=incident verdict=pass value=0 bound="no alert firing" scope=preflight`}) {
		t.Fatalf("trailers %q lack the preflight gate with scope=preflight", ts)
	}
	entries, _, malformed := ParseRecord(ts)
	if len(malformed) > 0 || len(entries) != 1 || len(entries[0].Gates) != 1 || entries[0].Gates[0].Scope != policy.ScopePreflight {
		t.Fatalf("read back %+v (malformed %q), want one entry with the preflight gate", entries, malformed)
	}
}

// TestAWaveHandOverAfterASoakReadsBackWithItsGates: the start-wave commit
// that follows a wave's soak carries the soak's gates (scope=soak); ramp
// must read its own commit back without a malformed trailer.
func TestAWaveHandOverAfterASoakReadsBackWithItsGates(t *testing.T) {
	e := policy.Entry{Rollout: "payments", Release: "2.4.0", Action: policy.ActionStartWave, Wave: "everywhere", Targets: []string{"eu-west-1"},
		Gates: []policy.GateResult{{Name: "errors", Verdict: policy.Pass, Value: 0.001, HasValue: true, Bound: "<=0.01", Scope: policy.ScopeSoak}}}
	ts := ForEntry(e)
	if !slices.Contains(ts, Trailer{"Ramp-Gate", `name=errors verdict=pass value=0.001 bound="<=0.01" scope=soak`}) {
		t.Fatalf("trailers %q lack the soak gate with scope=soak", ts)
	}
	entries, _, malformed := ParseRecord(ts)
	if len(malformed) > 0 || len(entries) != 1 || len(entries[0].Gates) != 1 || entries[0].Gates[0].Scope != policy.ScopeSoak {
		t.Fatalf("read back %+v (malformed %q), want one entry with the soak gate", entries, malformed)
	}
}
