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
