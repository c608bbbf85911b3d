package manifest

// HTTPRoute weights: the traffic target of a rollout, edited in place.

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ramp-dev/ramp/policy"
)

const routeAPIVersion = "gateway.networking.k8s.io/v1"

// backendRef is one backendRef mapping of an HTTPRoute rule.
type backendRef struct {
	ref    *yaml.Node // the mapping
	name   int        // index of the name key in ref.Content
	weight *yaml.Node // nil when absent (Gateway API's default weight is 1)
	flow   bool
}

// routeRule is a rule that names both the stable and the canary backend.
type routeRule struct {
	index          int // among the rules that are not ramp's cohort rules
	node           *yaml.Node
	stable, canary backendRef
}

// routeWeights returns the canary's share of traffic in percent, rounded,
// over the rules of the HTTPRoute in data that name both of t's backends
// (or rule t.Rule only). Rules that disagree are an error.
func routeWeights(data []byte, t policy.HTTPRouteTarget) (canary int, err error) {
	f, err := parseYAML(data)
	if err != nil {
		return 0, err
	}
	rules, err := f.routeRules(t)
	if err != nil {
		return 0, err
	}
	for i, r := range rules {
		c, s := refWeight(r.canary), refWeight(r.stable)
		share := 0
		if c+s > 0 {
			share = (c*100 + (c+s)/2) / (c + s)
		}
		if i > 0 && share != canary {
			return 0, fmt.Errorf("HTTPRoute rules disagree: rule %d sends %d%% to %s, rule %d %d%%",
				rules[0].index, canary, t.CanaryBackend, r.index, share)
		}
		canary = share
	}
	return canary, nil
}

// setRouteWeights returns data with weight canary on t's canary backend and
// 100-canary on its stable backend, in every rule that names both (or in
// rule t.Rule only). A backendRef without a weight gets a `weight: N` line
// (or `, weight: N` in a flow mapping) right after its name.
func setRouteWeights(data []byte, t policy.HTTPRouteTarget, canary int) ([]byte, error) {
	if canary < 0 || canary > 100 {
		return nil, fmt.Errorf("canary weight %d is outside 0..100", canary)
	}
	f, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	rules, err := f.routeRules(t)
	if err != nil {
		return nil, err
	}
	var edits []splice
	for _, r := range rules {
		c, err := f.weightEdit(r.canary, canary)
		if err != nil {
			return nil, fmt.Errorf("HTTPRoute rule %d: %w", r.index, err)
		}
		s, err := f.weightEdit(r.stable, 100-canary)
		if err != nil {
			return nil, fmt.Errorf("HTTPRoute rule %d: %w", r.index, err)
		}
		edits = append(edits, c, s)
	}
	out := applySplices(data, edits)
	if got, err := routeWeights(out, t); err != nil || got != canary {
		return nil, fmt.Errorf("setting canary weight %d did not round-trip (read back %d, %v); file left unchanged",
			canary, got, err)
	}
	return out, nil
}

// weightEdit replaces a backendRef's weight, or inserts one after its name.
func (f *yamlFile) weightEdit(b backendRef, v int) (splice, error) {
	text := strconv.Itoa(v)
	if b.weight != nil {
		start, end, err := f.scalarSpan(b.weight, b.flow)
		return splice{start, end, text}, err
	}
	key, name := b.ref.Content[b.name], b.ref.Content[b.name+1]
	_, end, err := f.scalarSpan(name, b.flow || b.ref.Style&yaml.FlowStyle != 0)
	if err != nil {
		return splice{}, err
	}
	if b.ref.Style&yaml.FlowStyle != 0 {
		return splice{end, end, ", weight: " + text}, nil
	}
	eol := "\n"
	if bytes.Contains(f.data, []byte("\r\n")) {
		eol = "\r\n"
	}
	line := strings.Repeat(" ", key.Column-1) + "weight: " + text
	nl := bytes.IndexByte(f.data[end:], '\n')
	if nl < 0 {
		return splice{len(f.data), len(f.data), eol + line}, nil
	}
	return splice{end + nl + 1, end + nl + 1, line + eol}, nil
}

func refWeight(b backendRef) int {
	if b.weight == nil {
		return 1
	}
	w, _ := strconv.Atoi(b.weight.Value) // checked by routeRules
	return w
}

// routeRules finds the HTTPRoute and the rules ramp edits: those naming
// both backends, or rule t.Rule, counting the rules of spec.rules but the
// cohort rules ramp added (policy.IsCohortRule).
func (f *yamlFile) routeRules(t policy.HTTPRouteTarget) ([]routeRule, error) {
	if t.StableBackend == "" || t.CanaryBackend == "" || t.StableBackend == t.CanaryBackend {
		return nil, fmt.Errorf("HTTPRoute target needs two different backends, got stable %q and canary %q",
			t.StableBackend, t.CanaryBackend)
	}
	_, seq, err := f.routeSeq()
	if err != nil {
		return nil, err
	}
	var own []int // indexes in seq.Content of the rules that are not ramp's cohort rules
	for i, rule := range seq.Content {
		if !isCohortRule(rule) {
			own = append(own, i)
		}
	}
	if t.Rule != nil && (*t.Rule < 0 || *t.Rule >= len(own)) {
		return nil, fmt.Errorf("HTTPRoute rule %d does not exist: spec.rules has %d rules", *t.Rule, len(own))
	}
	var rules []routeRule
	for i, at := range own {
		rule := seq.Content[at]
		if t.Rule != nil && i != *t.Rule {
			continue
		}
		r, named, err := backendPair(rule, i, t, seq.Style&yaml.FlowStyle != 0)
		if err != nil {
			return nil, err
		}
		r.node = rule
		if named == 2 {
			rules = append(rules, r)
		} else if named == 1 || t.Rule != nil {
			return nil, fmt.Errorf("HTTPRoute rule %d (line %d) must name both backends %q and %q",
				i, rule.Line, t.StableBackend, t.CanaryBackend)
		}
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("no HTTPRoute rule names both backends %q and %q", t.StableBackend, t.CanaryBackend)
	}
	return rules, nil
}

// routeSeq finds the file's one HTTPRoute and its spec.rules list.
func (f *yamlFile) routeSeq() (route, seq *yaml.Node, err error) {
	for _, root := range f.docs {
		if root == nil {
			continue
		}
		if kind := mappingValue(root, "kind"); kind == nil || kind.Value != "HTTPRoute" {
			continue
		}
		if api := mappingValue(root, "apiVersion"); api == nil || api.Value != routeAPIVersion {
			return nil, nil, fmt.Errorf("HTTPRoute at line %d: apiVersion must be %s", root.Line, routeAPIVersion)
		}
		if route != nil {
			return nil, nil, fmt.Errorf("HTTPRoutes at lines %d and %d: keep one HTTPRoute per file", route.Line, root.Line)
		}
		route = root
	}
	if route == nil {
		return nil, nil, fmt.Errorf("no HTTPRoute (apiVersion %s) in the file", routeAPIVersion)
	}
	spec := mappingValue(route, "spec")
	if spec != nil {
		seq = mappingValue(spec, "rules")
	}
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return nil, nil, fmt.Errorf("HTTPRoute at line %d has no spec.rules list", route.Line)
	}
	return route, seq, nil
}

// isCohortRule reports whether rule is one ramp added for a cohort.
func isCohortRule(rule *yaml.Node) bool {
	name := mappingValue(rule, "name")
	return name != nil && name.Kind == yaml.ScalarNode && policy.IsCohortRule(name.Value)
}

// backendPair reads one rule's backendRefs; named counts how many of the
// two backends it names.
func backendPair(rule *yaml.Node, index int, t policy.HTTPRouteTarget, flow bool) (r routeRule, named int, err error) {
	r.index = index
	refs := mappingValue(rule, "backendRefs")
	if refs == nil {
		return r, 0, nil
	}
	flow = flow || rule.Style&yaml.FlowStyle != 0 || refs.Style&yaml.FlowStyle != 0
	var other *yaml.Node // a third backend that gets traffic
	for _, ref := range refs.Content {
		k := mappingKey(ref, "name")
		if k < 0 {
			return r, 0, fmt.Errorf("HTTPRoute rule %d: backendRef at line %d has no name", index, ref.Line)
		}
		b := backendRef{ref: ref, name: k, weight: mappingValue(ref, "weight"), flow: flow}
		if b.weight != nil && (b.weight.Tag != "!!int" || refWeight(b) < 0) {
			return r, 0, fmt.Errorf("HTTPRoute rule %d: weight at line %d is %q, not a whole number >= 0",
				index, b.weight.Line, b.weight.Value)
		}
		switch name := ref.Content[k+1].Value; name {
		case t.StableBackend, t.CanaryBackend:
			slot := &r.stable
			if name == t.CanaryBackend {
				slot = &r.canary
			}
			if slot.ref != nil {
				return r, 0, fmt.Errorf("HTTPRoute rule %d names backend %q twice", index, name)
			}
			*slot = b
			named++
		default:
			if b.weight == nil || refWeight(b) != 0 {
				other = ref
			}
		}
	}
	if other != nil && named > 0 {
		return r, 0, fmt.Errorf("HTTPRoute rule %d also sends traffic to backend %q (line %d): "+
			"give it weight: 0 or move it to another rule", index, mappingValue(other, "name").Value, other.Line)
	}
	return r, named, nil
}
