package manifest

// Cohort rules and the mirror filter of an HTTPRoute: what a rollout
// exposes besides the weight (policy.Exposure), written as whole lines.
//
// A cohort is a rule of its own, named ramp-cohort-<name>, placed right
// before the weighted rule (and any comment lines above it): its matches
// are the weighted rule's matches, each with the cohort's condition added,
// and its one backendRef is the canary. A mirror is a RequestMirror filter
// at the end of the weighted rule's filters (a `filters:` key ramp adds
// after the rule's last line when there is none). Every edit first removes
// whatever ramp wrote before, then writes what the exposure holds, so
// writing the same exposure twice changes nothing and writing none gives
// back the file as it was before ramp's first cohort or mirror, byte for
// byte.

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ramp-dev/ramp/policy"
)

// Gateway API limits on one HTTPRoute (v1.6 CRD validation).
const (
	maxRules        = 16
	maxRuleMatches  = 64
	maxRouteMatches = 128
	maxMatchHeaders = 16
)

// CookieMatch is the Gateway API header match of a cohort's cookie
// condition: a regular expression on the Cookie header.
func CookieMatch(name, value string) (header, regex string) {
	return "Cookie", `(^|;\s*)` + regexp.QuoteMeta(name) + "=" + regexp.QuoteMeta(value) + `(;|$)`
}

// setRouteExposure returns data with exactly the cohort rules and the
// mirror filter of x, ramp's earlier ones removed.
func setRouteExposure(data []byte, t policy.HTTPRouteTarget, x policy.Exposure) ([]byte, error) {
	before, err := routeWeights(data, t)
	if err != nil {
		return nil, err
	}
	clean, err := removeRouteExposure(data, t)
	if err != nil {
		return nil, err
	}
	out, err := addRouteExposure(clean, t, x)
	if err != nil {
		return nil, err
	}
	// Check that the edit wrote what it meant to and nothing else.
	after, err := routeWeights(out, t)
	if err == nil && after != before {
		err = fmt.Errorf("the canary weight reads %d%%, was %d%%", after, before)
	}
	var got policy.Exposure
	if err == nil {
		got, err = routeExposure(out, t)
	}
	if err == nil && !sameExposure(got, x) {
		err = fmt.Errorf("reads back cohorts %v and mirror %v", cohortNames(got), got.Mirror)
	}
	if err != nil {
		return nil, fmt.Errorf("writing cohorts %v and mirror %v did not round-trip, file left unchanged: %w",
			cohortNames(x), x.Mirror, err)
	}
	return out, nil
}

// routeExposure reads the exposure ramp wrote into an HTTPRoute: its
// cohort rules (by name only) and its mirror filter to the canary.
func routeExposure(data []byte, t policy.HTTPRouteTarget) (policy.Exposure, error) {
	var x policy.Exposure
	f, seq, err := parseRoute(data)
	if err != nil {
		return x, err
	}
	for _, rule := range seq.Content {
		if isCohortRule(rule) {
			name := strings.TrimPrefix(mappingValue(rule, "name").Value, policy.CohortRuleName(""))
			x.Cohorts = append(x.Cohorts, policy.HeaderRoute{Name: name})
		}
	}
	rules, err := f.routeRules(t)
	if err != nil {
		return x, err
	}
	for _, r := range rules {
		if m := mirrorFilter(r.node, t.CanaryBackend); m != nil {
			p := 100
			if pct := mappingValue(mappingValue(m, "requestMirror"), "percent"); pct != nil {
				p, _ = strconv.Atoi(pct.Value)
			}
			x.Mirror = &policy.Mirror{Percent: p}
		}
	}
	return x, nil
}

// sameExposure compares what routeExposure can read back: cohort names in
// order and the mirror's percent.
func sameExposure(got, want policy.Exposure) bool {
	if strings.Join(cohortNames(got), ",") != strings.Join(cohortNames(want), ",") {
		return false
	}
	if got.Mirror == nil || want.Mirror == nil {
		return got.Mirror == nil && want.Mirror == nil
	}
	return got.Mirror.Percent == want.Mirror.Percent
}

func cohortNames(x policy.Exposure) []string {
	names := []string{}
	for _, c := range x.Cohorts {
		names = append(names, c.Name)
	}
	return names
}

// removeRouteExposure removes ramp's cohort rules and its mirror filters
// from the HTTPRoute in data.
func removeRouteExposure(data []byte, t policy.HTTPRouteTarget) ([]byte, error) {
	f, seq, err := parseRoute(data)
	if err != nil {
		return nil, err
	}
	var cuts []splice
	for _, rule := range seq.Content {
		if isCohortRule(rule) {
			start, end, err := f.itemLines(rule)
			if err != nil {
				return nil, fmt.Errorf("cohort rule at line %d: %w", rule.Line, err)
			}
			cuts = append(cuts, splice{start, end, ""})
		}
	}
	rules, err := f.routeRules(t)
	if err != nil {
		return nil, err
	}
	for _, r := range rules {
		filters := mappingValue(r.node, "filters")
		m := mirrorFilter(r.node, t.CanaryBackend)
		if m == nil {
			continue
		}
		start, end, err := f.itemLines(m)
		if err != nil {
			return nil, fmt.Errorf("HTTPRoute rule %d: mirror filter at line %d: %w", r.index, m.Line, err)
		}
		if len(filters.Content) == 1 {
			// ramp's filter is the only one: the filters key goes too.
			k := mappingKey(r.node, "filters")
			key := r.node.Content[k]
			if start, err = f.offset(key.Line, 1); err != nil {
				return nil, err
			}
			if key.Line == r.node.Line {
				return nil, fmt.Errorf("HTTPRoute rule %d: filters (line %d) is the rule's first key; move it after backendRefs", r.index, key.Line)
			}
		}
		cuts = append(cuts, splice{start, end, ""})
	}
	if len(cuts) == 0 {
		return data, nil
	}
	return applySplices(data, cuts), nil
}

// mirrorFilter returns the RequestMirror filter of rule that mirrors to
// canary, or nil.
func mirrorFilter(rule *yaml.Node, canary string) *yaml.Node {
	filters := mappingValue(rule, "filters")
	if filters == nil || filters.Kind != yaml.SequenceNode {
		return nil
	}
	for _, fl := range filters.Content {
		typ := mappingValue(fl, "type")
		ref := mappingValue(mappingValue(fl, "requestMirror"), "backendRef")
		name := mappingValue(ref, "name")
		if typ != nil && typ.Value == "RequestMirror" && name != nil && name.Value == canary {
			return fl
		}
	}
	return nil
}

// addRouteExposure writes x into data, which holds none of ramp's cohort
// rules or mirror filters.
func addRouteExposure(data []byte, t policy.HTTPRouteTarget, x policy.Exposure) ([]byte, error) {
	if x.IsZero() {
		return data, nil
	}
	f, seq, err := parseRoute(data)
	if err != nil {
		return nil, err
	}
	rules, err := f.routeRules(t)
	if err != nil {
		return nil, err
	}
	if seq.Style&yaml.FlowStyle != 0 {
		return nil, fmt.Errorf("HTTPRoute spec.rules (line %d) is a flow list ([…]); ramp adds cohort rules and filters to a block list only", seq.Line)
	}
	eol := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		eol = "\r\n"
	}
	var edits []splice
	if len(x.Cohorts) > 0 {
		if len(rules) != 1 {
			return nil, fmt.Errorf("cohort rules go before one weighted rule, but %d rules name both backends; set spec.target.httpRoute.rule", len(rules))
		}
		if n := len(seq.Content) + len(x.Cohorts); n > maxRules {
			return nil, fmt.Errorf("with %d cohort rules the HTTPRoute would have %d rules; Gateway API allows %d", len(x.Cohorts), n, maxRules)
		}
		s, err := f.cohortRules(rules[0], x.Cohorts, eol)
		if err != nil {
			return nil, err
		}
		edits = append(edits, s)
	}
	if m := x.Mirror; m != nil {
		for _, r := range rules {
			s, err := f.mirrorEdit(r, m.Percent, eol)
			if err != nil {
				return nil, fmt.Errorf("HTTPRoute rule %d: %w", r.index, err)
			}
			edits = append(edits, s)
		}
	}
	out := applySplices(data, edits)
	if err := checkMatchCounts(out); err != nil {
		return nil, err
	}
	return out, nil
}

// cohortRules returns the insertion of one rule per cohort before the
// weighted rule r (and the comment lines right above it).
func (f *yamlFile) cohortRules(r routeRule, cohorts []policy.HeaderRoute, eol string) (splice, error) {
	dash, err := f.dashColumn(r.node)
	if err != nil {
		return splice{}, fmt.Errorf("HTTPRoute rule %d: %w", r.index, err)
	}
	key := r.node.Column - 1
	list := listIndent(r.node)
	backend, err := backendText(r.canary.ref)
	if err != nil {
		return splice{}, fmt.Errorf("HTTPRoute rule %d: %w", r.index, err)
	}
	var base []*yaml.Node // the weighted rule's matches; one empty match when it has none
	if ms := mappingValue(r.node, "matches"); ms != nil && len(ms.Content) > 0 {
		base = ms.Content
	} else {
		base = []*yaml.Node{nil}
	}
	var b strings.Builder
	for _, c := range cohorts {
		fmt.Fprintf(&b, "%s- name: %s%s", pad(dash), policy.CohortRuleName(c.Name), eol)
		fmt.Fprintf(&b, "%smatches:%s", pad(key), eol)
		if n := len(base) * len(c.Match); n > maxRuleMatches {
			return splice{}, fmt.Errorf("cohort %s: %d matches (%d of the weighted rule × %d conditions); Gateway API allows %d in a rule",
				c.Name, n, len(base), len(c.Match), maxRuleMatches)
		}
		for _, m := range base {
			for _, cond := range c.Match {
				text, err := matchText(m, cond)
				if err != nil {
					return splice{}, fmt.Errorf("cohort %s: %w", c.Name, err)
				}
				fmt.Fprintf(&b, "%s- %s%s", pad(key+list), text, eol)
			}
		}
		fmt.Fprintf(&b, "%sbackendRefs:%s%s- %s%s", pad(key), eol, pad(key+list), backend, eol)
	}
	at, err := f.offset(f.leadingComments(r.node.Line, dash), 1)
	if err != nil {
		return splice{}, err
	}
	return splice{at, at, b.String()}, nil
}

// mirrorEdit returns the insertion of a RequestMirror filter of percent to
// the canary at the end of rule r's filters, or of a filters key after
// the rule's last line.
func (f *yamlFile) mirrorEdit(r routeRule, percent int, eol string) (splice, error) {
	backend, err := backendText(r.canary.ref)
	if err != nil {
		return splice{}, err
	}
	if r.node.Style&yaml.FlowStyle != 0 {
		return splice{}, fmt.Errorf("the rule (line %d) is a flow mapping ({…}); ramp adds a mirror filter to a block mapping only", r.node.Line)
	}
	item := fmt.Sprintf("{type: RequestMirror, requestMirror: {backendRef: %s, percent: %d}}", backend, percent)
	key := r.node.Column - 1
	list := listIndent(r.node)
	if filters := mappingValue(r.node, "filters"); filters != nil {
		if filters.Kind != yaml.SequenceNode || filters.Style&yaml.FlowStyle != 0 || len(filters.Content) == 0 {
			return splice{}, fmt.Errorf("filters (line %d) is not a block list; ramp appends its mirror filter to one", filters.Line)
		}
		dash, err := f.dashColumn(filters.Content[0])
		if err != nil {
			return splice{}, err
		}
		at := f.afterLine(lastLine(filters))
		return splice{at, at, f.tail(at, eol) + pad(dash) + "- " + item + eol}, nil
	}
	at := f.afterLine(lastLine(r.node))
	return splice{at, at, f.tail(at, eol) + pad(key) + "filters:" + eol + pad(key+list) + "- " + item + eol}, nil
}

// tail is the line break to write before an insertion at the end of a
// file without a final one.
func (f *yamlFile) tail(at int, eol string) string {
	if at == len(f.data) && len(f.data) > 0 && f.data[len(f.data)-1] != '\n' {
		return eol
	}
	return ""
}

// matchText renders one match of a cohort rule: the weighted rule's match
// m (nil for none) with the cohort's condition added, as a flow mapping.
func matchText(m *yaml.Node, c policy.CohortMatch) (string, error) {
	var header, query string
	switch {
	case c.Header != "":
		header = "{name: " + flowScalar(c.Header) + ", value: " + flowScalar(c.Value) + "}"
	case c.Cookie != "":
		name, regex := CookieMatch(c.Cookie, c.Value)
		header = "{name: " + name + ", type: RegularExpression, value: " + flowScalar(regex) + "}"
	default:
		query = "{name: " + flowScalar(c.QueryParam) + ", value: " + flowScalar(c.Value) + "}"
	}
	var fields []string
	added := false
	if m != nil {
		if m.Kind != yaml.MappingNode {
			return "", fmt.Errorf("the weighted rule's match at line %d is not a mapping", m.Line)
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i].Value, m.Content[i+1]
			text, err := flowText(v)
			if err != nil {
				return "", err
			}
			extra, name := header, c.Header
			if k == "queryParams" {
				extra, name = query, c.QueryParam
			}
			if (k == "headers" || k == "queryParams") && extra != "" {
				if v.Kind != yaml.SequenceNode {
					return "", fmt.Errorf("%s at line %d is not a list", k, v.Line)
				}
				if name == "" {
					name = "Cookie"
				}
				for _, h := range v.Content {
					if n := mappingValue(h, "name"); n != nil && strings.EqualFold(n.Value, name) {
						return "", fmt.Errorf("the weighted rule's match at line %d already matches %s %q", m.Line, strings.TrimSuffix(k, "s"), n.Value)
					}
				}
				if k == "headers" && len(v.Content)+1 > maxMatchHeaders {
					return "", fmt.Errorf("the match at line %d would have %d headers; Gateway API allows %d", m.Line, len(v.Content)+1, maxMatchHeaders)
				}
				text = strings.TrimSuffix(text, "]")
				if len(v.Content) > 0 {
					text += ", "
				}
				text += extra + "]"
				added = true
			}
			fields = append(fields, flowScalar(k)+": "+text)
		}
	}
	if !added {
		if header != "" {
			fields = append(fields, "headers: ["+header+"]")
		} else {
			fields = append(fields, "queryParams: ["+query+"]")
		}
	}
	return "{" + strings.Join(fields, ", ") + "}", nil
}

// backendText renders the canary backendRef for a cohort rule or a mirror:
// its reference fields, without weight or filters.
func backendText(ref *yaml.Node) (string, error) {
	var fields []string
	hasPort := false
	for i := 0; i+1 < len(ref.Content); i += 2 {
		switch k := ref.Content[i].Value; k {
		case "group", "kind", "name", "namespace", "port":
			text, err := flowText(ref.Content[i+1])
			if err != nil {
				return "", err
			}
			fields = append(fields, k+": "+text)
			hasPort = hasPort || k == "port"
		}
	}
	if !hasPort {
		return "", fmt.Errorf("the canary backendRef at line %d has no port; a cohort rule or mirror needs one", ref.Line)
	}
	return "{" + strings.Join(fields, ", ") + "}", nil
}

// flowText renders a node as YAML flow text: mappings as {k: v}, lists as
// [a, b], strings quoted when they must be.
func flowText(n *yaml.Node) (string, error) {
	switch n.Kind {
	case yaml.MappingNode:
		var fs []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := flowText(n.Content[i+1])
			if err != nil {
				return "", err
			}
			fs = append(fs, flowScalar(n.Content[i].Value)+": "+v)
		}
		return "{" + strings.Join(fs, ", ") + "}", nil
	case yaml.SequenceNode:
		var vs []string
		for _, c := range n.Content {
			v, err := flowText(c)
			if err != nil {
				return "", err
			}
			vs = append(vs, v)
		}
		return "[" + strings.Join(vs, ", ") + "]", nil
	case yaml.ScalarNode:
		if n.Tag != "!!str" {
			return n.Value, nil
		}
		return flowScalar(n.Value), nil
	}
	return "", fmt.Errorf("line %d: an alias or anchor; ramp copies plain values only", n.Line)
}

// flowScalar writes a string in a flow collection: plain when it reads
// back as the same string, else double-quoted.
func flowScalar(s string) string {
	if plainSafe(s, "!!str", true) {
		return s
	}
	return strconv.Quote(s)
}

// checkMatchCounts applies Gateway API's limit on matches over all rules.
func checkMatchCounts(data []byte) error {
	_, seq, err := parseRoute(data)
	if err != nil {
		return err
	}
	n := 0
	for _, rule := range seq.Content {
		if ms := mappingValue(rule, "matches"); ms != nil {
			n += len(ms.Content)
		}
	}
	if n > maxRouteMatches {
		return fmt.Errorf("the HTTPRoute would have %d matches over all rules; Gateway API allows %d", n, maxRouteMatches)
	}
	return nil
}

// parseRoute parses data and finds its HTTPRoute's spec.rules list.
func parseRoute(data []byte) (*yamlFile, *yaml.Node, error) {
	f, err := parseYAML(data)
	if err != nil {
		return nil, nil, err
	}
	_, seq, err := f.routeSeq()
	return f, seq, err
}

// Line-level layout of block collections.

// dashColumn returns the 0-based column of the '-' that starts the block
// list item n, which must begin on the dash's line.
func (f *yamlFile) dashColumn(n *yaml.Node) (int, error) {
	start, err := f.offset(n.Line, 1)
	if err != nil {
		return 0, err
	}
	at, err := f.offset(n.Line, n.Column)
	if err != nil {
		return 0, err
	}
	line := f.data[start:at]
	i := bytes.LastIndexByte(line, '-')
	if i < 0 || len(bytes.TrimLeft(line[:i], " ")) != 0 || len(bytes.TrimSpace(line[i+1:])) != 0 {
		return 0, fmt.Errorf("line %d: the list item does not start with '- ' on its own line; ramp edits block lists written one item per '- '", n.Line)
	}
	return i, nil
}

// itemLines returns the byte range of the lines of block list item n:
// from its dash line to the line after its last value.
func (f *yamlFile) itemLines(n *yaml.Node) (start, end int, err error) {
	if _, err := f.dashColumn(n); err != nil {
		return 0, 0, err
	}
	if start, err = f.offset(n.Line, 1); err != nil {
		return 0, 0, err
	}
	return start, f.afterLine(lastLine(n)), nil
}

// afterLine returns the offset of the line after line n, or the end of
// the file.
func (f *yamlFile) afterLine(n int) int {
	if n >= len(f.lines) {
		return len(f.data)
	}
	return f.lines[n]
}

// leadingComments returns the first of the comment lines, indented at
// least col, that directly precede line; line itself when there are none.
func (f *yamlFile) leadingComments(line, col int) int {
	for line > 1 {
		text := f.lineText(line - 1)
		trimmed := strings.TrimLeft(text, " ")
		if !strings.HasPrefix(trimmed, "#") || len(text)-len(trimmed) < col {
			break
		}
		line--
	}
	return line
}

// lineText returns line n (1-based) without its line break.
func (f *yamlFile) lineText(n int) string {
	start := f.lines[n-1]
	end := len(f.data)
	if n < len(f.lines) {
		end = f.lines[n] - 1
	}
	return strings.TrimRight(string(f.data[start:end]), "\r")
}

// lastLine is the last line any value under n is written on.
func lastLine(n *yaml.Node) int {
	last := n.Line
	for _, c := range n.Content {
		last = max(last, lastLine(c))
	}
	return last
}

// listIndent is how far a block list is indented under its key in rule:
// as its backendRefs are, else 2.
func listIndent(rule *yaml.Node) int {
	k := mappingKey(rule, "backendRefs")
	if k < 0 {
		return 2
	}
	key, refs := rule.Content[k], rule.Content[k+1]
	if refs.Kind != yaml.SequenceNode || refs.Style&yaml.FlowStyle != 0 || len(refs.Content) == 0 || refs.Content[0].Line == key.Line {
		return 2
	}
	return max(refs.Content[0].Column-1-2-(key.Column-1), 0)
}

func pad(n int) string { return strings.Repeat(" ", n) }
