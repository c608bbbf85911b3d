package policy

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseFieldPathReadsQuotedKeys(t *testing.T) {
	key := func(k string) PathElem { return PathElem{Key: k, Index: -1} }
	tests := []struct {
		in   string
		want FieldPath
		out  string // String(); in when empty
	}{
		{`metadata.annotations["nginx.ingress.kubernetes.io/canary-weight"]`,
			FieldPath{key("metadata"), key("annotations"), key("nginx.ingress.kubernetes.io/canary-weight")}, ""},
		{`data["a b"].c`, FieldPath{key("data"), key("a b"), key("c")}, ""},
		{`["x=y"][0]`, FieldPath{key("x=y"), {Index: 0}}, ""},
		{`a["plain"]`, FieldPath{key("a"), key("plain")}, "a.plain"},
		{`flags.new-checkout.targeting.fractional[1][1]`,
			FieldPath{key("flags"), key("new-checkout"), key("targeting"), key("fractional"), {Index: 1}, {Index: 1}}, ""},
		{`m["quote \" and ]"]`, FieldPath{key("m"), key(`quote " and ]`)}, ""},
	}
	for _, tt := range tests {
		p, err := ParseFieldPath(tt.in)
		if err != nil || !reflect.DeepEqual(p, tt.want) {
			t.Errorf("ParseFieldPath(%s) = %#v, %v; want %#v", tt.in, p, err, tt.want)
			continue
		}
		out := tt.out
		if out == "" {
			out = tt.in
		}
		if p.String() != out {
			t.Errorf("String() = %s, want %s", p, out)
		}
	}
}

func TestParseFieldPathRejectsBadQuotedKeys(t *testing.T) {
	for in, want := range map[string]string{
		`a["b`:    "unterminated quoted key",
		`a["b"x]`: "want ] after the quoted key",
		`a[""]`:   "empty quoted key",
	} {
		if _, err := ParseFieldPath(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseFieldPath(%s) error = %v, want %q", in, err, want)
		}
	}
}
