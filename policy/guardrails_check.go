package policy

import (
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// guardrailsSource is where guardrails were read from: the file and the
// line of each field path.
type guardrailsSource struct {
	file  string
	lines map[string]int
}

// check reports the values of g that would weaken the guardrails, or mean
// nothing, at their fields: a maxWeightStep outside 1–100, a resume count
// below 1 (which would silently mean one person), a group list naming no
// group, ramp's own group or a group twice, a freeze calendar outside the
// repository. written reports whether a field is in the file.
func (g Guardrails) check(written func(string) bool, fail func(field, format string, args ...any)) {
	if g.MaxWeightStep < 1 || g.MaxWeightStep > 100 {
		fail("maxWeightStep", "%d is not between 1 and 100", g.MaxWeightStep)
	}
	if c := g.Commands.Resume.Count; c < 1 {
		fail("commands.resume.count", "%d is below 1: resuming over a hold takes this many people (leave it out for %d)", c, DefaultGuardrails().Commands.Resume.Count)
	}
	for _, l := range g.groupLists() {
		for i, group := range l.groups {
			f := l.field + "[" + strconv.Itoa(i) + "]"
			switch {
			case !groupName.MatchString(group):
				fail(f, "%q is not a group name (lowercase letters, digits and '-')", group)
			case group == RampGroup && l.people:
				fail(f, "%q is ramp's own key group; name a group of people", group)
			case slices.Index(l.groups, group) < i:
				fail(f, "%q is listed twice", group)
			}
		}
	}
	if p := g.Freeze.File; p != "" || written("freeze.file") {
		if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == "." || p == ".." || strings.HasPrefix(p, "../") || strings.Contains(p, "\\") {
			fail("freeze.file", "%q is not a clean relative path of a file in the repository (leave it out for %s)", p, FreezeFile)
		}
	}
}

// groupList is one list of key groups of the guardrails; people says the
// groups name people who give a command, which ramp's own group cannot.
type groupList struct {
	field  string
	groups []string
	people bool
}

func (g Guardrails) groupLists() []groupList {
	return []groupList{
		{"engineerGroups", g.EngineerGroups, false},
		{"commands.approve.groups", g.Commands.Approve.Groups, true},
		{"commands.abort.groups", g.Commands.Abort.Groups, true},
		{"commands.pause.groups", g.Commands.Pause.Groups, true},
		{"commands.resume.groups", g.Commands.Resume.Groups, true},
		{"freeze.exceptionGroups", g.Freeze.ExceptionGroups, true},
		{"migrations.expandGroups", g.Migrations.ExpandGroups, true},
	}
}

// CheckGroups reports each group the guardrails name (engineerGroups,
// commands.*.groups, freeze.exceptionGroups, migrations.expandGroups) that
// is not among known, the groups of the trusted keys: a command only such
// a group may give could never be given, and an engineer group that has no
// keys excludes no one. Each problem names the file:line and the field;
// nil when every group has keys. The caller, which loaded the keys, says
// which groups have them.
func (g Guardrails) CheckGroups(known []string) SpecErrors {
	var errs SpecErrors
	var file string
	var lines map[string]int
	if g.source != nil {
		file, lines = g.source.file, g.source.lines
	}
	have := strings.Join(slices.DeleteFunc(slices.Clone(known), func(k string) bool { return k == RampGroup }), ", ")
	if have == "" {
		have = "none"
	}
	for _, l := range g.groupLists() {
		for i, group := range l.groups {
			if slices.Contains(known, group) {
				continue
			}
			f := l.field + "[" + strconv.Itoa(i) + "]"
			errs = append(errs, &SpecError{File: file, Line: lineIn(lines, f), Field: f,
				Msg: strconv.Quote(group) + " is not a group of the trusted keys (groups with keys: " + have + ")"})
		}
	}
	errs.sortByLine()
	return errs
}

// zeroMeansDefault are the fields of a spec whose zero value stands for
// "not written" (a default, or another meaning), by path with its list
// indexes removed: written as 0 they would silently mean something else
// than what they say, so Parse refuses them, saying what to write.
var zeroMeansDefault = map[string]string{
	"approval.count":        "0 is not a number of approvals (1 or more; leave it out for 1)",
	"pause.duration":        "0s is not a pause: write pause: {} to wait for a person, or a positive duration",
	"spec.gates[].interval": "0s is not an interval between measurements (leave it out for the default)",
	"background.interval":   "0s is not an interval between measurements (leave it out for each gate's own)",
	"webhook.timeout":       "0s is not a timeout (leave it out for the default)",
	"trafficCheck.window":   "0s is not a window to measure in (leave it out for 1m)",
}

// refuseZeros fails each field written as zero whose zero means a default.
func (d *decoder) refuseZeros() {
	for _, field := range d.zeros {
		bare := indexes.ReplaceAllString(field, "[]")
		for suffix, msg := range zeroMeansDefault {
			if bare == suffix || strings.HasSuffix(bare, "."+suffix) {
				d.fail(d.line(field), field, "%s", msg)
			}
		}
	}
}

var indexes = regexp.MustCompile(`\[\d+\]`)
