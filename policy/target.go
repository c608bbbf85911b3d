package policy

// fieldTarget checks a generic field target: its file and the field paths
// it writes, which must differ.
func (v *validator) fieldTarget(f string, t *FieldTarget) {
	v.file(f+".file", t.File)
	seen := map[string]string{}
	for _, p := range []struct {
		name, path string
		required   bool
	}{{"path", t.Path, true}, {"mirrorPath", t.MirrorPath, false}} {
		if p.path == "" && !p.required {
			continue
		}
		if _, err := ParseFieldPath(p.path); err != nil {
			v.fail(f+"."+p.name, "%v", err)
			continue
		}
		if other, dup := seen[p.path]; dup {
			v.fail(f+"."+p.name, "%q is also the %s; each value needs a field of its own", p.path, other)
		}
		seen[p.path] = p.name
	}
}
