package gitsync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/history"
)

// TestEncodeTreeWritesWhatGoGitsEncoderWrites: for trees of every entry
// mode, names that sort differently as a directory (a "b" directory
// sorts after "b.txt", a "b" file before it) and a wide directory, the
// encoding is byte for byte go-git's; unsorted entries and a name with a
// zero byte are refused as go-git refuses them.
func TestEncodeTreeWritesWhatGoGitsEncoderWrites(t *testing.T) {
	h := func(i int) plumbing.Hash {
		return plumbing.ComputeHash(plumbing.BlobObject, []byte{byte(i), byte(i >> 8)})
	}
	wide := make([]object.TreeEntry, 600)
	for i := range wide {
		wide[i] = object.TreeEntry{Name: "r" + string(rune('a'+i/26/26%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i%26)), Mode: filemode.Dir, Hash: h(i)}
	}
	for name, entries := range map[string][]object.TreeEntry{
		"modes": {
			{Name: "a.sh", Mode: filemode.Executable, Hash: h(1)},
			{Name: "b.txt", Mode: filemode.Regular, Hash: h(2)},
			{Name: "b", Mode: filemode.Dir, Hash: h(3)},
			{Name: "link", Mode: filemode.Symlink, Hash: h(4)},
			{Name: "sub", Mode: filemode.Submodule, Hash: h(5)},
			{Name: "z", Mode: filemode.Deprecated, Hash: h(6)},
		},
		"file before its dotted sibling": {
			{Name: "b", Mode: filemode.Regular, Hash: h(1)},
			{Name: "b.txt", Mode: filemode.Regular, Hash: h(2)},
		},
		"empty": {},
		"twice the same name (go-git does not refuse it)": {{Name: "a", Mode: filemode.Regular, Hash: h(1)}, {Name: "a", Mode: filemode.Regular, Hash: h(2)}},
		"wide": wide,
	} {
		want := &plumbing.MemoryObject{}
		if err := (&object.Tree{Entries: entries}).Encode(want); err != nil {
			t.Fatalf("%s: go-git: %v", name, err)
		}
		rd, _ := want.Reader()
		wantBytes, _ := io.ReadAll(rd)
		got, err := encodeTree(entries)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(got, wantBytes) {
			t.Errorf("%s: encoded\n%q\nwant\n%q", name, got, wantBytes)
		}
	}
	for name, entries := range map[string][]object.TreeEntry{
		"unsorted":           {{Name: "b", Mode: filemode.Regular, Hash: h(1)}, {Name: "a", Mode: filemode.Regular, Hash: h(2)}},
		"dir after its file": {{Name: "b.txt", Mode: filemode.Regular, Hash: h(1)}, {Name: "b", Mode: filemode.Regular, Hash: h(2)}},
	} {
		goGit := (&object.Tree{Entries: entries}).Encode(&plumbing.MemoryObject{})
		if _, err := encodeTree(entries); !errors.Is(err, object.ErrEntriesNotSorted) || goGit == nil {
			t.Errorf("%s: encodeTree: %v, go-git: %v; want both refused", name, err, goGit)
		}
	}
	if _, err := encodeTree([]object.TreeEntry{{Name: "a\x00b", Mode: filemode.Regular, Hash: h(1)}}); err == nil {
		t.Error("a name with a zero byte is encoded")
	}
}

// TestObjectHashIsTheNameGitGivesIt: the hash the committer gives a tree
// it encoded (crypto/sha1), a blob and a commit is the one the system
// git's hash-object gives the same bytes.
func TestObjectHashIsTheNameGitGivesIt(t *testing.T) {
	var entries []object.TreeEntry
	for i := range 300 {
		entries = append(entries, object.TreeEntry{Name: fmt.Sprintf("r%03d", i), Mode: filemode.Dir,
			Hash: plumbing.ComputeHash(plumbing.BlobObject, []byte{byte(i), byte(i >> 8)})})
	}
	tree, err := encodeTree(entries)
	if err != nil {
		t.Fatal(err)
	}
	commit := []byte("tree " + objectHash(plumbing.TreeObject, tree).String() + "\nauthor a <a@b> 1 +0000\ncommitter a <a@b> 1 +0000\n\nm\n")
	for _, o := range []struct {
		t       plumbing.ObjectType
		content []byte
	}{{plumbing.TreeObject, tree}, {plumbing.TreeObject, nil}, {plumbing.BlobObject, []byte("weight: 10\n")}, {plumbing.CommitObject, commit}} {
		cmd := exec.Command("git", "hash-object", "-t", o.t.String(), "--stdin")
		cmd.Stdin = bytes.NewReader(o.content)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git hash-object -t %s: %v", o.t, err)
		}
		if got, want := objectHash(o.t, o.content).String(), strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s of %d bytes: %s, git names it %s", o.t, len(o.content), got, want)
		}
	}
}

// TestAPassEditsItsOwnTreesIntoTheirEncodings: a pass edits the routes of
// 600 rollouts sharing apps/ one after the other, each edit on the tree
// the last one wrote (whose encoding it changes in place of encoding it
// again), and some twice; every tree it writes is byte for byte the
// encoding of its entries, and the system git reads the same entries
// from the pass's pack.
func TestAPassEditsItsOwnTreesIntoTheirEncodings(t *testing.T) {
	store := memory.NewStorage()
	blob := func(content string) plumbing.Hash {
		h, err := writeBlob(store, []byte(content))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	tree := func(entries []object.TreeEntry) plumbing.Hash { return gittest.StoreTree(t, store, entries) }
	var apps []object.TreeEntry
	for i := range 600 {
		name := fmt.Sprintf("r%03d", i)
		dir := tree([]object.TreeEntry{
			{Name: "canary.yaml", Mode: filemode.Regular, Hash: blob(name + " canary")},
			{Name: "route.yaml", Mode: filemode.Regular, Hash: blob(name + " route 0")},
		})
		apps = append(apps, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: dir})
	}
	root, err := object.GetTree(store, tree([]object.TreeEntry{
		{Name: "README.md", Mode: filemode.Regular, Hash: blob("readme")},
		{Name: "apps", Mode: filemode.Dir, Hash: tree(apps)},
	}))
	if err != nil {
		t.Fatal(err)
	}
	p := newPassStore(store)
	for step := range 700 {
		name := fmt.Sprintf("r%03d", step%600)
		h, err := EditTree(p, root, map[string][]byte{"apps/" + name + "/route.yaml": []byte(fmt.Sprintf("%s route %d", name, step+1))})
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if root, err = p.tree(h); err != nil {
			t.Fatal(err)
		}
		for _, e := range root.Entries {
			if e.Mode != filemode.Dir {
				continue
			}
			written := p.objects[e.Hash].(*rawObject).data
			decoded, err := p.tree(e.Hash)
			if err != nil {
				t.Fatal(err)
			}
			want, err := encodeTree(decoded.Entries)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(written, want) {
				t.Fatalf("step %d: apps/ written is not the encoding of its entries", step)
			}
			if got := objectHash(plumbing.TreeObject, want); got != e.Hash {
				t.Fatalf("step %d: apps/ is named %s, its encoding hashes to %s", step, e.Hash, got)
			}
			if i := history.EntryIndex(decoded.Entries, name); decoded.Entries[i].Hash == apps[step%600].Hash {
				t.Fatalf("step %d: %s unchanged in apps/", step, name)
			}
		}
	}

	// The system git reads the last apps/ from the pass's pack.
	pack, err := p.pack()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "--quiet", "--bare", dir}, {"-C", dir, "index-pack", "--stdin"}} {
		cmd := exec.Command("git", args...)
		if args[0] == "-C" {
			cmd.Stdin = bytes.NewReader(pack)
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	appsHash := root.Entries[history.EntryIndex(root.Entries, "apps")].Hash
	out, err := exec.Command("git", "-C", dir, "cat-file", "-p", appsHash.String()).Output()
	if err != nil {
		t.Fatalf("git cat-file -p %s: %v", appsHash, err)
	}
	if lines := strings.Count(string(out), "\n"); lines != 600 {
		t.Fatalf("git reads %d entries in apps/, want 600", lines)
	}
	last := fmt.Sprintf("r%03d", 699%600)
	if !strings.Contains(string(out), "\t"+last+"\n") {
		t.Fatalf("git's apps/ lacks %s", last)
	}
}
