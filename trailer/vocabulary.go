package trailer

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ramp-dev/ramp/policy"
)

// The trailer keys of ramp's own commits (README.md "Commit trailers").
// Command keys are the policy.Command* kinds.
const (
	keyRollout    = "Ramp-Rollout"
	keyRelease    = "Ramp-Release"
	keyStep       = "Ramp-Step"
	keyAction     = "Ramp-Action"
	keyWeight     = "Ramp-Weight"
	keyGate       = "Ramp-Gate"
	keyApprovedBy = "Ramp-Approved-By"
	keyReason     = "Ramp-Reason"
	keyChangeID   = "Ramp-Change-Id"
	keyShadow     = "Ramp-Shadow"
	// keyWave and keyTarget name the wave and the target(s) of a commit
	// of a rollout with targets.
	keyWave   = "Ramp-Wave"
	keyTarget = "Ramp-Target"
	// keyAnchor names, in a checkpoint entry, the abort (or rollback)
	// commit whose state it restates: commit=<hash> action=abort.
	keyAnchor = "Ramp-Anchor"
	// keyMigration is written by people in a release commit: what its
	// migrations do (expand or contract).
	keyMigration = "Ramp-Migration"
)

var commandKinds = []policy.CommandKind{policy.CommandApprove, policy.CommandAbort, policy.CommandPause, policy.CommandResume}

// rampKeys are all trailer keys ramp reads.
var rampKeys = []string{
	keyRollout, keyRelease, keyStep, keyAction, keyWeight, keyGate, keyApprovedBy, keyReason, keyChangeID, keyShadow, keyMigration, keyMigrate, keyWave, keyTarget, keyAnchor,
	string(policy.CommandApprove), string(policy.CommandAbort), string(policy.CommandPause), string(policy.CommandResume),
}

var actions = []policy.Action{
	policy.ActionSetWeight, policy.ActionPause, policy.ActionAnalysis, policy.ActionPromote,
	policy.ActionComplete, policy.ActionAbort, policy.ActionRollback, policy.ActionRestore,
	policy.ActionSetHeaderRoute, policy.ActionSetMirrorRoute, policy.ActionStartWave, policy.ActionCheckpoint,
}

// ForEntry returns the trailers of one ramp commit for one rollout,
// in this order: Ramp-Rollout, Ramp-Wave and one Ramp-Target per target
// (a rollout with targets), Ramp-Release, Ramp-Step (when Step is not
// 0), Ramp-Action, Ramp-Weight, Ramp-Anchor (a checkpoint), Ramp-Shadow
// (entering a mirror step), one
// Ramp-Gate per gate, one Ramp-Approved-By per approval, one Ramp-Migrate
// per migration Job released, Ramp-Reason and
// Ramp-Change-Id (when set).
// Free text is written on one line, line breaks turned into spaces.
func ForEntry(e policy.Entry) []Trailer {
	rollout, target := policy.SplitTarget(e.Rollout)
	ts := []Trailer{{keyRollout, oneLine(rollout)}}
	if e.Wave != "" {
		ts = append(ts, Trailer{keyWave, oneLine(e.Wave)})
	}
	if target != "" {
		ts = append(ts, Trailer{keyTarget, oneLine(target)})
	}
	for _, t := range e.Targets {
		ts = append(ts, Trailer{keyTarget, oneLine(t)})
	}
	ts = append(ts, Trailer{keyRelease, oneLine(e.Release)})
	if e.Step != 0 {
		ts = append(ts, Trailer{keyStep, fmt.Sprintf("%d/%d", e.Step, e.Steps)})
	}
	ts = append(ts,
		Trailer{keyAction, string(e.Action)},
		Trailer{keyWeight, strconv.Itoa(e.Weight)})
	if a := e.Anchor; a != nil {
		ts = append(ts, Trailer{keyAnchor, formatFields([]field{{"commit", a.Commit}, {"action", string(a.Action)}})})
	}
	if sh := e.Shadow; sh != nil {
		ts = append(ts, Trailer{keyShadow, formatFields([]field{{"name", sh.Name}, {"percent", strconv.Itoa(sh.Percent)},
			{"sideEffects", sh.SideEffects}, {"reason", oneLine(sh.Reason)}})})
	}
	for _, g := range e.Gates {
		ts = append(ts, Trailer{keyGate, formatFields(gateFields(g))})
	}
	for _, a := range e.Approved {
		ts = append(ts, Trailer{keyApprovedBy, formatFields([]field{
			{"principal", a.Principal}, {"key", a.Key}, {"commit", a.Commit},
		})})
	}
	ts = append(ts, migrateTrailers(e.Migrate)...)
	if r := oneLine(e.Reason); r != "" {
		ts = append(ts, Trailer{keyReason, r})
	}
	if id := oneLine(e.ChangeID); id != "" {
		ts = append(ts, Trailer{keyChangeID, id})
	}
	return ts
}

// gateFields are a gate result's fields; optional ones only when set.
func gateFields(g policy.GateResult) []field {
	fs := []field{{"name", g.Name}, {"verdict", string(g.Verdict)}}
	add := func(key, value string, when bool) {
		if when {
			fs = append(fs, field{key, value})
		}
	}
	add("value", formatFloat(g.Value), g.HasValue)
	add("bound", g.Bound, g.Bound != "")
	add("baseline", formatFloat(g.Baseline), g.HasBaseline)
	add("samples", formatFloat(g.Samples), g.Samples != 0)
	add("window", formatDuration(g.Window.Duration), g.Window.Duration != 0)
	add("query", g.Query, g.Query != "")
	add("severity", g.Severity, g.Severity != "")
	add("failures", strconv.Itoa(g.Failures), g.Failures != 0)
	add("inconclusives", strconv.Itoa(g.Inconclusives), g.Inconclusives != 0)
	add("reason", oneLine(g.Reason), oneLine(g.Reason) != "")
	add("scope", g.Scope, g.Scope != "")
	return fs
}

// ForCommand returns the trailer of a person's command, e.g.
// "Ramp-Approve: rollout=payment-api release=2.4.0 step=4".
func ForCommand(c policy.Command) Trailer {
	rollout, target := policy.SplitTarget(c.Rollout)
	fs := []field{{"rollout", rollout}}
	if target != "" {
		fs = append(fs, field{"target", target})
	}
	fs = append(fs, field{"release", c.Release})
	switch {
	case c.Kind == policy.CommandApprove && c.Wave != "":
		fs = append(fs, field{"wave", c.Wave})
	case c.Kind == policy.CommandApprove && c.Freeze != "":
		fs = append(fs, field{"freeze", c.Freeze})
	case c.Kind == policy.CommandApprove && c.Migration != "":
		fs = append(fs, field{"migration", c.Migration})
	case c.Kind == policy.CommandApprove:
		fs = append(fs, field{"step", strconv.Itoa(c.Step)})
	}
	if r := oneLine(c.Reason); r != "" {
		fs = append(fs, field{"reason", r})
	}
	return Trailer{string(c.Kind), formatFields(fs)}
}

// ParseRecord reads ramp's entries and people's commands from a
// commit's trailers; other trailers are ignored. Each Ramp-Rollout starts
// an entry, which the entry trailers after it fill. Keys match without
// regard to case, as in git. An entry or command with any unreadable
// trailer is left out, and each problem is listed in malformed as
// `Key: "value": problem`; so is any unknown Ramp-* trailer.
func ParseRecord(ts []Trailer) (entries []policy.Entry, commands []policy.Command, malformed []string) {
	var cur *entryReader
	flush := func() {
		if cur == nil {
			return
		}
		if e, problems := cur.finish(); len(problems) > 0 {
			malformed = append(malformed, problems...)
		} else {
			entries = append(entries, e)
		}
		cur = nil
	}
	for _, t := range ts {
		if len(t.Key) < 5 || !strings.EqualFold(t.Key[:5], "Ramp-") {
			continue
		}
		key, known := canonicalKey(t.Key)
		switch {
		case !known:
			malformed = append(malformed, problem(t, "unknown ramp trailer"))
		case key == keyMigration:
			// A release commit's declaration: see Migration.
		case key == keyRollout:
			flush()
			cur = &entryReader{rollout: t, seen: map[string]bool{}}
			if t.Value == "" {
				cur.problems = append(cur.problems, problem(t, "empty rollout name"))
			}
		case slices.Contains(commandKinds, policy.CommandKind(key)):
			c, err := parseCommand(policy.CommandKind(key), t.Value)
			if err != nil {
				malformed = append(malformed, problem(t, err.Error()))
			} else {
				commands = append(commands, c)
			}
		case cur == nil:
			malformed = append(malformed, problem(t, "before any "+keyRollout))
		default:
			cur.add(key, t)
		}
	}
	flush()
	return entries, commands, malformed
}

// entryReader collects the trailers of one entry.
type entryReader struct {
	rollout  Trailer
	e        policy.Entry
	seen     map[string]bool
	problems []string
}

func (r *entryReader) add(key string, t Trailer) {
	repeatable := key == keyGate || key == keyApprovedBy || key == keyTarget || key == keyMigrate
	if r.seen[key] && !repeatable {
		r.problems = append(r.problems, problem(t, "repeated in the entry of rollout "+strconv.Quote(r.rollout.Value)))
		return
	}
	r.seen[key] = true
	var err error
	switch key {
	case keyRelease:
		if r.e.Release = t.Value; t.Value == "" {
			err = errors.New("empty value")
		}
	case keyStep:
		r.e.Step, r.e.Steps, err = parseStep(t.Value)
	case keyAction:
		r.e.Action, err = parseAction(t.Value)
	case keyWeight:
		r.e.Weight, err = parseInt(t.Value, 0, 100)
	case keyGate:
		var g policy.GateResult
		if g, err = parseGate(t.Value); err == nil {
			r.e.Gates = append(r.e.Gates, g)
		}
	case keyApprovedBy:
		var a policy.ApprovalRef
		if a, err = parseApprovalRef(t.Value); err == nil {
			r.e.Approved = append(r.e.Approved, a)
		}
	case keyMigrate:
		var m policy.MigrateRef
		if m, err = parseMigrate(t.Value); err == nil {
			r.e.Migrate = append(r.e.Migrate, m)
		}
	case keyReason:
		r.e.Reason = t.Value
	case keyChangeID:
		r.e.ChangeID = t.Value
	case keyShadow:
		r.e.Shadow, err = parseShadow(t.Value)
	case keyAnchor:
		r.e.Anchor, err = parseAnchor(t.Value)
	case keyWave:
		if r.e.Wave = t.Value; t.Value == "" {
			err = errors.New("empty value")
		}
	case keyTarget:
		switch {
		case t.Value == "":
			err = errors.New("empty value")
		case strings.Contains(t.Value, policy.TargetSeparator):
			err = errors.New("a target name has no " + policy.TargetSeparator)
		default:
			r.e.Targets = append(r.e.Targets, t.Value)
		}
	}
	if err != nil {
		r.problems = append(r.problems, problem(t, err.Error()))
	}
}

// finish returns the entry, or the problems that make it unreadable.
func (r *entryReader) finish() (policy.Entry, []string) {
	for _, key := range []string{keyRelease, keyAction, keyWeight} {
		if !r.seen[key] {
			r.problems = append(r.problems, problem(r.rollout, "missing "+key))
		}
	}
	r.e.Rollout = r.rollout.Value
	switch {
	case r.e.Action == policy.ActionCheckpoint && !r.seen[keyAnchor]:
		r.problems = append(r.problems, problem(r.rollout, "missing "+keyAnchor+" in a checkpoint entry"))
	case r.e.Action != policy.ActionCheckpoint && r.seen[keyAnchor] && r.seen[keyAction]:
		r.problems = append(r.problems, problem(r.rollout, keyAnchor+" in a "+string(r.e.Action)+" entry: only a checkpoint names an anchor"))
	}
	if strings.Contains(r.e.Rollout, policy.TargetSeparator) {
		r.problems = append(r.problems, problem(r.rollout, "a rollout name has no "+policy.TargetSeparator+"; name the target in "+keyTarget))
	}
	if r.e.Action != policy.ActionStartWave && len(r.e.Targets) > 0 {
		// One target's step: the entry is of the target's own rollout.
		if len(r.e.Targets) > 1 {
			r.problems = append(r.problems, problem(r.rollout, "more than one "+keyTarget+" in a "+string(r.e.Action)+" entry"))
		}
		r.e.Rollout, r.e.Targets = policy.TargetRollout(r.e.Rollout, r.e.Targets[0]), nil
	}
	return r.e, r.problems
}

func parseStep(s string) (step, steps int, err error) {
	k, n, ok := strings.Cut(s, "/")
	step, err1 := strconv.Atoi(k)
	steps, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || step < 1 || step > steps {
		return 0, 0, errors.New("want N/M with 1 <= N <= M")
	}
	return step, steps, nil
}

func parseAction(s string) (policy.Action, error) {
	if a := policy.Action(s); slices.Contains(actions, a) {
		return a, nil
	}
	return "", errors.New("unknown action: want set-weight, set-header-route, set-mirror-route, pause, analysis, promote, complete, abort, rollback or restore")
}

// parseAnchor reads a Ramp-Anchor value: commit=<40 or 64 hex digits>
// action=abort|rollback.
func parseAnchor(s string) (*policy.AnchorRef, error) {
	f, err := readFields(s, "commit", "action")
	if err != nil {
		return nil, err
	}
	a := &policy.AnchorRef{Commit: f.need("commit"), Action: policy.Action(f.need("action"))}
	if c := a.Commit; c != "" && (len(c) != 40 && len(c) != 64 || strings.Trim(strings.ToLower(c), "0123456789abcdef") != "") {
		f.fail("commit %q: want a full commit hash", c)
	}
	if a.Action != "" && a.Action != policy.ActionAbort && a.Action != policy.ActionRollback {
		f.fail("action %q: want abort or rollback", a.Action)
	}
	return a, f.err
}

func parseShadow(s string) (*policy.ShadowRecord, error) {
	f, err := readFields(s, "name", "percent", "sideEffects", "reason")
	if err != nil {
		return nil, err
	}
	sh := &policy.ShadowRecord{Name: f.need("name"), SideEffects: f.need("sideEffects"), Reason: f.need("reason")}
	if p := f.need("percent"); p != "" {
		if sh.Percent, err = parseInt(p, 1, 100); err != nil {
			f.fail("percent %q: %v", p, err)
		}
	}
	return sh, f.err
}

func parseGate(s string) (policy.GateResult, error) {
	var g policy.GateResult
	f, err := readFields(s, "name", "verdict", "value", "bound", "baseline", "samples", "window",
		"query", "severity", "failures", "inconclusives", "reason", "scope")
	if err != nil {
		return g, err
	}
	g.Name = f.need("name")
	switch v := policy.Verdict(f.need("verdict")); v {
	case policy.Pass, policy.Fail, policy.Inconclusive:
		g.Verdict = v
	default:
		if v != "" {
			f.fail("verdict %q: want pass, fail or inconclusive", v)
		}
	}
	g.Value, g.HasValue = f.float("value")
	g.Baseline, g.HasBaseline = f.float("baseline")
	g.Samples, _ = f.float("samples")
	if w, ok := f.values["window"]; ok {
		d, err := time.ParseDuration(w)
		if err != nil || d < 0 {
			f.fail("window %q: want a duration like 10m", w)
		}
		g.Window.Duration = d
	}
	g.Failures = f.count("failures")
	g.Inconclusives = f.count("inconclusives")
	g.Bound, g.Query, g.Severity, g.Reason = f.values["bound"], f.values["query"], f.values["severity"], f.values["reason"]
	switch g.Scope = f.values["scope"]; g.Scope {
	case "", policy.ScopeBackground, policy.ScopeBake, policy.ScopePreflight, policy.ScopeSoak:
	default:
		f.fail("scope %q: want %s, %s, %s or %s", g.Scope, policy.ScopeBackground, policy.ScopeBake, policy.ScopePreflight, policy.ScopeSoak)
	}
	return g, f.err
}

func parseApprovalRef(s string) (policy.ApprovalRef, error) {
	f, err := readFields(s, "principal", "key", "commit")
	if err != nil {
		return policy.ApprovalRef{}, err
	}
	a := policy.ApprovalRef{Principal: f.need("principal"), Key: f.need("key"), Commit: f.need("commit")}
	return a, f.err
}

func parseCommand(kind policy.CommandKind, s string) (policy.Command, error) {
	allowed := []string{"rollout", "target", "release", "reason"}
	if kind == policy.CommandApprove {
		allowed = append(allowed, "step", "freeze", "migration", "wave")
	}
	f, err := readFields(s, allowed...)
	if err != nil {
		return policy.Command{}, err
	}
	c := policy.Command{Kind: kind, Rollout: f.need("rollout"), Release: f.need("release"), Reason: f.values["reason"]}
	c.Freeze, c.Migration, c.Wave = f.values["freeze"], f.values["migration"], f.values["wave"]
	if target := f.values["target"]; target != "" {
		c.Rollout = policy.TargetRollout(c.Rollout, target)
	}
	switch n := len(slices.DeleteFunc([]string{f.values["step"], c.Freeze, c.Migration, c.Wave}, func(v string) bool { return v == "" })); {
	case kind != policy.CommandApprove:
	case n > 1 && c.Wave == "":
		f.fail("one of step=, freeze= and migration=: an approval is of one step, one freeze exception or one migration")
	case n > 1:
		f.fail("one of step=, freeze=, migration= and wave=: an approval is of one step, one freeze exception, one migration or one wave")
	case c.Wave != "" && f.values["target"] != "":
		f.fail("wave= approves a wave of the rollout, not of one target: leave out target=")
	case c.Freeze != "" || c.Migration != "" || c.Wave != "":
	default:
		if step := f.need("step"); step != "" {
			if c.Step, err = parseInt(step, 1, maxCount); err != nil {
				f.fail("step %q: %v", step, err)
			}
		}
	}
	return c, f.err
}

// canonicalKey returns the ramp trailer key matching key regardless of
// case, and whether there is one.
func canonicalKey(key string) (string, bool) {
	i := slices.IndexFunc(rampKeys, func(k string) bool { return strings.EqualFold(k, key) })
	if i < 0 {
		return "", false
	}
	return rampKeys[i], true
}

func problem(t Trailer, what string) string {
	return fmt.Sprintf("%s: %q: %s", t.Key, t.Value, what)
}
