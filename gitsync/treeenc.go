package gitsync

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/history"
)

// encodeTree returns the encoding of a tree with entries, as git (and
// object.Tree's Encode) writes it: per entry its mode in octal, a space,
// its name, a zero byte and its hash. It is written into one buffer sized
// first: a pass writes N trees of N entries, and an encoder that formats
// and writes each entry on its own makes that N² small writes. Entries
// must be in git's order and names free of zero bytes, as Encode requires.
func encodeTree(entries []object.TreeEntry) ([]byte, error) {
	size := 0
	for i, e := range entries {
		if strings.IndexByte(e.Name, 0) >= 0 {
			return nil, fmt.Errorf("malformed filename %q", e.Name)
		}
		if i > 0 && history.CompareEntries(entries[i-1], e) > 0 {
			return nil, object.ErrEntriesNotSorted
		}
		size += 7 + 1 + len(e.Name) + 1 + len(e.Hash)
	}
	b := make([]byte, 0, size)
	for _, e := range entries {
		b = strconv.AppendUint(b, uint64(e.Mode), 8)
		b = append(b, ' ')
		b = append(b, e.Name...)
		b = append(b, 0)
		b = append(b, e.Hash[:]...)
	}
	return b, nil
}
