package policy

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Exposure beyond one percentage: a cohort of requests routed to the
// canary whatever the weight (setHeaderRoute), and copies of requests
// sent to it while stable answers (setMirrorRoute). What a rollout
// exposes at a step follows from its steps alone (ExposureAt), so the
// committer writes it afresh with every commit, and every action that
// ends a release's traffic (promote, complete, abort, rollback, restore)
// writes none.

// HeaderRoute is a setHeaderRoute step: requests matching any of Match go
// to the canary. Without Match it removes the cohort of that Name.
type HeaderRoute struct {
	Name  string        `yaml:"name" json:"name"`
	Match []CohortMatch `yaml:"match" json:"match,omitempty"`
}

// CohortMatch is one condition a request meets to be in a cohort: exactly
// one of Header, Cookie or QueryParam has the value Value.
type CohortMatch struct {
	Header     string `yaml:"header" json:"header,omitempty"`
	Cookie     string `yaml:"cookie" json:"cookie,omitempty"`
	QueryParam string `yaml:"queryParam" json:"queryParam,omitempty"`
	Value      string `yaml:"value" json:"value"`
}

// String renders the condition for a reason: header x-user-group=internal.
func (m CohortMatch) String() string {
	switch {
	case m.Header != "":
		return "header " + m.Header + "=" + m.Value
	case m.Cookie != "":
		return "cookie " + m.Cookie + "=" + m.Value
	default:
		return "query parameter " + m.QueryParam + "=" + m.Value
	}
}

// MirrorRoute is a setMirrorRoute step: Percent of the requests are copied
// to the canary, their responses dropped. Without Percent it removes the
// mirror of that Name.
type MirrorRoute struct {
	Name    string `yaml:"name" json:"name"`
	Percent *int   `yaml:"percent" json:"percent,omitempty"`
}

// Shadow is the spec's declaration of what the canary does with mirrored
// requests. Shadow traffic is dangerous when the shadow side writes
// (databases, payments, e-mails, events): a spec that mirrors must say
// that it has no side effects, or that they are isolated, and why.
type Shadow struct {
	SideEffects string `yaml:"sideEffects" json:"sideEffects"`
	Reason      string `yaml:"reason" json:"reason"`
}

// What spec.shadow.sideEffects may say.
const (
	SideEffectsNone     = "none"
	SideEffectsIsolated = "isolated"
)

// Exposure is what the canary is exposed to besides its weight: the
// cohorts routed to it, in the order their steps added them, and the
// mirror copying requests to it.
type Exposure struct {
	Cohorts []HeaderRoute `json:"cohorts,omitempty"`
	Mirror  *Mirror       `json:"mirror,omitempty"`
}

// Mirror is an active mirror: its name and percent.
type Mirror struct {
	Name    string `json:"name"`
	Percent int    `json:"percent"`
}

// IsZero reports whether the exposure adds nothing to the weight.
func (x Exposure) IsZero() bool { return len(x.Cohorts) == 0 && x.Mirror == nil }

// ShadowRecord is what a commit entering a setMirrorRoute step records
// (Ramp-Shadow): the mirror and the spec's shadow declaration.
type ShadowRecord struct {
	Name        string `json:"name"`
	Percent     int    `json:"percent"`
	SideEffects string `json:"sideEffects"`
	Reason      string `json:"reason"`
}

// ExposureAt is the exposure in force once step k (1-based) is entered:
// the cohort and mirror steps up to k, each adding or removing one.
func (r *Rollout) ExposureAt(k int) Exposure {
	var x Exposure
	steps := r.Steps()
	for i := 0; i < k && i < len(steps); i++ {
		switch st := steps[i]; {
		case st.SetHeaderRoute != nil:
			x.Cohorts = removeCohort(x.Cohorts, st.SetHeaderRoute.Name)
			if len(st.SetHeaderRoute.Match) > 0 {
				x.Cohorts = append(x.Cohorts, *st.SetHeaderRoute)
			}
		case st.SetMirrorRoute != nil:
			x.Mirror = nil
			if p := st.SetMirrorRoute.Percent; p != nil {
				x.Mirror = &Mirror{Name: st.SetMirrorRoute.Name, Percent: *p}
			}
		}
	}
	return x
}

func removeCohort(cs []HeaderRoute, name string) []HeaderRoute {
	var out []HeaderRoute
	for _, c := range cs {
		if c.Name != name {
			out = append(out, c)
		}
	}
	return out
}

// exposureOf is the exposure decision d writes: that of the step it
// enters, or none when it ends the release's traffic or enters no step.
func exposureOf(r *Rollout, d Decision) Exposure {
	if !EntersStep(d.Action) {
		return Exposure{}
	}
	return r.ExposureAt(d.Step)
}

// describeExposureStep says what a cohort or mirror step does, for the
// reason of the commit that enters it.
func describeExposureStep(st Step) string {
	if h := st.SetHeaderRoute; h != nil {
		if len(h.Match) == 0 {
			return "removes cohort " + h.Name
		}
		var ms []string
		for _, m := range h.Match {
			ms = append(ms, m.String())
		}
		return fmt.Sprintf("routes cohort %s (%s) to the canary", h.Name, strings.Join(ms, " or "))
	}
	m := st.SetMirrorRoute
	if m.Percent == nil {
		return "removes mirror " + m.Name
	}
	return fmt.Sprintf("mirrors %d%% of requests to the canary (%s); stable still answers", *m.Percent, m.Name)
}

// shadowRecord is the Ramp-Shadow record of entering step st, or nil.
func (r *Rollout) shadowRecord(st Step) *ShadowRecord {
	m := st.SetMirrorRoute
	if m == nil || m.Percent == nil || r.Spec.Shadow == nil {
		return nil
	}
	return &ShadowRecord{Name: m.Name, Percent: *m.Percent, SideEffects: r.Spec.Shadow.SideEffects, Reason: r.Spec.Shadow.Reason}
}

// The names Gateway API accepts in a header match and a query parameter
// match (RFC 7230 tokens), and the octets a cookie value may hold
// (RFC 6265 cookie-octet).
var (
	httpToken   = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+\\-.^_`|~]+$")
	cookieValue = regexp.MustCompile(`^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]+$`)
)

// cohortRulePrefix starts the name of every HTTPRoute rule ramp adds for
// a cohort; a cohort's name must leave the rule name a DNS label.
const cohortRulePrefix = "ramp-cohort-"

// CohortRuleName is the name of the HTTPRoute rule of cohort name.
func CohortRuleName(name string) string { return cohortRulePrefix + name }

// IsCohortRule reports whether an HTTPRoute rule of that name is one ramp
// added for a cohort.
func IsCohortRule(ruleName string) bool { return strings.HasPrefix(ruleName, cohortRulePrefix) }

// exposureStep checks a setHeaderRoute or setMirrorRoute step at field f
// against the exposure x in force before it, and returns the exposure
// after it.
func (v *validator) exposureStep(f string, st Step, x Exposure) Exposure {
	t := v.r.Spec.Target
	if h := st.SetHeaderRoute; h != nil {
		f += ".setHeaderRoute"
		v.exposureName(f+".name", h.Name, "cohort", len(cohortRulePrefix))
		if t.HTTPRoute == nil {
			v.fail(f, "cohort rules are written into an HTTPRoute: needs spec.target.httpRoute")
		}
		active := false
		for _, c := range x.Cohorts {
			active = active || c.Name == h.Name
		}
		switch {
		case h.Name == "":
		case len(h.Match) == 0 && !active:
			v.fail(f+".name", "removes cohort %q, which no earlier step routes to the canary", h.Name)
		case len(h.Match) > 0 && active:
			v.fail(f+".name", "cohort %q already routes to the canary (an earlier step added it); remove it first with setHeaderRoute: {name: %s}, or give this cohort another name", h.Name, h.Name)
		}
		for i, m := range h.Match {
			v.cohortMatch(f+".match["+strconv.Itoa(i)+"]", m)
		}
		if len(h.Match) > 64 {
			v.fail(f+".match", "has %d conditions; an HTTPRoute rule takes at most 64", len(h.Match))
		}
		x.Cohorts = removeCohort(x.Cohorts, h.Name)
		if len(h.Match) > 0 {
			x.Cohorts = append(x.Cohorts, *h)
		}
		return x
	}
	m := st.SetMirrorRoute
	f += ".setMirrorRoute"
	v.exposureName(f+".name", m.Name, "mirror", 0)
	if t.HTTPRoute == nil && (t.Field == nil || t.Field.MirrorPath == "") {
		v.fail(f, "needs spec.target.httpRoute (a RequestMirror filter) or spec.target.field.mirrorPath")
	}
	switch {
	case m.Name == "":
	case m.Percent == nil && (x.Mirror == nil || x.Mirror.Name != m.Name):
		v.fail(f+".name", "removes mirror %q, which no earlier step set", m.Name)
	case m.Percent != nil && x.Mirror != nil && x.Mirror.Name != m.Name:
		v.fail(f+".name", "mirror %q is set while mirror %q still copies requests; one mirror at a time (remove %s first)", m.Name, x.Mirror.Name, x.Mirror.Name)
	}
	if m.Percent != nil {
		if *m.Percent < 1 || *m.Percent > 100 {
			v.fail(f+".percent", "%d is not between 1 and 100 (to stop mirroring, write setMirrorRoute: {name: %s} without percent)", *m.Percent, m.Name)
		}
		if v.r.Spec.Shadow == nil {
			v.fail(f, "copies requests to the canary, which is dangerous when it writes (databases, payments, e-mails, events): "+
				"declare spec.shadow: {sideEffects: none|isolated, reason: \"…\"}")
		}
		x.Mirror = &Mirror{Name: m.Name, Percent: *m.Percent}
	} else {
		x.Mirror = nil
	}
	return x
}

// exposureName checks the name of a cohort or a mirror: a DNS label that
// still is one with prefix more characters before it.
func (v *validator) exposureName(f, name, what string, prefix int) {
	switch {
	case name == "":
		v.fail(f, "required: the %s's name (a DNS label, e.g. internal)", what)
	case !dnsLabel.MatchString(name) || len(name)+prefix > 63:
		v.fail(f, "%q is not a %s name (lowercase letters, digits and '-', at most %d)", name, what, 63-prefix)
	}
}

func (v *validator) cohortMatch(f string, m CohortMatch) {
	var set []string
	for _, k := range []struct{ name, val string }{{"header", m.Header}, {"cookie", m.Cookie}, {"queryParam", m.QueryParam}} {
		if k.val != "" {
			set = append(set, k.name)
		}
	}
	if len(set) != 1 {
		v.fail(f, "needs exactly one of header, cookie, queryParam; has %s", members(set))
		return
	}
	name, limit := m.Header, 4096
	switch {
	case m.Cookie != "":
		name = m.Cookie
	case m.QueryParam != "":
		name, limit = m.QueryParam, 1024
	}
	if !httpToken.MatchString(name) || len(name) > 256 {
		v.fail(f+"."+set[0], "%q is not a %s name (letters, digits and !#$%%&'*+-.^_`|~, at most 256)", name, set[0])
	}
	switch {
	case m.Value == "":
		v.fail(f+".value", "required: the value the %s must have", set[0])
	case len(m.Value) > limit:
		v.fail(f+".value", "is %d bytes long; Gateway API allows at most %d", len(m.Value), limit)
	case m.Cookie != "" && !cookieValue.MatchString(m.Value):
		v.fail(f+".value", "%q is not a cookie value (no spaces, quotes, commas, semicolons or backslashes)", m.Value)
	}
}

// members names the members set of what needs exactly one: "none",
// "setWeight and pause".
func members(set []string) string {
	if len(set) == 0 {
		return "none"
	}
	return strings.Join(set, " and ")
}

// shadow checks the shadow declaration.
func (v *validator) shadow(s *Shadow) {
	if s == nil {
		return
	}
	switch s.SideEffects {
	case SideEffectsNone, SideEffectsIsolated:
	case "":
		v.fail("spec.shadow.sideEffects", "required: none (the canary only reads) or isolated (its writes go to a sandbox)")
	default:
		v.fail("spec.shadow.sideEffects", "%q is not one of none, isolated", s.SideEffects)
	}
	if strings.TrimSpace(s.Reason) == "" {
		v.fail("spec.shadow.reason", "required: why mirrored requests cannot do harm (e.g. \"payments go to the sandbox PSP\")")
	}
}
