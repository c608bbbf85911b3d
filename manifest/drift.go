package manifest

import (
	"bytes"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ramp-dev/ramp/policy"
)

// TargetFields reads what the traffic target file data sends to the
// canary besides the weight, for drift (policy.FieldChange with New set):
// for an HTTPRoute its rules other than the weighted ones that send
// requests to the canary (cohorts: each rule's name and matches) and its
// mirror filters to the canary (their percent), "" for none; for a field
// target its stablePath and mirrorPath, when the spec names them.
func TargetFields(data []byte, r *policy.Rollout) ([]policy.FieldChange, error) {
	file := r.TargetFile()
	if t := r.Spec.Target.HTTPRoute; t != nil {
		rules, mirrors, err := canaryRoutes(data, *t)
		if err != nil {
			return nil, err
		}
		return []policy.FieldChange{
			{Field: policy.FieldRouteRules, File: file, Path: "spec.rules", New: rules},
			{Field: policy.FieldMirror, File: file, Path: "spec.rules[].filters[type=RequestMirror]", New: mirrors},
		}, nil
	}
	t := r.Spec.Target.Field
	var out []policy.FieldChange
	for _, f := range []struct{ field, path string }{{policy.FieldStableWeight, t.StablePath}, {policy.FieldMirror, t.MirrorPath}} {
		if f.path == "" {
			continue
		}
		v, err := pathValue(data, f.path)
		if err != nil {
			return nil, err
		}
		out = append(out, policy.FieldChange{Field: f.field, File: file, Path: f.path, New: v})
	}
	return out, nil
}

// pathValue reads the scalar at the field path written as path.
func pathValue(data []byte, path string) (string, error) {
	p, err := policy.ParseFieldPath(path)
	if err != nil {
		return "", err
	}
	return GetField(data, p)
}

// canaryRoutes describes the HTTPRoute rules that send requests to t's
// canary other than the weighted ones ("name: matches; …"), and the
// percent of each mirror filter to the canary ("10%, …"). A file that
// names the canary once and has no YAML anchor (so no alias repeats the
// name) names it in the weighted rule only (the weight cannot be read
// without it): it has neither, and is not parsed.
func canaryRoutes(data []byte, t policy.HTTPRouteTarget) (rules, mirrors string, err error) {
	if t.CanaryBackend != "" && bytes.Count(data, []byte(t.CanaryBackend)) == 1 && bytes.IndexByte(data, '&') < 0 {
		return "", "", nil
	}
	f, seq, err := parseRoute(data)
	if err != nil {
		return "", "", err
	}
	weighted, err := f.routeRules(t)
	if err != nil {
		return "", "", err
	}
	isWeighted := map[*yaml.Node]bool{}
	for _, r := range weighted {
		isWeighted[r.node] = true
	}
	var rs, ms []string
	for _, rule := range seq.Content {
		rule = resolved(rule)
		if m := mirrorFilter(rule, t.CanaryBackend); m != nil {
			pct := "100%"
			if p := mappingValue(mappingValue(m, "requestMirror"), "percent"); p != nil {
				pct = p.Value + "%"
			}
			ms = append(ms, pct)
		}
		if isWeighted[rule] || !sendsTo(rule, t.CanaryBackend) {
			continue
		}
		desc := "unnamed rule"
		if n := mappingValue(rule, "name"); n != nil {
			desc = n.Value
		}
		if m := mappingValue(rule, "matches"); m != nil {
			if text, err := flowText(m); err == nil {
				desc += " " + text
			}
		}
		rs = append(rs, desc)
	}
	return strings.Join(rs, "; "), strings.Join(ms, ", "), nil
}

// sendsTo reports whether rule has a backendRef named backend with a
// weight other than 0.
func sendsTo(rule *yaml.Node, backend string) bool {
	refs := resolved(mappingValue(rule, "backendRefs"))
	if refs == nil {
		return false
	}
	for _, ref := range refs.Content {
		ref = resolved(ref)
		name, weight := resolved(mappingValue(ref, "name")), resolved(mappingValue(ref, "weight"))
		if name != nil && name.Value == backend && (weight == nil || weight.Value != "0") {
			return true
		}
	}
	return false
}

// resolved is n, or the node an alias n stands for.
func resolved(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}
