package trailer

import "strings"

// Trailer is one "Key: value" line of a commit message's trailer block.
type Trailer struct {
	Key   string
	Value string
}

// The rules below are git's (trailer.c and commit.c, git 2.39) with the
// default configuration: ':' is the only separator, '#' starts a comment
// line and no trailer token is configured.
const (
	commentChar = '#'
	separators  = ":"
	// cutLine is the scissors line of "git commit -v"; git ignores it and
	// everything after it.
	cutLine = "# ------------------------ >8 ------------------------\n"
)

// gitGeneratedPrefixes are lines git itself writes; one of them lets a
// block hold non-trailer lines (up to three for each trailer).
var gitGeneratedPrefixes = []string{"Signed-off-by: ", "(cherry picked from commit "}

// Parse returns the trailers of a commit message, as
// `git interpret-trailers --parse` prints them: keys as written, values
// trimmed, continuation lines folded into one line.
func Parse(message string) []Trailer {
	var ts []Trailer
	for _, item := range findTrailerBlock(message).items {
		if t, ok := parseTrailerItem(item); ok {
			ts = append(ts, Trailer{Key: t.Key, Value: unfold(t.Value)})
		}
	}
	return ts
}

// Append adds trailers at the end of the message's trailer block,
// or after a blank line in a new block when the message has none, the way
// `git interpret-trailers --if-exists add --trailer 'Key: value'` does. Like
// git it rewrites the existing trailers as "Key: value" and drops comment
// lines inside the block.
//
// It differs from git in three ways: a message that does not end in a
// newline gets one first (git would glue the new block onto the last
// paragraph), the result ends in exactly one newline, and a value's line
// breaks are written as spaces (what git's unfolding would read back).
// Keys must be trailer tokens: letters, digits and '-'.
func Append(message string, trailers []Trailer) string {
	if message != "" && !strings.HasSuffix(message, "\n") {
		message += "\n"
	}
	block := findTrailerBlock(message)

	var b strings.Builder
	b.WriteString(message[:block.start])
	if !endsWithBlankLine(message[:block.start]) {
		b.WriteByte('\n')
	}
	for _, item := range block.items {
		if t, ok := parseTrailerItem(item); ok {
			writeTrailer(&b, t.Key, t.Value)
		} else if item[0] != commentChar {
			b.WriteString(strings.TrimSuffix(item, "\n"))
			b.WriteByte('\n')
		}
	}
	for _, t := range trailers {
		writeTrailer(&b, trimSpace(t.Key), oneLine(t.Value))
	}
	b.WriteString(message[block.end:])
	return endWithOneNewline(b.String())
}

// trailerBlock is where git finds a message's trailer block.
type trailerBlock struct {
	// start and end delimit the block in the message; start == end when
	// the message has no trailer block.
	start, end int
	// items are the block's lines, a continuation line joined to the
	// trailer line it continues (newlines kept).
	items []string
}

func findTrailerBlock(message string) trailerBlock {
	end := trailerEnd(message)
	start := trailerStart(message, end)
	return trailerBlock{start: start, end: end, items: blockItems(message[start:end])}
}

// trailerEnd is where the trailer block would end: before a "---" divider
// line, a scissors line, and the trailing run of comment lines, empty lines
// and an old-style "Conflicts:" list.
func trailerEnd(message string) int {
	n := patchStart(message)
	cut := n
	if strings.HasPrefix(message, cutLine) {
		cut = 0
	} else if i := strings.Index(message, "\n"+cutLine); i >= 0 && i+1 < n {
		// A scissors line after the divider is ignored here; git 2.39
		// loops forever on such a message.
		cut = i + 1
	}

	// runStart is the start of the trailing run; 0 means no run, so (as
	// in git) a run that starts the message is not noticed.
	runStart, inConflicts := 0, false
	for bol := 0; bol < cut; {
		next := n
		if i := strings.IndexByte(message[bol:n], '\n'); i >= 0 {
			next = bol + i + 1
		}
		switch c := message[bol]; {
		case c == commentChar || c == '\n':
			if runStart == 0 {
				runStart = bol
			}
		case strings.HasPrefix(message[bol:], "Conflicts:\n"):
			inConflicts = true
			if runStart == 0 {
				runStart = bol
			}
		case inConflicts && c == '\t':
			// a path in the conflicts list
		case runStart != 0:
			runStart, inConflicts = 0, false
		}
		bol = next
	}
	if runStart != 0 {
		return runStart
	}
	return cut
}

// patchStart is the start of the first line that is "---" followed by
// whitespace, or the message's length.
func patchStart(message string) int {
	for bol := 0; bol < len(message); bol = nextLine(message, bol) {
		if strings.HasPrefix(message[bol:], "---") && bol+3 < len(message) && isSpace(message[bol+3]) {
			return bol
		}
	}
	return len(message)
}

// trailerStart is where the trailer block in message[:end] starts, or end
// when there is none. The block is the last paragraph after the subject
// paragraph, when its lines are all trailers, or when it holds a
// git-generated line and at least one trailer per three other lines.
// Lines starting with whitespace continue the line before them.
func trailerStart(message string, end int) int {
	subjectEnd := 0
	for subjectEnd < end {
		if message[subjectEnd] != commentChar && isBlankLine(message[subjectEnd:]) {
			break
		}
		subjectEnd = nextLine(message, subjectEnd)
	}

	onlyBlank, gitGenerated := true, false
	trailers, others, continuations := 0, 0, 0
	for l := lastLine(message[:end]); l >= subjectEnd; l = lastLine(message[:l]) {
		line := message[l:]
		if line[0] == commentChar {
			others += continuations
			continuations = 0
			continue
		}
		if isBlankLine(line) {
			if onlyBlank {
				continue // blank lines at the end
			}
			others += continuations
			if (gitGenerated && trailers*3 >= others) || (trailers > 0 && others == 0) {
				return nextLine(message, l)
			}
			return end
		}
		onlyBlank = false

		switch {
		case hasGitGeneratedPrefix(line):
			trailers++
			continuations = 0
			gitGenerated = true
		case findSeparator(line) >= 1:
			trailers++
			continuations = 0
		case isSpace(line[0]):
			continuations++
		default:
			others += 1 + continuations
			continuations = 0
		}
	}
	return end
}

// blockItems splits a trailer block into lines, joining each continuation
// line (one starting with whitespace) to the trailer line before it.
func blockItems(block string) []string {
	var items []string
	continuable := false
	for bol := 0; bol < len(block); {
		next := nextLine(block, bol)
		line := block[bol:next]
		bol = next
		if continuable && isSpace(line[0]) {
			items[len(items)-1] += line
			continue
		}
		items = append(items, line)
		continuable = findSeparator(line) >= 1
	}
	return items
}

// parseTrailerItem splits a block item into its trimmed key and value;
// ok is false for comment lines and lines that are not trailers.
func parseTrailerItem(item string) (t Trailer, ok bool) {
	if item[0] == commentChar {
		return Trailer{}, false
	}
	sep := findSeparator(item)
	if sep < 1 {
		return Trailer{}, false
	}
	return Trailer{Key: trimSpace(item[:sep]), Value: trimSpace(item[sep+1:])}, true
}

// findSeparator returns the position of the separator in a line of the
// form "<token><optional whitespace><separator>…" (a token is letters,
// digits and '-'), 0 when the line starts with a separator, and -1 when
// the line has another form.
func findSeparator(line string) int {
	spaceSeen := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case strings.IndexByte(separators, c) >= 0:
			return i
		case !spaceSeen && (isAlnum(c) || c == '-'):
		case i > 0 && (c == ' ' || c == '\t'):
			spaceSeen = true
		default:
			return -1
		}
	}
	return -1
}

func hasGitGeneratedPrefix(line string) bool {
	for _, p := range gitGeneratedPrefixes {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

// unfold turns each line break of a value, with the whitespace after it,
// into one space.
func unfold(value string) string {
	if !strings.Contains(value, "\n") {
		return value
	}
	var b strings.Builder
	for i := 0; i < len(value); {
		c := value[i]
		i++
		if c != '\n' {
			b.WriteByte(c)
			continue
		}
		for i < len(value) && isSpace(value[i]) {
			i++
		}
		b.WriteByte(' ')
	}
	return trimSpace(b.String())
}

// oneLine is value trimmed, each line break and the whitespace around it
// turned into one space.
func oneLine(value string) string {
	value = trimSpace(value)
	if !strings.ContainsAny(value, "\r\n") {
		return value
	}
	lines := strings.FieldsFunc(value, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = trimSpace(lines[i])
	}
	return strings.Join(lines, " ")
}

func writeTrailer(b *strings.Builder, key, value string) {
	b.WriteString(key)
	b.WriteString(": ")
	b.WriteString(value)
	b.WriteByte('\n')
}

// endWithOneNewline drops trailing blank lines and ends s in one newline.
func endWithOneNewline(s string) string {
	s = strings.TrimRight(s, "\n")
	for s != "" {
		i := strings.LastIndexByte(s, '\n')
		if trimSpace(s[i+1:]) != "" {
			break
		}
		s = strings.TrimRight(s[:max(i, 0)], "\n")
	}
	return s + "\n"
}

// nextLine is the start of the line after the one at i.
func nextLine(s string, i int) int {
	if j := strings.IndexByte(s[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(s)
}

// lastLine is the start of the last line of s (a final newline belongs to
// that line), or -1 when s is empty.
func lastLine(s string) int {
	if s == "" {
		return -1
	}
	return strings.LastIndexByte(s[:len(s)-1], '\n') + 1
}

func endsWithBlankLine(s string) bool {
	l := lastLine(s)
	return l >= 0 && isBlankLine(s[l:])
}

// isBlankLine reports whether the line at the start of s holds only
// whitespace.
func isBlankLine(s string) bool {
	for i := 0; i < len(s) && s[i] != '\n'; i++ {
		if !isSpace(s[i]) {
			return false
		}
	}
	return true
}

// isSpace is git's isspace: ASCII space, tab, newline and carriage return.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func trimSpace(s string) string { return strings.Trim(s, " \t\n\r") }
