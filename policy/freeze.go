package policy

import (
	"fmt"
	"reflect"
	"strconv"
	"time"
)

// FreezeFile is where the freeze calendar lives in the release repository
// unless the guardrails name another file (freeze.file).
const FreezeFile = "freeze.yaml"

// FreezeKind is the kind of a freeze calendar document.
const FreezeKind = "FreezeCalendar"

// freezeLayout is how a freeze writes its start and end: local wall-clock
// time in the freeze's time zone.
const freezeLayout = "2006-01-02T15:04"

// FreezeCalendar is the release repository's freeze.yaml: dated blackout
// periods during which no rollout takes a step that raises exposure.
type FreezeCalendar struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Freezes    []Freeze `yaml:"freezes"`

	// Path is the repository path the calendar was read from.
	Path string `yaml:"-"`
}

// Freeze is one blackout period, e.g. year-end from 2026-12-20T00:00 to
// 2027-01-03T00:00 Europe/Berlin. An exception for one release is a
// signed `Ramp-Approve: rollout=… release=… freeze=<name>` from a group
// the guardrails name (freeze.exceptionGroups).
type Freeze struct {
	Name     string `yaml:"name"`
	Start    string `yaml:"start"`
	End      string `yaml:"end"`
	TimeZone string `yaml:"timeZone"`
	Reason   string `yaml:"reason"`

	from, until time.Time
}

// From and Until are the freeze's start and end as instants (zero until
// ParseFreeze checked them).
func (f *Freeze) From() time.Time  { return f.from }
func (f *Freeze) Until() time.Time { return f.until }

// FreezeRules are the guardrails' rules for the freeze calendar.
type FreezeRules struct {
	// File is the calendar's path in the release repository (default
	// freeze.yaml).
	File string `json:"file" yaml:"file"`
	// ExceptionGroups are the key groups whose signed Ramp-Approve with
	// freeze=<name> lets one release raise its exposure during that
	// freeze; none: no exceptions.
	ExceptionGroups []string `json:"exceptionGroups" yaml:"exceptionGroups"`
}

// CalendarPath is the path of the freeze calendar the guardrails name.
func (g Guardrails) CalendarPath() string {
	if g.Freeze.File != "" {
		return g.Freeze.File
	}
	return FreezeFile
}

// ParseFreeze reads a freeze calendar strictly, as Parse reads a spec:
// every problem names file:line and the field.
func ParseFreeze(file string, data []byte) (*FreezeCalendar, error) {
	d := &decoder{file: file, lines: map[string]int{}}
	root := d.document(data, "a FreezeCalendar")
	if root == nil {
		return nil, d.errs
	}
	c := &FreezeCalendar{Path: file}
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	switch {
	case c.APIVersion != APIVersion:
		d.fail(d.line("apiVersion"), "apiVersion", "%q: use %s", c.APIVersion, APIVersion)
	case c.Kind != FreezeKind:
		d.fail(d.line("kind"), "kind", "%q: use %s", c.Kind, FreezeKind)
	}
	seen := map[string]string{}
	for i := range c.Freezes {
		f, field := &c.Freezes[i], "freezes["+strconv.Itoa(i)+"]"
		fail := func(sub, format string, args ...any) {
			d.fail(d.line(field+"."+sub), field+"."+sub, format, args...)
		}
		switch {
		case !dnsLabel.MatchString(f.Name):
			fail("name", "%q is not a name (lowercase letters, digits and '-'): exceptions name the freeze", f.Name)
		case seen[f.Name] != "":
			fail("name", "%q is already the name of %s", f.Name, seen[f.Name])
		default:
			seen[f.Name] = field
		}
		if f.Reason == "" {
			fail("reason", "required: why nothing may roll out")
		}
		loc, err := time.LoadLocation(f.TimeZone)
		if f.TimeZone == "" || err != nil {
			fail("timeZone", "%q is not an IANA time zone such as Europe/Berlin or UTC", f.TimeZone)
			continue
		}
		var okFrom, okUntil bool
		if f.from, err = time.ParseInLocation(freezeLayout, f.Start, loc); err != nil {
			fail("start", "%q is not a local time like 2026-12-20T00:00", f.Start)
		} else {
			okFrom = true
		}
		if f.until, err = time.ParseInLocation(freezeLayout, f.End, loc); err != nil {
			fail("end", "%q is not a local time like 2027-01-03T00:00", f.End)
		} else {
			okUntil = true
		}
		if okFrom && okUntil && !f.until.After(f.from) {
			fail("end", "%s is not after start %s", f.End, f.Start)
		}
	}
	if len(d.errs) > 0 {
		d.errs.sortByLine()
		return nil, d.errs
	}
	return c, nil
}

// Active returns the freeze in force at now, or nil; of overlapping
// freezes the one that ends last.
func (c *FreezeCalendar) Active(now time.Time) *Freeze {
	if c == nil {
		return nil
	}
	var active *Freeze
	for i := range c.Freezes {
		f := &c.Freezes[i]
		if !now.Before(f.from) && now.Before(f.until) && (active == nil || f.until.After(active.until)) {
			active = f
		}
	}
	return active
}

// String renders a freeze as its calendar writes it.
func (f *Freeze) String() string {
	return fmt.Sprintf("%s (%s → %s %s: %s)", f.Name, f.Start, f.End, f.TimeZone, f.Reason)
}
