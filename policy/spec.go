package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// SpecError is one problem of a spec file, at a line and a field path.
type SpecError struct {
	File  string
	Line  int // 0 when unknown
	Field string
	Msg   string
}

// Error renders the problem as `file:line: field.path: problem`.
func (e *SpecError) Error() string {
	var parts []string
	switch {
	case e.File != "" && e.Line > 0:
		parts = append(parts, e.File+":"+strconv.Itoa(e.Line))
	case e.File != "":
		parts = append(parts, e.File)
	case e.Line > 0:
		parts = append(parts, "line "+strconv.Itoa(e.Line))
	}
	if e.Field != "" {
		parts = append(parts, e.Field)
	}
	return strings.Join(append(parts, e.Msg), ": ")
}

// SpecErrors are all the problems found in one spec file, in file order.
type SpecErrors []*SpecError

// Error renders one problem per line.
func (es SpecErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *SpecError.
func (es SpecErrors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// Err returns es as an error, or nil when there is no problem. Use it
// instead of assigning SpecErrors to an error variable, which would make a
// nil list a non-nil error.
func (es SpecErrors) Err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// sortByLine orders problems by line, keeping the order of problems on
// the same line.
func (es SpecErrors) sortByLine() {
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
}

// Parse reads a rollout spec strictly: unknown fields, wrong types,
// duplicate keys, more than one document and a wrong apiVersion or kind
// are errors. It collects every problem it finds and returns them as
// SpecErrors naming file:line and the field path. The returned rollout has
// defaults applied (see Default) and Path set to file; semantic checks are
// Validate's.
func Parse(file string, data []byte) (*Rollout, error) {
	d := &decoder{file: file, lines: map[string]int{}}
	root := d.document(data, "a Rollout")
	if root == nil {
		return nil, d.errs
	}
	if isNullNode(root) { // a lone "---", or "~"
		d.fail(0, "", "empty document: expected a Rollout")
		return nil, d.errs
	}
	r := &Rollout{Path: file}
	d.decode(root, reflect.ValueOf(r).Elem(), "")
	if root.Kind != yaml.MappingNode {
		return nil, d.errs
	}
	switch {
	case r.APIVersion == "":
		d.fail(d.line("apiVersion"), "apiVersion", "required: %s", APIVersion)
	case r.APIVersion != APIVersion:
		d.fail(d.line("apiVersion"), "apiVersion", "%q is not supported; use %s", r.APIVersion, APIVersion)
	}
	switch {
	case r.Kind == "":
		d.fail(d.line("kind"), "kind", "required: %s", Kind)
	case r.Kind != Kind:
		d.fail(d.line("kind"), "kind", "%q is not a %s; use kind: %s", r.Kind, Kind, Kind)
	}
	d.refuseZeros()
	if len(d.errs) > 0 {
		d.errs.sortByLine()
		return nil, d.errs
	}
	r.lines = d.lines
	r.Default()
	return r, nil
}

// ParseGuardrails reads the platform team's guardrails strictly; a field
// that is absent keeps its value from DefaultGuardrails.
func ParseGuardrails(file string, data []byte) (Guardrails, error) {
	g := DefaultGuardrails()
	if len(bytes.TrimSpace(data)) == 0 {
		return g, nil
	}
	d := &decoder{file: file, lines: map[string]int{}}
	root := d.document(data, "guardrails")
	if root == nil {
		return Guardrails{}, d.errs
	}
	d.decode(root, reflect.ValueOf(&g).Elem(), "")
	// written: in the file, and read (a value that did not decode is
	// reported once, by the decoder).
	written := func(field string) bool {
		_, ok := d.lines[field]
		return ok && !slices.ContainsFunc(d.errs, func(e *SpecError) bool { return e.Field == field })
	}
	fail := func(field, format string, args ...any) { d.fail(d.line(field), field, format, args...) }
	g.check(written, fail)
	g.checkTiers(written, fail)
	g.checkMigrations(fail)
	if len(d.errs) > 0 {
		d.errs.sortByLine()
		return Guardrails{}, d.errs
	}
	g.source = &guardrailsSource{file: file, lines: d.lines}
	return g, nil
}

// Line returns the line of field (a path such as "spec.release.file") in
// the file the rollout was parsed from, or of its nearest enclosing field
// that has one; 0 when the rollout was not parsed.
func (r *Rollout) Line(field string) int {
	if r.linePrefix == "" {
		return lineIn(r.lines, field)
	}
	for {
		if rest, ok := strings.CutPrefix(field, "spec."); ok {
			if l, ok := r.lines[r.linePrefix+rest]; ok {
				return l
			}
		}
		if l, ok := r.lines[field]; ok {
			return l
		}
		if field == "" {
			return 0
		}
		field = field[:max(strings.LastIndexAny(field, ".["), 0)]
	}
}

func lineIn(lines map[string]int, field string) int {
	for {
		if l, ok := lines[field]; ok {
			return l
		}
		if field == "" {
			return 0
		}
		field = field[:max(strings.LastIndexAny(field, ".["), 0)]
	}
}

// decoder walks a yaml.Node into a Go value by its yaml tags, recording
// the line of every field and collecting every problem.
type decoder struct {
	file  string
	lines map[string]int
	errs  SpecErrors
	// zeros are the fields written as 0 or a zero duration, for
	// refuseZeros.
	zeros []string
}

func (d *decoder) fail(line int, field, format string, args ...any) {
	d.errs = append(d.errs, &SpecError{File: d.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) line(field string) int { return lineIn(d.lines, field) }

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

var yamlAnchor = regexp.MustCompile(`anchor '([^']*)'`)

// syntax records a YAML syntax error in data at its line. yaml.v3 names
// the line of most problems, but not of an anchor (syntax finds its first
// use), nor of a problem on the first line (its marks count from 0 and it
// leaves out line 0).
func (d *decoder) syntax(data []byte, err error) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		d.fail(n, "", "invalid YAML: %s", m[2])
		return
	}
	line := 1
	if m := yamlAnchor.FindStringSubmatch(msg); m != nil {
		for _, use := range []string{"*" + m[1], "&" + m[1]} {
			if i := bytes.Index(data, []byte(use)); i >= 0 {
				line = bytes.Count(data[:i], []byte("\n")) + 1
				break
			}
		}
	}
	d.fail(line, "", "invalid YAML: %s", msg)
}

// unreadable returns the line of the first byte sequence of data that is
// not UTF-8 or not a character YAML allows, and what it is; 0 when there
// is none. A spec is UTF-8: yaml.v3 would also read UTF-16, but names no
// line for what it cannot read, and ramp edits manifests as UTF-8.
func unreadable(data []byte) (line int, msg string) {
	line, col := 1, 1
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		switch {
		case r == utf8.RuneError && size <= 1:
			return line, fmt.Sprintf("column %d: byte 0x%02X is not UTF-8: save the file as UTF-8", col, data[0])
		case !yamlPrintable(r):
			return line, fmt.Sprintf("column %d: character %U is not allowed in YAML", col, r)
		case r == '\n':
			line, col = line+1, 0
		}
		col++
		data = data[size:]
	}
	return 0, ""
}

// yamlPrintable reports whether YAML allows r in a stream (YAML 1.2
// c-printable, as yaml.v3 checks it).
func yamlPrintable(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0x7E || r == 0x85 ||
		r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

// document returns the content of the only YAML document in data, or nil
// after recording why there is none.
func (d *decoder) document(data []byte, what string) *yaml.Node {
	if line, problem := unreadable(data); line > 0 {
		d.fail(line, "", "invalid YAML: %s", problem)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.fail(0, "", "empty document: expected %s", what)
		} else {
			d.syntax(data, err)
		}
		return nil
	}
	for {
		var next yaml.Node
		err := dec.Decode(&next)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.syntax(data, err)
			return nil
		}
		if len(next.Content) > 0 && !isNullNode(next.Content[0]) {
			d.fail(next.Line, "", "a second YAML document: the file must hold exactly one (remove the --- and what follows)")
			return nil
		}
		// An empty document after a trailing --- holds nothing.
	}
	if len(doc.Content) == 0 {
		d.fail(0, "", "empty document: expected %s", what)
		return nil
	}
	d.lines[""] = doc.Content[0].Line
	return doc.Content[0]
}

var (
	durationType = reflect.TypeFor[Duration]()
	stepType     = reflect.TypeFor[Step]()
)

// decode sets v from n; path names v in messages.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		d.fail(n.Line, path, "YAML anchors and aliases are not supported in a spec; write the value out")
		return
	}
	t := v.Type()
	switch {
	case t == durationType:
		d.duration(n, v, path)
	case t.Kind() == reflect.Pointer:
		e := reflect.New(t.Elem())
		if isNullNode(n) && t.Elem().Kind() == reflect.Struct {
			v.Set(e) // `pause:` means `pause: {}`
			return
		}
		d.decode(n, e.Elem(), path)
		v.Set(e)
	case t.Kind() == reflect.Struct:
		d.mapping(n, v, path)
	case t.Kind() == reflect.Slice:
		d.sequence(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if isNullNode(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "%s is not a mapping of fields", nodeText(n))
		return
	}
	fields := yamlFields(v.Type())
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			d.fail(k.Line, path, "merge keys (<<) are not supported in a spec; write the fields out")
			continue
		}
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			d.fail(k.Line, path, "%s is not a field name", nodeText(k))
			continue
		}
		field := joinField(path, k.Value)
		if first := firstKey(n, i, k.Value); first != nil {
			d.fail(k.Line, field, "duplicate key (first at line %d)", first.Line)
			continue
		}
		idx, ok := fields[k.Value]
		if !ok {
			d.fail(k.Line, field, "unknown field %s", suggestField(k.Value, fields))
			continue
		}
		d.lines[field] = k.Line
		d.decode(val, v.Field(idx), field)
	}
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if isNullNode(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, "%s is not a list", nodeText(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		field := path + "[" + strconv.Itoa(i) + "]"
		d.lines[field] = item.Line
		d.decode(item, s.Index(i), field)
		if v.Type().Elem() == stepType {
			s.Index(i).FieldByName("Line").SetInt(int64(item.Line))
		}
	}
	v.Set(s)
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.fail(n.Line, path, "%s is not %s", nodeText(n), kindName(v.Kind()))
		return
	}
	switch v.Kind() {
	case reflect.String:
		if n.Tag != "!!str" {
			d.fail(n.Line, path, "%s is not a string (quote it: \"%s\")", nodeText(n), n.Value)
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		var i int
		if n.Tag != "!!int" || n.Decode(&i) != nil {
			d.fail(n.Line, path, "%s is not an integer", nodeText(n))
			return
		}
		v.SetInt(int64(i))
		if i == 0 {
			d.zeros = append(d.zeros, path)
		}
	case reflect.Bool:
		var b bool
		if n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.fail(n.Line, path, "%s is not true or false", nodeText(n))
			return
		}
		v.SetBool(b)
	case reflect.Float64:
		var f float64
		if (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&f) != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			d.fail(n.Line, path, "%s is not a finite number", nodeText(n))
			return
		}
		v.SetFloat(f)
	default:
		// Only the kinds above occur in Rollout and Guardrails.
		d.fail(n.Line, path, "internal error: cannot decode into %s", v.Type())
	}
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.fail(n.Line, path, "%s is not a duration (write it like 30s, 5m or 1h30m)", nodeText(n))
		return
	}
	dur, err := parseDuration(n.Value)
	if err != nil {
		d.fail(n.Line, path, "%s", err)
		return
	}
	v.Set(reflect.ValueOf(dur))
	if dur.Duration == 0 {
		d.zeros = append(d.zeros, path)
	}
}

// firstKey returns the key of mapping n before its i-th node named key,
// or nil. A spec's mappings have a few keys each: a scan costs less than
// a map per mapping.
func firstKey(n *yaml.Node, i int, key string) *yaml.Node {
	for j := 0; j < i; j += 2 {
		if k := n.Content[j]; k.Kind == yaml.ScalarNode && k.Tag == "!!str" && k.Value == key {
			return k
		}
	}
	return nil
}

// fieldsOf caches yamlFields by type: the decoder asks for the fields of
// the same few types once per mapping.
var fieldsOf sync.Map // reflect.Type → map[string]int

// yamlFields maps the yaml names of a struct's fields to their indexes;
// the map is shared: do not change it.
func yamlFields(t reflect.Type) map[string]int {
	if m, ok := fieldsOf.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		m[name] = i
	}
	fieldsOf.Store(t, m)
	return m
}

// suggestField names the closest known field, or lists them all.
func suggestField(key string, fields map[string]int) string {
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	best, bestDist := "", math.MaxInt
	for _, name := range names {
		if dist := editDistance(strings.ToLower(key), strings.ToLower(name)); dist < bestDist {
			best, bestDist = name, dist
		}
	}
	if bestDist <= max(1, min(len(key), len(best))/3) {
		return fmt.Sprintf("(did you mean %q?)", best)
	}
	return "(known fields: " + strings.Join(names, ", ") + ")"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func isNullNode(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// nodeText renders a node for a message: "ten" (quoted), null, a mapping, a list.
func nodeText(n *yaml.Node) string {
	switch {
	case isNullNode(n):
		return "null"
	case n.Kind == yaml.ScalarNode:
		return strconv.Quote(n.Value)
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	}
	return "this value"
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Int:
		return "an integer"
	case reflect.Bool:
		return "true or false"
	case reflect.Float64:
		return "a number"
	}
	return "a " + k.String()
}

func joinField(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
