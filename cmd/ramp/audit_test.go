package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// pinned is release 1.2.0 pinned by its image digest.
const (
	pinnedDigest = "sha256:4d6f7b9c1a2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e"
	pinned       = "1.2.0@" + pinnedDigest
)

// The gate error-rate's queries: as gatedRollout has it, and as the spec
// edit before release 1.2.0 makes it.
const (
	queryV1   = `sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[3s])) / sum(rate(http_requests_total{version="{{.Version}}"}[3s]))`
	queryV2   = `sum(rate(http_requests_total{version="{{.Version}}",code=~"5.."}[4s])) / sum(rate(http_requests_total{version="{{.Version}}"}[4s]))`
	samplesV1 = `sum(increase(http_requests_total{version="{{.Version}}"}[3s]))`
)

// newRecordHistory is a release repository where `ramp run`, against a
// real Prometheus, took rollout demo through three releases:
//   - 1.1.0 under the first spec: the gate passes, alice approves step 4,
//     the release completes;
//   - then dev edits the spec: change id CHG-2026-0042, the gate's query
//     over 4s and its threshold at 0.04;
//   - 1.2.0 pinned by digest (50% errors): alice pauses it at step 1 and
//     resumes it, each with a reason; the gate fails, ramp aborts and
//     rolls back;
//   - 1.3.0: alice aborts it at step 1 with a reason; ramp aborts and
//     rolls back.
func newRecordHistory(t *testing.T) *releaseHistory {
	t.Helper()
	h := newCompletedHistory(t, pinned)
	spec := gatedRollout
	for old, repl := range map[string]string{
		"  owner: team-demo\n": "  owner: team-demo\n  changeId: CHG-2026-0042\n",
		"'" + queryV1 + "'":    "'" + queryV2 + "'",
		"max: 0.05":            "max: 0.04",
	} {
		if !strings.Contains(spec, old) {
			t.Fatalf("test setup: gatedRollout has no %q", old)
		}
		spec = strings.Replace(spec, old, repl, 1)
	}
	writeFile(t, filepath.Join(h.repo, "releases/demo/rollout.yaml"), spec)
	h.git("dev", "commit", "-q", "-S", "-am", "demo: change CHG-2026-0042, error rate over 4s below 4%")

	h.release(t, "1.1.0", pinned)
	h.until(t, "ramp: demo "+pinned+" step 1/4")
	h.command("pause demo "+pinned, "Ramp-Pause: rollout=demo release="+pinned+` reason="checking the dashboards first"`)
	if out, err := runRamp(h.run...); err != nil || !strings.Contains(out, "hold") {
		t.Fatalf("ramp run on a paused release: %v\n%s", err, out)
	}
	h.command("resume demo "+pinned, "Ramp-Resume: rollout=demo release="+pinned+` reason="dashboards look fine"`)
	h.until(t, "ramp: demo "+pinned+" rollback")

	h.release(t, "1.1.0", "1.3.0")
	h.until(t, "ramp: demo 1.3.0 step 1/4")
	h.command("abort demo 1.3.0", `Ramp-Abort: rollout=demo release=1.3.0 reason="p99 regression on /v2/search"`)
	h.until(t, "ramp: demo 1.3.0 rollback")
	return h
}

// TestAuditHoldsTheCompleteRecordOfEachRelease builds a real history and
// checks every field of a release's record (issue 12, point 7) in `ramp
// audit -o json`, against facts the system git and ssh-keygen give, then
// the same record in the text and HTML audits, and the evidence bundle.
func TestAuditHoldsTheCompleteRecordOfEachRelease(t *testing.T) {
	h := newRecordHistory(t)
	out, err := runRamp("audit", "demo", "--repo", h.repo, "--approvers", h.approvers, "-o", "json", "--verify")
	if err != nil {
		t.Fatalf("ramp audit -o json --verify: %v\n%s", err, out)
	}
	var audit any
	if err := json.Unmarshal([]byte(out), &audit); err != nil {
		t.Fatalf("decode the JSON audit: %v\n%s", err, out)
	}

	// Facts, from the system git and ssh-keygen.
	commit := func(subject string) string {
		t.Helper()
		sha := h.git("dev", "log", "-1", "--format=%H", "--grep", "^"+regexpQuote(subject))
		if sha == "" {
			t.Fatalf("no commit %q:\n%s", subject, h.git("dev", "log", "--format=%h %s"))
		}
		return sha
	}
	specBlob := func(sha string) string { return h.git("dev", "rev-parse", sha+":releases/demo/rollout.yaml") }
	reason := func(sha string) string {
		return h.git("dev", "log", "-1", "--format=%(trailers:key=Ramp-Reason,valueonly)", sha)
	}
	aliceKey := gittest.SSHFingerprint(t, filepath.Join(h.keys, "alice.pub"))
	queryHash := func(text string) string {
		sum := sha256.Sum256([]byte(text))
		return "q-" + hex.EncodeToString(sum[:4])
	}
	firstSpec := commit("demo: gate the canary on its error rate")
	secondSpec := commit("demo: change CHG-2026-0042")

	releases := field(t, audit, "releases").([]any)
	if len(releases) != 3 {
		t.Fatalf("%d release records, want 3 (1.1.0, %s, 1.3.0)", len(releases), pinned)
	}

	t.Run("1.1.0: passed gate, approval, completed", func(t *testing.T) {
		r := releases[0]
		start := commit("demo: release 1.1.0")
		approval := commit("approve demo 1.1.0 step 4/4")
		for path, want := range map[string]any{
			"rollout":             "demo",
			"release":             "1.1.0",
			"artifact.value":      "1.1.0",
			"artifact.tag":        "1.1.0",
			"artifact.field.file": "apps/demo/canary/kustomization.yaml",
			"artifact.field.path": "images[name=demo].newTag",
			"start.commit":        start,
			"start.author":        "dev@example.com",
			"start.signer.key":    gittest.SSHFingerprint(t, filepath.Join(h.keys, "dev.pub")),
			// The spec as it was at the start, not as it is at the tip.
			"spec.path":                    "releases/demo/rollout.yaml",
			"spec.commit":                  start,
			"spec.blob":                    specBlob(start),
			"spec.changedIn":               firstSpec,
			"strategy.kind":                "canary",
			"strategy.revertRelease":       true,
			"strategy.steps.0.kind":        "setWeight",
			"strategy.steps.0.weight":      20,
			"strategy.steps.1.kind":        "analysis",
			"strategy.steps.1.gates.0":     "error-rate",
			"strategy.steps.1.window":      "3s",
			"strategy.steps.2.weight":      50,
			"strategy.steps.3.kind":        "approval",
			"strategy.steps.3.group":       "sre",
			"strategy.steps.3.count":       1,
			"gates.0.name":                 "error-rate",
			"gates.0.kind":                 "prometheus",
			"gates.0.severity":             "critical",
			"gates.0.threshold":            "<=0.05",
			"gates.0.query":                queryV1,
			"gates.0.queryHash":            queryHash(queryV1),
			"gates.0.sampleQuery":          samplesV1,
			"gates.0.minSamples":           20,
			"steps.0.step":                 1,
			"steps.0.result":               "done",
			"steps.0.entered.commit":       commit("ramp: demo 1.1.0 step 1/4"),
			"steps.1.result":               "passed",
			"steps.1.left.commit":          commit("ramp: demo 1.1.0 step 3/4"),
			"steps.1.gates.0.name":         "error-rate",
			"steps.1.gates.0.verdict":      "pass",
			"steps.1.gates.0.bound":        "<=0.05",
			"steps.1.gates.0.query":        queryHash(queryV1),
			"steps.1.gates.0.queryText":    queryV1,
			"steps.2.result":               "done",
			"steps.3.result":               "approved",
			"steps.3.left.commit":          commit("ramp: demo 1.1.0 promote"),
			"steps.3.approved.0.principal": "alice@example.com",
			"steps.3.approved.0.key":       aliceKey,
			"steps.3.approved.0.commit":    approval,
			"overrides.0.command":          "Ramp-Approve",
			"overrides.0.step":             "4/4",
			"overrides.0.commit":           approval,
			"overrides.0.author":           "alice@example.com",
			"overrides.0.signer.key":       aliceKey,
			"overrides.0.accepted":         true,
			"outcome":                      "completed",
			"end.commit":                   commit("ramp: demo 1.1.0 complete"),
		} {
			is(t, r, path, want)
		}
		for _, path := range []string{"artifact.digest", "changeId", "overrides.0.reason", "overrides.1", "abortReason", "rollbackReason", "findings"} {
			absent(t, r, path)
		}
	})

	t.Run(pinned+": pause and resume with reasons, failed gate, rolled back", func(t *testing.T) {
		r := releases[1]
		start := commit("demo: release " + pinned)
		abort := commit("ramp: demo " + pinned + " step 2/4 abort")
		rollback := commit("ramp: demo " + pinned + " rollback")
		for path, want := range map[string]any{
			"release":         pinned,
			"artifact.value":  pinned,
			"artifact.tag":    "1.2.0",
			"artifact.digest": pinnedDigest,
			"changeId":        "CHG-2026-0042",
			"spec.commit":     start,
			"spec.blob":       specBlob(start),
			"spec.changedIn":  secondSpec,
			// The gate as the spec had it at this release.
			"gates.0.threshold":         "<=0.04",
			"gates.0.query":             queryV2,
			"gates.0.queryHash":         queryHash(queryV2),
			"steps.0.result":            "done",
			"steps.1.result":            "failed",
			"steps.1.entered.commit":    commit("ramp: demo " + pinned + " step 2/4 analysis"),
			"steps.1.left.commit":       abort,
			"steps.1.gates.0.verdict":   "fail",
			"steps.1.gates.0.bound":     "<=0.04",
			"steps.1.gates.0.queryText": queryV2,
			"steps.2.result":            "not reached",
			"steps.3.result":            "not reached",
			"overrides.0.command":       "Ramp-Pause",
			"overrides.0.commit":        commit("pause demo " + pinned),
			"overrides.0.reason":        "checking the dashboards first",
			"overrides.0.accepted":      true,
			"overrides.1.command":       "Ramp-Resume",
			"overrides.1.commit":        commit("resume demo " + pinned),
			"overrides.1.reason":        "dashboards look fine",
			"overrides.1.accepted":      true,
			"outcome":                   "rolled back",
			"abortReason":               reason(abort),
			"rollbackReason":            reason(rollback),
			"end.commit":                rollback,
		} {
			is(t, r, path, want)
		}
		if field(t, r, "spec.blob") == field(t, releases[0], "spec.blob") {
			t.Errorf("releases 1.1.0 and %s show the same spec blob; the spec changed between them", pinned)
		}
		if !strings.HasPrefix(reason(rollback), "onFailure.revertRelease") || !strings.HasPrefix(reason(abort), "gate error-rate: ") {
			t.Fatalf("test setup: abort reason %q, rollback reason %q", reason(abort), reason(rollback))
		}
		// Every ramp commit of the release shows the change id it carries.
		for _, row := range field(t, audit, "rows").([]any) {
			if field(t, row, "release") == pinned && field(t, row, "author") == "ramp@localhost" {
				is(t, row, "changeId", "CHG-2026-0042")
			}
		}
	})

	t.Run("1.3.0: aborted by alice with a reason, rolled back", func(t *testing.T) {
		r := releases[2]
		abort := commit("ramp: demo 1.3.0 step 1/4 abort")
		rollback := commit("ramp: demo 1.3.0 rollback")
		for path, want := range map[string]any{
			"release":              "1.3.0",
			"changeId":             "CHG-2026-0042",
			"steps.0.result":       "aborted",
			"steps.0.left.commit":  abort,
			"steps.1.result":       "not reached",
			"overrides.0.command":  "Ramp-Abort",
			"overrides.0.reason":   "p99 regression on /v2/search",
			"overrides.0.accepted": true,
			"overrides.0.commit":   commit("abort demo 1.3.0"),
			"outcome":              "rolled back",
			"abortReason":          reason(abort),
			"rollbackReason":       reason(rollback),
		} {
			is(t, r, path, want)
		}
		if !strings.Contains(reason(abort), "p99 regression on /v2/search") {
			t.Fatalf("test setup: ramp's abort reason %q does not carry alice's", reason(abort))
		}
	})

	t.Run("text and HTML show the record", func(t *testing.T) {
		plain, err := runRamp("audit", "demo", "--repo", h.repo, "--approvers", h.approvers, "--release", pinned)
		if err != nil {
			t.Fatalf("ramp audit: %v\n%s", err, plain)
		}
		page, err := runRamp("audit", "demo", "--repo", h.repo, "--approvers", h.approvers, "--release", pinned, "-o", "html")
		if err != nil {
			t.Fatalf("ramp audit -o html: %v\n%s", err, page)
		}
		shown := strings.Join(strings.Fields(text(parseHTML(t, page))), " ")
		for _, want := range []string{"CHG-2026-0042", queryV2, "<=0.04", pinnedDigest, specBlob(commit("demo: release " + pinned)),
			"checking the dashboards first", "dashboards look fine", reason(commit("ramp: demo " + pinned + " rollback")), "not reached"} {
			if !strings.Contains(plain, want) {
				t.Errorf("the text audit does not show %q:\n%s", want, plain)
			}
			if !strings.Contains(shown, strings.Join(strings.Fields(want), " ")) {
				t.Errorf("the HTML audit does not show %q", want)
			}
		}
	})

	t.Run("bundle verifies offline and fails after any change", func(t *testing.T) {
		testBundle(t, h)
	})
}

// testBundle writes the evidence bundle of the pinned release and checks
// it verifies offline with the approvers' keys, says what it holds, and
// fails after a change of any byte, or against another key.
func testBundle(t *testing.T, h *releaseHistory) {
	data, err := runRamp("audit", "demo", "--repo", h.repo, "--approvers", h.approvers, "--release", pinned,
		"-o", "bundle", "--signing-key", h.rampKey)
	if err != nil {
		t.Fatalf("ramp audit -o bundle: %v\n%s", err, data)
	}
	file := filepath.Join(t.TempDir(), "bundle.json")
	writeFile(t, file, data)

	out, err := runRamp("audit", "verify-bundle", file, "--approvers", h.approvers)
	if err != nil {
		t.Fatalf("ramp audit verify-bundle: %v\n%s", err, out)
	}
	for _, want := range []string{"verified: evidence bundle of rollout demo release " + pinned,
		"signed by ramp@localhost with key " + gittest.SSHFingerprint(t, h.rampKey+".pub"),
		"subject " + pinned + " " + pinnedDigest + " (image-digest)", "dashboards look fine"} {
		if !strings.Contains(out, want) {
			t.Errorf("verify-bundle does not say %q:\n%s", want, out)
		}
	}

	// Read by hand: a DSSE envelope of an in-toto statement about the digest.
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
		Signatures  []struct {
			KeyID string `json:"keyid"`
		} `json:"signatures"`
	}
	if err := json.Unmarshal([]byte(data), &env); err != nil {
		t.Fatalf("the bundle is not JSON: %v", err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var statement any
	if err := json.Unmarshal(payload, &statement); err != nil {
		t.Fatal(err)
	}
	if env.PayloadType != "application/vnd.in-toto+json" || len(env.Signatures) != 1 {
		t.Errorf("envelope of %s with %d signatures", env.PayloadType, len(env.Signatures))
	}
	for path, want := range map[string]any{
		"_type":                          "https://in-toto.io/Statement/v1",
		"subject.0.name":                 pinned,
		"subject.0.digest.sha256":        strings.TrimPrefix(pinnedDigest, "sha256:"),
		"predicateType":                  "https://ramp.dev/attestations/release-record/v1",
		"predicate.subjectKind":          "image-digest",
		"predicate.branch":               "main",
		"predicate.tip":                  h.git("dev", "rev-parse", "HEAD"),
		"predicate.record.release":       pinned,
		"predicate.record.changeId":      "CHG-2026-0042",
		"predicate.record.gates.0.query": queryV2,
		"predicate.record.outcome":       "rolled back",
	} {
		is(t, statement, path, want)
	}

	// Any changed byte fails: a dense sample of positions, bounded.
	stride := max(1, len(data)/600)
	for i := 0; i < len(data); i += stride {
		changed := []byte(data)
		changed[i] ^= 0x01
		writeFile(t, file, string(changed))
		out, err := runRamp("audit", "verify-bundle", file, "--approvers", h.approvers)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitFindings {
			t.Fatalf("byte %d changed from %q: verify-bundle gave %v, want exit 1\n%s", i, data[i], err, out)
		}
	}

	// Another key in ramp.allowed_signers: fails.
	other := t.TempDir()
	_, pub := gittest.SSHKey(t, t.TempDir(), "impostor")
	writeFile(t, filepath.Join(other, "ramp.allowed_signers"), "ramp@localhost "+pub+"\n")
	writeFile(t, file, data)
	if out, err := runRamp("audit", "verify-bundle", file, "--approvers", other); err == nil {
		t.Errorf("verifies with another key as ramp's:\n%s", out)
	}

	// A bare tag: the subject is the SHA-256 of the release value.
	bare, err := runRamp("audit", "demo", "--repo", h.repo, "--approvers", h.approvers, "--release", "1.1.0",
		"-o", "bundle", "--signing-key", h.rampKey)
	if err != nil {
		t.Fatalf("ramp audit -o bundle of 1.1.0: %v\n%s", err, bare)
	}
	writeFile(t, file, bare)
	sum := sha256.Sum256([]byte("1.1.0"))
	if out, err := runRamp("audit", "verify-bundle", file, "--approvers", h.approvers); err != nil ||
		!strings.Contains(out, "subject release-value:1.1.0 sha256:"+hex.EncodeToString(sum[:])+" (release-value)") {
		t.Errorf("verify-bundle of the 1.1.0 bundle: %v\n%s", err, out)
	}

	for name, args := range map[string][]string{
		"no release":      {"-o", "bundle", "--signing-key", h.rampKey},
		"no signing key":  {"-o", "bundle", "--release", pinned},
		"unknown release": {"-o", "bundle", "--release", "9.9.9", "--signing-key", h.rampKey},
	} {
		out, err := runRamp(append([]string{"audit", "demo", "--repo", h.repo, "--approvers", h.approvers}, args...)...)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitUsage {
			t.Errorf("%s: %v, want exit 2\n%s", name, err, out)
		}
	}
}

// field returns the value at path in decoded JSON: object keys and array
// indices separated by dots. It fails the test when there is none.
func field(t *testing.T, v any, path string) any {
	t.Helper()
	got, ok := lookup(v, path)
	if !ok {
		b, _ := json.MarshalIndent(v, "", "  ")
		t.Fatalf("no %s in\n%s", path, b)
	}
	return got
}

func lookup(v any, path string) (any, bool) {
	for _, key := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[key]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// is checks the value at path is want, compared as JSON.
func is(t *testing.T, v any, path string, want any) {
	t.Helper()
	got, ok := lookup(v, path)
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !ok || string(g) != string(w) {
		t.Errorf("%s = %s, want %s", path, g, w)
	}
}

// absent checks there is no value at path.
func absent(t *testing.T, v any, path string) {
	t.Helper()
	if got, ok := lookup(v, path); ok {
		g, _ := json.Marshal(got)
		t.Errorf("%s = %s, want none", path, g)
	}
}

// regexpQuote escapes a subject for git log --grep (a basic regexp).
func regexpQuote(s string) string {
	return strings.NewReplacer(".", `\.`, "*", `\*`, "[", `\[`, "^", `\^`, "$", `\$`).Replace(s)
}
