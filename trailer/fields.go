package trailer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The fields of a ramp trailer's value: space-separated key=value pairs
// (formatFields, parseFields) and a reader that checks them (readFields).

// fieldReader reads the fields of one trailer value, keeping the first
// problem it meets.
type fieldReader struct {
	values map[string]string
	err    error
}

// readFields parses s into fields, rejecting unknown and repeated keys.
func readFields(s string, allowed ...string) (*fieldReader, error) {
	fs, err := parseFields(s)
	if err != nil {
		return nil, err
	}
	f := &fieldReader{values: map[string]string{}}
	for _, fd := range fs {
		switch _, dup := f.values[fd.Key]; {
		case !slices.Contains(allowed, fd.Key):
			return nil, fmt.Errorf("unknown field %q: want %s", fd.Key, strings.Join(allowed, ", "))
		case dup:
			return nil, fmt.Errorf("field %q repeated", fd.Key)
		}
		f.values[fd.Key] = fd.Value
	}
	return f, nil
}

func (f *fieldReader) fail(format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf(format, args...)
	}
}

func (f *fieldReader) need(key string) string {
	v := f.values[key]
	if v == "" {
		f.fail("missing %s=", key)
	}
	return v
}

func (f *fieldReader) float(key string) (float64, bool) {
	v, ok := f.values[key]
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		f.fail("%s %q: want a number", key, v)
	}
	return x, true
}

func (f *fieldReader) count(key string) int {
	v, ok := f.values[key]
	if !ok {
		return 0
	}
	n, err := parseInt(v, 0, maxCount)
	if err != nil {
		f.fail("%s %q: %v", key, v, err)
	}
	return n
}

// maxCount bounds step numbers and measurement counts.
const maxCount = 1<<31 - 1

func parseInt(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("want a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

// formatFloat writes the shortest text that reads back as x.
func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// formatDuration writes d as time.Duration does, without zero minutes and
// seconds after larger units: "10m", "1h", "1h30m", "90s" as "1m30s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// field is one key=value pair of a ramp trailer's value, as in
// "Ramp-Gate: name=success-rate verdict=pass bound=\">=0.995\"".
type field struct {
	Key   string
	Value string
}

// formatFields writes fields as space-separated key=value pairs. A value
// that is empty or holds anything but printable ASCII other than '"',
// '\\' and '=' is double-quoted with Go escapes, so the result is one line.
// Keys must be letters, digits, '.', '_' and '-'.
func formatFields(fields []field) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Key)
		b.WriteByte('=')
		if needsQuote(f.Value) {
			b.WriteString(strconv.Quote(f.Value))
		} else {
			b.WriteString(f.Value)
		}
	}
	return b.String()
}

func needsQuote(v string) bool {
	if v == "" {
		return true
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '=' {
			return true
		}
	}
	return false
}

// parseFields reads space-separated key=value pairs; a value is either a
// run of non-space bytes without '"', or a double-quoted Go string.
func parseFields(s string) ([]field, error) {
	var fields []field
	for i := 0; ; {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			return fields, nil
		}
		start := i
		for i < len(s) && isKeyByte(s[i]) {
			i++
		}
		if i == start || i == len(s) || s[i] != '=' {
			return nil, fmt.Errorf("at byte %d: want key=value", start+1)
		}
		key := s[start:i]
		i++
		var value string
		if i < len(s) && s[i] == '"' {
			end := closingQuote(s, i)
			if end < 0 {
				return nil, fmt.Errorf("%s: unterminated quoted value", key)
			}
			v, err := strconv.Unquote(s[i:end])
			if err != nil {
				return nil, fmt.Errorf("%s: bad quoted value %s: %w", key, s[i:end], err)
			}
			value, i = v, end
			if i < len(s) && s[i] != ' ' && s[i] != '\t' {
				return nil, fmt.Errorf("%s: want a space after the closing quote", key)
			}
		} else {
			vs := i
			for i < len(s) && s[i] != ' ' && s[i] != '\t' {
				if s[i] == '"' {
					return nil, fmt.Errorf("%s: quote inside an unquoted value: quote the whole value", key)
				}
				i++
			}
			value = s[vs:i]
		}
		fields = append(fields, field{Key: key, Value: value})
	}
}

// closingQuote returns the index after the quote closing the string that
// opens at s[open], or -1.
func closingQuote(s string, open int) int {
	for i := open + 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

func isKeyByte(c byte) bool { return isAlnum(c) || c == '-' || c == '_' || c == '.' }

// Migration returns what a release commit's Ramp-Migration trailer
// declares of its migrations ("" without one); a value other than expand
// or contract is returned as is, for policy to refuse naming it.
func Migration(ts []Trailer) string {
	for _, t := range ts {
		if key, _ := canonicalKey(t.Key); key == keyMigration {
			return strings.TrimSpace(t.Value)
		}
	}
	return ""
}
