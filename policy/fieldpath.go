package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// FieldPath addresses one node of a YAML document: a dotted list of
// mapping keys, each optionally followed by selectors on a sequence:
// `[N]` (index) or `[key=value]` (the element whose key has that value).
// A key holding dots, brackets, '=' or spaces is written quoted in
// brackets, as a Go string: `metadata.annotations["nginx.ingress.kubernetes.io/canary-weight"]`.
// Examples: `images[name=demo].newTag`, `spec.rules[0].backendRefs[name=demo-canary].weight`.
type FieldPath []PathElem

// PathElem is one step of a FieldPath: a mapping key (may be empty when a
// selector applies to the document itself) or a sequence selector.
type PathElem struct {
	Key string
	// Index selects a sequence element by position when >= 0.
	Index int
	// MatchKey/MatchValue select the sequence element whose MatchKey is MatchValue.
	MatchKey, MatchValue string
}

// IsSelector reports whether the element selects a sequence element.
func (e PathElem) IsSelector() bool { return e.Key == "" }

// String renders the path as written.
func (p FieldPath) String() string {
	var b strings.Builder
	for i, e := range p {
		switch {
		case !e.IsSelector() && strings.ContainsAny(e.Key, ".[]=\" \t"):
			b.WriteString("[" + strconv.Quote(e.Key) + "]")
		case !e.IsSelector():
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.Key)
		case e.Index >= 0:
			fmt.Fprintf(&b, "[%d]", e.Index)
		default:
			fmt.Fprintf(&b, "[%s=%s]", e.MatchKey, e.MatchValue)
		}
	}
	return b.String()
}

// ParseFieldPath parses a field path such as `images[name=demo].newTag`.
func ParseFieldPath(s string) (FieldPath, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty field path")
	}
	var p FieldPath
	for i := 0; i < len(s); {
		switch s[i] {
		case '[':
			if strings.HasPrefix(s[i+1:], `"`) {
				q, err := strconv.QuotedPrefix(s[i+1:])
				if err != nil {
					return nil, fmt.Errorf("field path %q: unterminated quoted key at offset %d", s, i+1)
				}
				key, _ := strconv.Unquote(q)
				i += 1 + len(q)
				if i >= len(s) || s[i] != ']' {
					return nil, fmt.Errorf("field path %q: want ] after the quoted key at offset %d", s, i)
				}
				if key == "" {
					return nil, fmt.Errorf("field path %q: empty quoted key", s)
				}
				i++
				p = append(p, PathElem{Key: key, Index: -1})
				continue
			}
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("field path %q: unclosed [ at offset %d", s, i)
			}
			sel := s[i+1 : i+end]
			i += end + 1
			if k, v, ok := strings.Cut(sel, "="); ok {
				if k == "" || v == "" {
					return nil, fmt.Errorf("field path %q: selector [%s] needs key=value", s, sel)
				}
				p = append(p, PathElem{Index: -1, MatchKey: k, MatchValue: v})
				continue
			}
			n, err := strconv.Atoi(sel)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("field path %q: selector [%s] is neither an index nor key=value", s, sel)
			}
			p = append(p, PathElem{Index: n})
		case '.':
			if i == 0 || i == len(s)-1 {
				return nil, fmt.Errorf("field path %q: misplaced '.' at offset %d", s, i)
			}
			i++
			if s[i] == '.' || s[i] == '[' {
				return nil, fmt.Errorf("field path %q: empty key at offset %d", s, i)
			}
		default:
			end := strings.IndexAny(s[i:], ".[")
			if end < 0 {
				end = len(s) - i
			}
			key := s[i : i+end]
			if strings.ContainsAny(key, "]= ") {
				return nil, fmt.Errorf("field path %q: bad key %q", s, key)
			}
			p = append(p, PathElem{Key: key, Index: -1})
			i += end
		}
	}
	return p, nil
}
