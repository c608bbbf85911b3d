package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/ramp-dev/ramp/policy"
)

// The functions here edit YAML files in place: yaml.v3 finds the node and
// its line and column, and only the bytes of that one scalar are replaced,
// so comments, blank lines, quoting, flow style and line endings of the
// rest of the file stay byte for byte. Missing structure is never invented;
// the one insertion is a backendRef's absent `weight` (setRouteWeights).

// yamlFile is a parsed YAML stream and the byte offset of each line.
type yamlFile struct {
	data  []byte
	lines []int
	docs  []*yaml.Node // each document's root node; nil for an empty document
}

func parseYAML(data []byte) (*yamlFile, error) {
	f := &yamlFile{data: data, lines: []int{0}}
	for i, c := range data {
		if c == '\n' {
			f.lines = append(f.lines, i+1)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parse YAML: %w", err)
		}
		var root *yaml.Node
		if len(doc.Content) > 0 {
			root = doc.Content[0]
		}
		f.docs = append(f.docs, root)
	}
	return f, nil
}

// offset converts a yaml.v3 position (1-based line, column in characters)
// to a byte offset.
func (f *yamlFile) offset(line, column int) (int, error) {
	if line < 1 || line > len(f.lines) {
		return 0, fmt.Errorf("line %d is outside the file", line)
	}
	i := f.lines[line-1]
	for c := 1; c < column; c++ {
		if i >= len(f.data) || f.data[i] == '\n' {
			return 0, fmt.Errorf("column %d is outside line %d", column, line)
		}
		_, size := utf8.DecodeRune(f.data[i:])
		i += size
	}
	return i, nil
}

// GetField returns the value of the scalar at p. In a file of several
// documents the path must resolve in exactly one of them.
func GetField(data []byte, p policy.FieldPath) (string, error) {
	f, err := parseYAML(data)
	if err != nil {
		return "", err
	}
	_, n, _, err := f.find(p)
	if err != nil {
		return "", err
	}
	return n.Value, nil
}

// setField returns data with the scalar at p set to value. The original
// quoting is kept when value is safe in it (a plain scalar also keeps its
// type: 10 stays an integer, v1 a string); otherwise it is double-quoted.
// A path that does not resolve is an error: no key is created.
func setField(data []byte, p policy.FieldPath, value string) ([]byte, error) {
	if !utf8.ValidString(value) {
		return nil, fmt.Errorf("%s: new value is not valid UTF-8", p)
	}
	f, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	doc, n, flow, err := f.find(p)
	if err != nil {
		return nil, err
	}
	start, end, err := f.scalarSpan(n, flow)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	out := applySplices(data, []splice{{start, end, renderScalar(n, value, flow)}})
	// Check that the edit changed exactly the value it was meant to.
	g, err := parseYAML(out)
	if err == nil && len(g.docs) != len(f.docs) {
		err = fmt.Errorf("the file now has %d documents", len(g.docs))
	}
	if err == nil {
		if n, _, err = resolvePath(g.docs[doc], p); err == nil && n.Value != value {
			err = fmt.Errorf("reads back %q", n.Value)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: setting %q did not round-trip, file left unchanged: %w", p, value, err)
	}
	return out, nil
}

// find resolves p in the one document where it resolves.
func (f *yamlFile) find(p policy.FieldPath) (doc int, n *yaml.Node, flow bool, err error) {
	var firstErr error
	found := -1
	for i, root := range f.docs {
		if root == nil {
			continue
		}
		m, fl, err := resolvePath(root, p)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if found >= 0 {
			return 0, nil, false, fmt.Errorf("%s: resolves in documents %d and %d of the file; keep one", p, found+1, i+1)
		}
		doc, n, flow, found = i, m, fl, i
	}
	switch {
	case found >= 0:
		return doc, n, flow, nil
	case firstErr == nil:
		return 0, nil, false, fmt.Errorf("%s: the file has no YAML document", p)
	case len(f.docs) > 1:
		return 0, nil, false, fmt.Errorf("%s: resolves in none of the %d documents; first: %w", p, len(f.docs), firstErr)
	default:
		return 0, nil, false, firstErr
	}
}

// resolvePath walks p from root to a scalar. flow reports whether the
// scalar sits inside a flow collection ({…} or […]).
func resolvePath(root *yaml.Node, p policy.FieldPath) (n *yaml.Node, flow bool, err error) {
	n = root
	for i, e := range p {
		at := "the document"
		if i > 0 {
			at = p[:i].String()
		}
		flow = flow || n.Style&yaml.FlowStyle != 0
		if n.Kind == yaml.AliasNode {
			return nil, false, fmt.Errorf("%s: %s (line %d) is an alias (*%s); edit the anchored value instead",
				p, at, n.Line, n.Value)
		}
		want := yaml.SequenceNode
		if !e.IsSelector() {
			want = yaml.MappingNode
		}
		if n.Kind != want {
			return nil, false, fmt.Errorf("%s: %s (line %d) is a %s, not a %s", p, at, n.Line, kindNames[n.Kind], kindNames[want])
		}
		switch {
		case !e.IsSelector():
			v := mappingValue(n, e.Key)
			if v == nil {
				return nil, false, fmt.Errorf("%s: no key %q in %s (line %d); ramp edits existing fields only",
					p, e.Key, at, n.Line)
			}
			n = v
		case e.Index >= 0:
			if e.Index >= len(n.Content) {
				return nil, false, fmt.Errorf("%s: index %d is out of range: %s (line %d) has %d elements",
					p, e.Index, at, n.Line, len(n.Content))
			}
			n = n.Content[e.Index]
		default:
			var matches []*yaml.Node
			var lines []string
			for _, el := range n.Content {
				if v := mappingValue(el, e.MatchKey); v != nil && v.Kind == yaml.ScalarNode && v.Value == e.MatchValue {
					matches = append(matches, el)
					lines = append(lines, strconv.Itoa(el.Line))
				}
			}
			if len(matches) != 1 {
				return nil, false, fmt.Errorf("%s: %d elements of %s (line %d) have %s=%s, want exactly one (lines: %s)",
					p, len(matches), at, n.Line, e.MatchKey, e.MatchValue, strings.Join(lines, ", "))
			}
			n = matches[0]
		}
	}
	if n.Kind != yaml.ScalarNode {
		return nil, false, fmt.Errorf("%s (line %d) is a %s, not a single value", p, n.Line, kindNames[n.Kind])
	}
	return n, flow, nil
}

// mappingValue returns the value of key in mapping m, or nil.
func mappingValue(m *yaml.Node, key string) *yaml.Node {
	if k := mappingKey(m, key); k >= 0 {
		return m.Content[k+1]
	}
	return nil
}

// mappingKey returns the index of key's key node in m.Content, or -1
// (also when m is nil or not a mapping).
func mappingKey(m *yaml.Node, key string) int {
	if m == nil || m.Kind != yaml.MappingNode {
		return -1
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return i
		}
	}
	return -1
}

var kindNames = map[yaml.Kind]string{
	yaml.DocumentNode: "document", yaml.MappingNode: "mapping", yaml.SequenceNode: "sequence",
	yaml.ScalarNode: "scalar", yaml.AliasNode: "alias",
}

// scalarSpan returns the byte range of scalar n's text in the file, from
// the opening quote (if any) to the end of the value, without a trailing
// comment or spaces. It refuses scalars it cannot replace exactly.
func (f *yamlFile) scalarSpan(n *yaml.Node, flow bool) (start, end int, err error) {
	switch {
	case n.Anchor != "" || n.Style&yaml.TaggedStyle != 0:
		return 0, 0, fmt.Errorf("line %d: the value has an anchor or an explicit tag; ramp does not edit those", n.Line)
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return 0, 0, fmt.Errorf("line %d: the value is a block scalar (| or >); write it on one line", n.Line)
	case n.Style == 0 && n.Value == "":
		return 0, 0, fmt.Errorf("line %d: the field has no value; write a placeholder value first", n.Line)
	}
	if start, err = f.offset(n.Line, n.Column); err != nil {
		return 0, 0, err
	}
	d := f.data
	end = start
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		for end = start + 1; end < len(d) && d[end] != '"'; end++ {
			if d[end] == '\\' {
				end++
			}
		}
		end++
	case n.Style&yaml.SingleQuotedStyle != 0:
		for end = start + 1; end < len(d); end++ {
			if d[end] == '\'' {
				if end+1 < len(d) && d[end+1] == '\'' {
					end++
					continue
				}
				break
			}
		}
		end++
	default:
		for ; end < len(d); end++ {
			c := d[end]
			if c == '\n' || c == '\r' || (flow && strings.IndexByte(",[]{}", c) >= 0) ||
				(c == '#' && end > start && (d[end-1] == ' ' || d[end-1] == '\t')) {
				break
			}
		}
		for end > start && (d[end-1] == ' ' || d[end-1] == '\t') {
			end--
		}
	}
	if end > len(d) || !sameScalar(d[start:end], n.Value) {
		return 0, 0, fmt.Errorf("line %d: cannot find the exact text of the value (a plain value spanning lines?); "+
			"write it on one line", n.Line)
	}
	return start, end, nil
}

// sameScalar reports whether text, parsed alone, is a scalar whose value is value.
func sameScalar(text []byte, value string) bool {
	var doc yaml.Node
	if yaml.Unmarshal(text, &doc) != nil || len(doc.Content) != 1 {
		return false
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.Value == value
}

// renderScalar writes value in n's quoting style when that is safe, else
// double-quoted.
func renderScalar(n *yaml.Node, value string, flow bool) string {
	printable := true
	for _, r := range value {
		printable = printable && unicode.IsPrint(r)
	}
	switch {
	case n.Style&yaml.SingleQuotedStyle != 0 && printable:
		return "'" + strings.ReplaceAll(value, "'", "''") + "'"
	case n.Style == 0 && printable && plainSafe(value, n.Tag, flow):
		return value
	default:
		// Go's escapes for valid UTF-8 (\n, \t, \x1b, \u2028, …) are valid
		// YAML double-quoted escapes with the same meaning.
		return strconv.Quote(value)
	}
}

// plainSafe reports whether value can be written unquoted and reads back
// as the same value with the same type (tag) as the value it replaces.
func plainSafe(value, tag string, flow bool) bool {
	if value == "" || strings.TrimSpace(value) != value || (flow && strings.ContainsAny(value, ",[]{}")) {
		return false
	}
	var doc yaml.Node
	if yaml.Unmarshal([]byte(value), &doc) != nil || len(doc.Content) != 1 {
		return false
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.Style == 0 && n.Value == value && n.Tag == tag
}

// splice replaces data[start:end] with text.
type splice struct {
	start, end int
	text       string
}

// applySplices applies non-overlapping splices to a copy of data.
func applySplices(data []byte, edits []splice) []byte {
	sort.Slice(edits, func(i, j int) bool { return edits[i].start > edits[j].start })
	out := append([]byte(nil), data...)
	for _, e := range edits {
		out = append(out[:e.start], append([]byte(e.text), out[e.end:]...)...)
	}
	return out
}
