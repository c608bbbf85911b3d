package trailer

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// parseCases are commit messages with the trailers git 2.39 finds in
// them, written by hand and checked against the system git as well.
var parseCases = []struct {
	name, msg string
	want      []Trailer
}{
	{"empty message", "", nil},
	{"subject only", "Add feature", nil},
	{"subject only with newline", "Add feature\n", nil},
	{"trailers in the subject paragraph", "Fix: thing\nSigned-off-by: A <a@x>\n", nil},
	{"no subject, trailer paragraph only", "A: b\n", nil},
	{"blank first line then trailers", "\nA: b\n", []Trailer{{"A", "b"}}},
	{"body then trailer block", "Subj\n\nBody text.\n\nReviewed-by: Bob <b@x>\nRamp-Step: 3/7\n",
		[]Trailer{{"Reviewed-by", "Bob <b@x>"}, {"Ramp-Step", "3/7"}}},
	{"trailer-like middle paragraph, prose last", "Subj\n\nKey: value in the middle\nMore: y\n\nThanks, Bob\n", nil},
	{"only the last paragraph counts", "Subj\n\nA: b\n\nC: d\n", []Trailer{{"C", "d"}}},
	{"whitespace-only line splits paragraphs", "Subj\n\nA: b\n \nC: d\n", []Trailer{{"C", "d"}}},
	{"continuation lines unfold", "Subj\n\nRamp-Reason: a long\n  reason that\n\tcontinues\nRamp-Step: 1/2\n",
		[]Trailer{{"Ramp-Reason", "a long reason that continues"}, {"Ramp-Step", "1/2"}}},
	{"indented line before any trailer", "Subj\n\n  indented first\nA: b\n", nil},
	{"divider ends the message", "Subj\n\nA: b\n---\nC: d\n", []Trailer{{"A", "b"}}},
	{"divider with text after it", "Subj\n\nA: b\n--- a/file.go\n+++ b/file.go\n", []Trailer{{"A", "b"}}},
	{"trailers only after the divider", "Subj\n\nBody\n---\nA: b\n", nil},
	{"dashes glued to text are no divider", "Subj\n\nA: b\n---x\nC: d\n", nil},
	{"dashes at the very end are no divider", "Subj\n\nA: b\n---", nil},
	{"25% rule met with Signed-off-by", "Subj\n\nthis line is prose\nthis too\nthat as well\nSigned-off-by: A <a@x>\n",
		[]Trailer{{"Signed-off-by", "A <a@x>"}}},
	{"25% rule not met", "Subj\n\none\ntwo\nthree\nfour\nSigned-off-by: A <a@x>\n", nil},
	{"mixed block without a git-generated line", "Subj\n\nprose line\nA: b\n", nil},
	{"lower-case signed-off-by is not git-generated", "Subj\n\nprose\nsigned-off-by: A\n", nil},
	{"cherry-picked line counts but is not a trailer", "Subj\n\nprose\n(cherry picked from commit abc)\nA: b\n",
		[]Trailer{{"A", "b"}}},
	{"key with spaces is not a trailer", "Subj\n\nNot a key: value\n", nil},
	{"key with spaces next to Signed-off-by", "Subj\n\nSigned-off-by: A\nMy key: v\n", []Trailer{{"Signed-off-by", "A"}}},
	{"whitespace before the separator", "Subj\n\nBug  : 42\nA\t:b\n", []Trailer{{"Bug", "42"}, {"A", "b"}}},
	{"line starting with a separator", "Subj\n\n: not a key\nA: b\n", nil},
	{"key starting with a dash", "Subj\n\n-x: y\n", []Trailer{{"-x", "y"}}},
	{"non-ASCII key", "Subj\n\nGröße: 5\n", nil},
	{"CRLF line endings", "Subj\r\n\r\nA: b\r\nC: d\r\n", []Trailer{{"A", "b"}, {"C", "d"}}},
	{"CRLF continuation keeps the CR", "Subj\r\n\r\nA: b\r\n  c\r\n", []Trailer{{"A", "b\r c"}}},
	{"trailing blank lines", "Subj\n\nA: b\n\n\n", []Trailer{{"A", "b"}}},
	{"trailing whitespace-only lines", "Subj\n\nA: b\n  \n\t\n", []Trailer{{"A", "b"}}},
	{"no final newline", "Subj\n\nA: b", []Trailer{{"A", "b"}}},
	{"comment line inside the block", "Subj\n\nA: b\n# comment\nC: d\n", []Trailer{{"A", "b"}, {"C", "d"}}},
	{"comment lines after the block", "Subj\n\nA: b\n# Please enter the commit message\n#\n", []Trailer{{"A", "b"}}},
	{"comment line before the subject", "# comment\nSubj\n\nA: b\n", []Trailer{{"A", "b"}}},
	{"scissors line", "Subj\n\nA: b\n# ------------------------ >8 ------------------------\nB: c\n", []Trailer{{"A", "b"}}},
	{"old-style conflicts list", "Subj\n\nA: b\n\nConflicts:\n\tfile.go\n", []Trailer{{"A", "b"}}},
	{"empty values", "Subj\n\nA:\nB: \n", []Trailer{{"A", ""}, {"B", ""}}},
	{"value with colons", "Subj\n\nSee: https://example.com:8080/x\n", []Trailer{{"See", "https://example.com:8080/x"}}},
	{"value with = and quotes", "Subj\n\nRamp-Gate: name=p99 bound=\"<=1.2x stable\" reason=\"a \\\"q\\\" = b\"\n",
		[]Trailer{{"Ramp-Gate", `name=p99 bound="<=1.2x stable" reason="a \"q\" = b"`}}},
}

func TestParseTrailersMatchesGit(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got := Parse(tc.msg)
			if !sameTrailers(got, tc.want) {
				t.Errorf("Parse(%q)\n got %q\nwant %q", tc.msg, got, tc.want)
			}
			fromGit := parseGitOutput(interpretTrailers(t, tc.msg, "--parse"))
			if !sameTrailers(fromGit, tc.want) {
				t.Errorf("git interpret-trailers --parse on %q\n gave %q\n want %q", tc.msg, fromGit, tc.want)
			}
		})
	}
}

// FuzzParseTrailersMatchesGit checks ParseTrailers against the system git
// on arbitrary messages (seeded with the table above).
func FuzzParseTrailersMatchesGit(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.msg)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		if strings.ContainsRune(msg, 0) || scissorsAfterDivider(msg) {
			return // git reads up to a NUL; it hangs on a scissors line after a divider
		}
		want := parseGitOutput(interpretTrailers(t, msg, "--parse"))
		if got := Parse(msg); !sameTrailers(got, want) {
			t.Errorf("Parse(%q)\n got %q\ngit %q", msg, got, want)
		}
	})
}

func TestAppendTrailersMatchesGit(t *testing.T) {
	add := []Trailer{{"Ramp-Step", "3/7"}, {"Ramp-Reason", `p99 "x" = y`}}
	args := []string{"--trailer", "Ramp-Step: 3/7", "--trailer", `Ramp-Reason: p99 "x" = y`}
	for _, msg := range []string{
		"",
		"Subj",
		"Subj\n",
		"Subj\n\n",
		"Subj\n\nbody",
		"Subj\n\nbody\n",
		"Subj\n\nA: b\n",
		"Subj\n\nA: b",
		"Subj\n\nA : b\r\n  c\r\n# comment\nB: d\n\n\n",
		"Subj\n\nA: b\n---\npatch\n",
		"Subj\n\nprose\nSigned-off-by: x\n",
		"Subj\n\nKey: mid\n\nfinal words\n",
		"Subj\n\nA: b\n# trailing comment\n",
		"Subj\n\nA: b\n\nConflicts:\n\tx.go\n",
		"Subj\n\nRamp-Step: 2/7\nRamp-Reason: older\n",
		"Subj\r\n\r\nbody\r\n",
	} {
		got := Append(msg, add)
		// git glues trailers onto a last line without newline; ramp
		// completes the line first, so git gets the completed message.
		in := msg
		if in != "" && !strings.HasSuffix(in, "\n") {
			in += "\n"
		}
		want := dropTrailingBlankLines(interpretTrailers(t, in, args...))
		if got != want {
			t.Errorf("Append(%q)\n got %q\nwant %q (git)", msg, got, want)
		}
		if ts := Parse(got); len(ts) < 2 || !sameTrailers(ts[len(ts)-2:], add) {
			t.Errorf("Append(%q) = %q: trailers read back %q, want them to end with %q", msg, got, ts, add)
		}
	}
}

func TestAppendTrailersStartsBlockAfterBlankLine(t *testing.T) {
	got := Append("Deploy payment-api 2.4.0\n\nStep 3 of 7.", []Trailer{{"Ramp-Rollout", "payment-api"}})
	want := "Deploy payment-api 2.4.0\n\nStep 3 of 7.\n\nRamp-Rollout: payment-api\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAppendTrailersKeepsRepeatedTrailer(t *testing.T) {
	msg := "Subj\n\nRamp-Approved-By: principal=alice\n"
	add := []Trailer{{"Ramp-Approved-By", "principal=alice"}}
	got := Append(msg, add)
	want := "Subj\n\nRamp-Approved-By: principal=alice\nRamp-Approved-By: principal=alice\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if fromGit := interpretTrailers(t, msg, "--if-exists", "add", "--trailer", "Ramp-Approved-By: principal=alice"); fromGit != want {
		t.Errorf("git --if-exists add gave %q, want %q", fromGit, want)
	}
}

func TestAppendTrailersWritesLineBreaksAsSpaces(t *testing.T) {
	got := Append("Subj\n", []Trailer{{"Ramp-Reason", " a\n  b\r\nc \n"}, {"K", "v"}})
	want := "Subj\n\nRamp-Reason: a b c\nK: v\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	fromGit := parseGitOutput(interpretTrailers(t, got, "--parse"))
	if wantT := []Trailer{{"Ramp-Reason", "a b c"}, {"K", "v"}}; !sameTrailers(fromGit, wantT) {
		t.Errorf("git read back %q, want %q", fromGit, wantT)
	}
}

// interpretTrailers runs the system git's interpret-trailers on input,
// outside any repository and without user or system configuration.
func interpretTrailers(t testing.TB, input string, args ...string) string {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git not found in PATH: install git 2.39 (apt-get install git): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, git, append([]string{"interpret-trailers"}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + filepath.Join(dir, "no-such-config"),
		"GIT_CEILING_DIRECTORIES=" + filepath.Dir(dir),
	}
	cmd.Stdin = strings.NewReader(input)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git interpret-trailers %q on %q: %v: %s", args, input, err, stderr.String())
	}
	return string(out)
}

// parseGitOutput reads the "Key: value" lines of --parse output.
func parseGitOutput(out string) []Trailer {
	var ts []Trailer
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		key, value, _ := strings.Cut(line, ":")
		ts = append(ts, Trailer{Key: key, Value: strings.TrimPrefix(value, " ")})
	}
	return ts
}

// dropTrailingBlankLines ends s after its last line holding more than
// whitespace, with one newline.
func dropTrailingBlankLines(s string) string {
	lines := strings.Split(s, "\n")
	for len(lines) > 0 && strings.TrimLeft(lines[len(lines)-1], " \t\r") == "" {
		lines = lines[:len(lines)-1]
	}
	return strings.Join(lines, "\n") + "\n"
}

// scissorsAfterDivider reports a message on which git 2.39 loops forever:
// its first scissors line comes after a "---" divider line.
func scissorsAfterDivider(msg string) bool {
	i := strings.Index(msg, "\n"+cutLine)
	return !strings.HasPrefix(msg, cutLine) && i >= 0 && i+1 > patchStart(msg)
}

func sameTrailers(a, b []Trailer) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}
