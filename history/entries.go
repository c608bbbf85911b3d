package history

import (
	"sort"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// CompareEntries orders tree entries as git sorts them: by name, a
// directory's name read with a trailing slash. Entries of the same name
// compare equal whatever their modes.
func CompareEntries(a, b object.TreeEntry) int {
	if a.Name == b.Name {
		return 0
	}
	return compareKeys(a.Name, a.Mode == filemode.Dir, b.Name, b.Mode == filemode.Dir)
}

// compareKeys compares two names in git's order, each read with a
// trailing slash when dir says it is a directory's: for decoded entries
// (strings) and raw ones (bytes) alike.
func compareKeys[A, B ~string | ~[]byte](a A, adir bool, b B, bdir bool) int {
	for i := 0; ; i++ {
		ka, kb := keyByte(a, adir, i), keyByte(b, bdir, i)
		if ka != kb || ka < 0 {
			return ka - kb
		}
	}
}

// keyByte is byte i of name as git sorts it (a directory's with a
// trailing slash), or -1 past its end.
func keyByte[N ~string | ~[]byte](name N, dir bool, i int) int {
	switch {
	case i < len(name):
		return int(name[i])
	case i == len(name) && dir:
		return '/'
	default:
		return -1
	}
}

// EntryIndex returns the index of the entry called name in entries, or
// -1, as object.Tree's FindEntry finds it in a tree it decoded: a file of
// that name before a directory of that name, and of two the first. It
// does not allocate: FindEntry looks through a tree it did not decode
// (one a pass made) entry by entry, making a string of every directory's
// name, and a pass over N rollouts sharing a directory reads N trees of
// N entries. Entries in git's order are found by two binary searches
// (name as a file's, then as a directory's); an entry not found so is
// looked for in order, so an entry of an unsorted tree (which git never
// writes) is found too, if not always the one FindEntry would find.
func EntryIndex(entries []object.TreeEntry, name string) int {
	for _, dir := range []bool{false, true} {
		i := sort.Search(len(entries), func(i int) bool { return !keyBefore(entries[i], name, dir) })
		if i < len(entries) && entries[i].Name == name {
			return i
		}
	}
	for i, e := range entries {
		if e.Name == name {
			return i
		}
	}
	return -1
}

// keyBefore reports whether entry e sorts before name in git's order,
// name read as a directory's (with a trailing slash) when dir is set.
func keyBefore(e object.TreeEntry, name string, dir bool) bool {
	return compareKeys(e.Name, e.Mode == filemode.Dir, name, dir) < 0
}

// FindEntry returns the entry called name in tree t, as EntryIndex finds
// it, and whether there is one.
func FindEntry(t *object.Tree, name string) (*object.TreeEntry, bool) {
	i := EntryIndex(t.Entries, name)
	if i < 0 {
		return nil, false
	}
	return &t.Entries[i], true
}
