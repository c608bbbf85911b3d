package history

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// TestEntryIndexFindsWhatFindEntryFinds compares EntryIndex with go-git's
// FindEntry on trees it decoded, whose names share prefixes and differ in
// the bytes around '/' (where a directory sorts apart from a file of its
// name), in git's order with and without a name held twice, on names
// present and absent; on shuffled trees, an entry of the name is found
// whenever there is one.
func TestEntryIndexFindsWhatFindEntryFinds(t *testing.T) {
	alphabet := []string{"a", "b", "-", ".", "0", "!", "~", "_"}
	rnd := rand.New(rand.NewPCG(1, 2))
	name := func() string {
		for {
			s := ""
			for range 1 + rnd.IntN(4) {
				s += alphabet[rnd.IntN(len(alphabet))]
			}
			if s != "." && s != ".." { // no name git can hold
				return s
			}
		}
	}
	checked := 0
	for round := range 3000 {
		var entries []object.TreeEntry
		for range rnd.IntN(40) {
			mode := filemode.Regular
			if rnd.IntN(2) == 0 {
				mode = filemode.Dir
			}
			var h plumbing.Hash
			h[0], h[1] = byte(round), byte(len(entries))
			entries = append(entries, object.TreeEntry{Name: name(), Mode: mode, Hash: h})
		}
		switch round % 3 {
		case 0: // git's order, no name twice
			slices.SortStableFunc(entries, bySortName)
			entries = slices.CompactFunc(entries, func(a, b object.TreeEntry) bool { return a.Name == b.Name })
		case 1: // git's order, a name may be there twice
			slices.SortStableFunc(entries, bySortName)
		case 2: // as drawn: the scan's answer is the first of the name
		}
		for _, e := range entries {
			if e.Mode == filemode.Dir && slices.ContainsFunc(entries, func(o object.TreeEntry) bool { return o.Name == e.Name+"-" }) {
				checked++ // a directory with a name between it and its file key
			}
		}
		queries := []string{name(), name(), name()}
		for _, e := range entries {
			queries = append(queries, e.Name)
		}
		var decoded *object.Tree
		if round%3 != 2 {
			decoded = decodedTree(t, entries)
		}
		for _, q := range queries {
			got, ok := FindEntry(&object.Tree{Entries: entries}, q)
			var want *object.TreeEntry
			if round%3 == 2 {
				// Unsorted (which git never writes): an entry of the name,
				// the one the search meets or else the first.
				if i := slices.IndexFunc(entries, func(e object.TreeEntry) bool { return e.Name == q }); i >= 0 {
					want = &entries[i]
					if ok && got.Name == q {
						want = got
					}
				}
			} else if e, err := decoded.FindEntry(q); err == nil {
				want = e
			}
			if (want != nil) != ok {
				t.Fatalf("round %d: %q in %v: found %v, want %v", round, q, entries, ok, want != nil)
			}
			if ok && *got != *want {
				t.Fatalf("round %d: %q in %v: got %v, want %v", round, q, entries, *got, *want)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no tree had a directory with a name sorting between its name and its name with a slash")
	}
}

// TestEntryIndexSearchesATreeInGitsOrder shows the lookup is a search,
// not a scan: in a sorted tree, a name is found by its place, so an entry
// out of place is not found where a scan would find it; in a tree with
// that name nowhere in its place, the scan finds it.
func TestEntryIndexSearchesATreeInGitsOrder(t *testing.T) {
	e := func(name string, mode filemode.FileMode, b byte) object.TreeEntry {
		return object.TreeEntry{Name: name, Mode: mode, Hash: plumbing.Hash{b}}
	}
	sorted := []object.TreeEntry{e("a", filemode.Regular, 1), e("b", filemode.Regular, 2), e("c", filemode.Dir, 3), e("c-d", filemode.Regular, 4), e("d", filemode.Regular, 5)}
	for i, x := range sorted {
		if got := EntryIndex(sorted, x.Name); got != i {
			t.Errorf("%s: index %d, want %d", x.Name, got, i)
		}
	}
	if got := EntryIndex(sorted, "c-"); got != -1 {
		t.Errorf("c-: index %d, want -1", got)
	}
	unsorted := []object.TreeEntry{e("d", filemode.Regular, 5), e("a", filemode.Regular, 1)}
	if got := EntryIndex(unsorted, "d"); got != 0 {
		t.Errorf("an unsorted tree: d at %d, want 0 (found by the scan)", got)
	}
	both := []object.TreeEntry{e("c", filemode.Regular, 1), e("c-d", filemode.Regular, 2), e("c", filemode.Dir, 3)}
	if got := EntryIndex(both, "c"); got != 0 {
		t.Errorf("a file and a directory called c: index %d, want 0 (the file, as FindEntry)", got)
	}
}

// decodedTree is the tree of entries as go-git decodes it from its
// encoding (which tells FindEntry whether it is sorted).
func decodedTree(t *testing.T, entries []object.TreeEntry) *object.Tree {
	t.Helper()
	var o plumbing.MemoryObject
	if err := (&object.Tree{Entries: entries}).Encode(&o); err != nil {
		t.Fatal(err)
	}
	var tree object.Tree
	if err := tree.Decode(&o); err != nil {
		t.Fatal(err)
	}
	return &tree
}

// bySortName is git's order of tree entries: by name, a directory's with
// a trailing slash (so a file and a directory of one name are ordered).
func bySortName(a, b object.TreeEntry) int {
	key := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	return strings.Compare(key(a), key(b))
}

// TestScanFindsWhatAWholeReadFinds compares the scan's lookup in raw
// trees (a search when the tree is in git's order), and in the decoded
// trees a pass hands over, with reading the whole tree: the same entry,
// and a name held twice (as one kind, or as a file and a directory) or an
// unsorted tree answering as a whole read does.
func TestScanFindsWhatAWholeReadFinds(t *testing.T) {
	store := memory.NewStorage()
	rnd := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "-", ".", "0", "~"}
	name := func() string {
		for {
			s := ""
			for range 1 + rnd.IntN(3) {
				s += alphabet[rnd.IntN(len(alphabet))]
			}
			if s != "." && s != ".." {
				return s
			}
		}
	}
	twice := 0
	for round := range 1500 {
		var entries []object.TreeEntry
		for i := range rnd.IntN(30) {
			mode := filemode.Regular
			if rnd.IntN(2) == 0 {
				mode = filemode.Dir
			}
			entries = append(entries, object.TreeEntry{Name: name(), Mode: mode, Hash: plumbing.Hash{byte(round), byte(i), 1}})
		}
		if round%4 != 3 {
			slices.SortStableFunc(entries, bySortName)
		}
		if round%4 == 0 {
			entries = slices.CompactFunc(entries, func(a, b object.TreeEntry) bool { return a.Name == b.Name })
		}
		var raw []byte
		for _, e := range entries {
			raw = fmt.Appendf(raw, "%o %s\x00", uint32(e.Mode), e.Name)
			raw = append(raw, e.Hash[:]...)
		}
		o := store.NewEncodedObject()
		o.SetType(plumbing.TreeObject)
		w, _ := o.Writer()
		w.Write(raw)
		w.Close()
		h, err := store.SetEncodedObject(o)
		if err != nil {
			t.Fatal(err)
		}
		sc := newScan(newWalker(store))
		queries := []string{name(), name()}
		for _, e := range entries {
			queries = append(queries, e.Name)
		}
		for _, q := range queries {
			var want entryAt
			n := 0
			for _, e := range entries {
				if e.Name == q {
					n++
					want.hash = e.Hash
				}
			}
			switch n {
			case 0:
				want = entryAt{ok: true}
			case 1:
				want.found, want.ok = true, true
			default:
				want = entryAt{}
				twice++
			}
			if got := sc.find(h, q, false); got != want {
				t.Fatalf("round %d: %q in %v: %+v, want %+v", round, q, entries, got, want)
			}
			if round%4 != 3 {
				// As a pass's directory, decoded and in git's order.
				if got := findDecoded(entries, q); got != want {
					t.Fatalf("round %d: %q in decoded %v: %+v, want %+v", round, q, entries, got, want)
				}
			}
		}
	}
	if twice == 0 {
		t.Fatal("no tree held a name twice")
	}
}

// countingStore counts the reads of each object.
type countingStore struct {
	*memory.Storage
	reads map[plumbing.Hash]int
}

func (s *countingStore) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	s.reads[h]++
	return s.Storage.EncodedObject(t, h)
}

// TestScanReadsAWideTreeOnceForItsRollouts: the commit that starts a
// release of N rollouts sharing apps/ has each rollout's files compared
// in it and its parent, between them the small trees of each rollout; the
// two wide apps/ trees are read (and parsed) once each, not once per
// rollout.
func TestScanReadsAWideTreeOnceForItsRollouts(t *testing.T) {
	store := &countingStore{Storage: memory.NewStorage(), reads: map[plumbing.Hash]int{}}
	put := func(entries []object.TreeEntry) plumbing.Hash { return gittest.StoreTree(t, store, entries) }
	const n = 300
	var roots [2]plumbing.Hash
	var apps [2]plumbing.Hash
	for side := range 2 {
		var dirs []object.TreeEntry
		for i := range n {
			var files []object.TreeEntry
			for _, f := range []string{"canary", "route.yaml", "stable"} {
				h := plumbing.Hash{byte(side), byte(i), byte(i >> 8), f[0]}
				mode := filemode.Regular
				if f != "route.yaml" {
					h, mode = put([]object.TreeEntry{{Name: "kustomization.yaml", Mode: filemode.Regular, Hash: h}}), filemode.Dir
				}
				files = append(files, object.TreeEntry{Name: f, Mode: mode, Hash: h})
			}
			dirs = append(dirs, object.TreeEntry{Name: fmt.Sprintf("r%03d", i), Mode: filemode.Dir, Hash: put(files)})
		}
		apps[side] = put(dirs)
		roots[side] = put([]object.TreeEntry{{Name: "apps", Mode: filemode.Dir, Hash: apps[side]}})
	}
	sc := newScan(newWalker(store))
	for i := range n {
		for _, f := range []string{"canary/kustomization.yaml", "route.yaml", "stable/kustomization.yaml"} {
			if sc.same(roots[0], roots[1], fmt.Sprintf("apps/r%03d/%s", i, f)) {
				t.Fatalf("r%03d/%s: the same on both sides, want changed", i, f)
			}
		}
	}
	for side, h := range apps {
		if got := store.reads[h]; got != 1 {
			t.Errorf("apps/ of side %d read %d times, want once", side, got)
		}
	}
}
