package gitsync

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-logr/logr"
)

// Open returns ramp's persistent clone of url in dir: a bare clone of
// branch, with no working tree (nothing ramp decides reads one).
//
// The clone is a cache of the remote and nothing else, so Open never asks
// a person to repair it. It checks what is there (see checkClone): the
// references are readable and point at commits that can be read, every
// pack has a sound index, origin is url, the branch is present. When
// anything is wrong, a clone left by a killed process included, it logs
// one line to the logger in ctx (named "cache") saying what and how long
// the rebuild took, and rebuilds the clone: a fresh clone in a sibling
// directory, renamed into place once complete. A missing or empty dir is
// cloned the same way, without the log line. A failed rebuild leaves the
// old clone as it was.
func Open(ctx context.Context, url, dir, branch string, auth Auth) (*Repo, error) {
	if branch == "" {
		return nil, fmt.Errorf("open %s: no branch given", redactURL(url))
	}
	method, err := auth.transportAuth(url)
	if err != nil {
		return nil, err
	}
	r := &Repo{dir: dir, url: url, branch: branch, auth: method, owned: true}
	if err := r.openOrRebuild(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// DefaultCloneDepth is the depth of the shallow clones of the controller
// (--clone-depth), `ramp run`, `ramp status` and `ramp plan` unless told
// otherwise: a first clone of the 1,000 newest commits takes a fraction of
// a full clone of a long history, and a derive deepens it only when a
// release in flight started further back.
const DefaultCloneDepth = 1000

// OpenShallow is Open, except that a first clone (or a rebuild) fetches
// only the depth newest commits of branch. A walk that needs more calls
// Deepen (history.Deriver.Deepen): a cold derive reads back only to the
// oldest release still in flight, so most never do.
func OpenShallow(ctx context.Context, url, dir, branch string, auth Auth, depth int) (*Repo, error) {
	if branch == "" {
		return nil, fmt.Errorf("open %s: no branch given", redactURL(url))
	}
	if depth <= 0 {
		return nil, fmt.Errorf("open %s: depth %d: want a positive number of commits", redactURL(url), depth)
	}
	method, err := auth.transportAuth(url)
	if err != nil {
		return nil, err
	}
	r := &Repo{dir: dir, url: url, branch: branch, auth: method, owned: true, depth: depth}
	if err := r.openOrRebuild(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Deepen fetches four times as many commits of the branch as the shallow
// clone has asked for so far, and reports whether the clone was shallow:
// false means there is nothing more to fetch (a full clone, or one that
// holds the whole history now). A clone reopened after a restart may
// already be deeper than the depth this Repo asked for: Deepen asks for
// four times more again until the clone's boundary moves, so a call that
// returns true always fetched more history.
func (r *Repo) Deepen(ctx context.Context) (bool, error) {
	shallow, err := r.repo.Storer.Shallow()
	if err != nil || len(shallow) == 0 || r.url == "" || r.depth <= 0 {
		return false, err
	}
	for r.depth <= maxDepth {
		r.depth *= 4
		still, err := r.fetchDepth(ctx)
		if err != nil {
			return false, err
		}
		if !slices.Equal(still, shallow) {
			return true, nil
		}
	}
	return false, nil
}

// fetchDepth fetches the r.depth newest commits of the branch and returns
// the clone's boundary commits afterwards.
func (r *Repo) fetchDepth(ctx context.Context) ([]plumbing.Hash, error) {
	tracking := plumbing.NewRemoteReferenceName(originName, r.branch)
	spec := config.RefSpec(fmt.Sprintf("+%s:%s", r.branchRef(), tracking))
	err := r.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: originName,
		RefSpecs:   []config.RefSpec{spec},
		Auth:       r.auth,
		Tags:       git.NoTags,
		Depth:      r.depth,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, remoteErr("deepen", r.url, r.branch, err)
	}
	// go-git adds the new boundary commits to the shallow list but keeps
	// the old ones, and adds commits whose parents the clone already has
	// when the clone was deeper than r.depth: keep only the commits whose
	// parents are still missing.
	all, err := r.repo.Storer.Shallow()
	if err != nil {
		return nil, err
	}
	var still []plumbing.Hash
	for _, h := range all {
		c, err := r.repo.CommitObject(h)
		if err != nil {
			still = append(still, h)
			continue
		}
		for _, p := range c.ParentHashes {
			if r.repo.Storer.HasEncodedObject(p) != nil {
				still = append(still, h)
				break
			}
		}
	}
	if err := r.repo.Storer.SetShallow(still); err != nil {
		return nil, err
	}
	return still, nil
}

// maxDepth is past any history: a clone deepened this far is complete.
const maxDepth = 1 << 28

var (
	// errNoClone is checkClone's finding for a missing or empty directory.
	errNoClone = errors.New("no clone yet")
	// errEmptyRef is a ref file a kill left empty.
	errEmptyRef = errors.New("ref file is empty")
)

// openOrRebuild opens the clone in r.dir when it passes checkClone, and
// rebuilds it otherwise. It holds <dir>.lock meanwhile, so two ramp
// processes sharing a cache directory never rebuild it at once.
func (r *Repo) openOrRebuild(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(r.dir), 0o755); err != nil {
		return fmt.Errorf("create the clone's parent directory: %w", err)
	}
	unlock, err := lockFile(r.dir + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	removeLeftovers(r.dir)
	repo, problem := checkClone(r.dir, r.url, r.branch, r.depth > 0)
	if problem == nil {
		r.repo = repo
		return nil
	}
	return r.rebuild(ctx, problem)
}

// heal checks the open clone again and rebuilds it when checkClone finds
// a problem; it reports whether it rebuilt. The loop calls it after a
// failed pass: a fetch into a clone a kill had damaged can fail only later.
func (r *Repo) heal(ctx context.Context) (bool, error) {
	if !r.owned {
		return false, nil
	}
	unlock, err := lockFile(r.dir + ".lock")
	if err != nil {
		return false, err
	}
	defer unlock()
	repo, problem := checkClone(r.dir, r.url, r.branch, r.depth > 0)
	if problem == nil {
		closeRepo(repo)
		return false, nil
	}
	return true, r.rebuild(ctx, problem)
}

// rebuild clones url afresh into a sibling of r.dir and renames it into
// place, then opens it. problem is why (errNoClone for a first clone).
// The caller holds the lock.
func (r *Repo) rebuild(ctx context.Context, problem error) error {
	start := time.Now()
	tmp, err := os.MkdirTemp(filepath.Dir(r.dir), filepath.Base(r.dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("create a directory for the clone: %w", err)
	}
	defer os.RemoveAll(tmp) // empty after the rename
	clone := filepath.Join(tmp, "clone")
	_, err = git.PlainCloneContext(ctx, clone, true, &git.CloneOptions{
		URL:           r.url,
		Auth:          r.auth,
		RemoteName:    originName,
		ReferenceName: r.branchRef(),
		SingleBranch:  true,
		Tags:          git.NoTags,
		Depth:         r.depth,
	})
	if err != nil {
		err = remoteErr("clone", r.url, r.branch, err)
		if !errors.Is(problem, errNoClone) {
			err = fmt.Errorf("the clone in %s cannot be used (%v) and cloning it again failed: %w", r.dir, problem, err)
		}
		return err
	}
	if err := swapDir(clone, r.dir); err != nil {
		return fmt.Errorf("move the new clone into %s: %w", r.dir, err)
	}
	repo, err := plainOpen(r.dir)
	if err != nil {
		return fmt.Errorf("open the new clone in %s: %w", r.dir, err)
	}
	closeRepo(r.repo)
	r.repo = repo
	if !errors.Is(problem, errNoClone) {
		logr.FromContextOrDiscard(ctx).WithName("cache").Info("rebuilt the clone", "dir", r.dir,
			"problem", problem.Error(), "took", time.Since(start).Round(time.Millisecond).String())
	}
	return nil
}

// closeRepo releases the packfiles repo keeps open (see plainOpen).
func closeRepo(repo *git.Repository) {
	if repo == nil {
		return
	}
	if c, ok := repo.Storer.(io.Closer); ok {
		c.Close()
	}
}

// swapDir puts the complete directory src at dst. A directory already at
// dst is first renamed aside and then removed: a kill in between leaves
// dst missing, which the next open clones, never a half-written dst.
func swapDir(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		old, err := os.MkdirTemp(filepath.Dir(dst), filepath.Base(dst)+".old-")
		if err != nil {
			return err
		}
		if err := os.Rename(dst, filepath.Join(old, "clone")); err != nil {
			os.Remove(old)
			return err
		}
		defer os.RemoveAll(old)
	}
	return os.Rename(src, dst)
}

// removeLeftovers deletes what killed clones and swaps left beside dir:
// <dir>.tmp-* and <dir>.old-*. Only a holder of <dir>.lock makes them.
func removeLeftovers(dir string) {
	entries, _ := os.ReadDir(filepath.Dir(dir))
	base := filepath.Base(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), base+".tmp-") || strings.HasPrefix(e.Name(), base+".old-") {
			os.RemoveAll(filepath.Join(filepath.Dir(dir), e.Name()))
		}
	}
}

// checkClone opens the bare clone in dir and checks that ramp can work in
// it: origin is url; every reference reads and points at an object there;
// the branch and its remote-tracking ref point at commits whose trees
// read; every pack has an index that decodes, checksum included, and
// belongs to it; a shallow clone's list of boundary commits reads, and a
// shallow clone is what was asked for (shallow: OpenShallow; Open wants
// the whole history, which a shallow clone cannot give without Deepen).
// It returns the open repository, or what is wrong (errNoClone for a
// missing or empty dir).
func checkClone(dir, url, branch string, shallow bool) (*git.Repository, error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist) || err == nil && len(entries) == 0:
		return nil, errNoClone
	case err != nil:
		return nil, err
	}
	if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
		return nil, errors.New("a clone with a working tree (a first clone cut short, or made by an earlier ramp): ramp keeps a bare clone")
	}
	if head, err := os.ReadFile(filepath.Join(dir, "HEAD")); err == nil && len(head) == 0 {
		return nil, fmt.Errorf("HEAD: %w", errEmptyRef)
	}
	if err := checkShallow(dir, shallow); err != nil {
		return nil, err
	}
	repo, err := plainOpen(dir)
	if err != nil {
		return nil, fmt.Errorf("not a git repository: %w", err)
	}
	if err := checkRepo(repo, dir, url, branch); err != nil {
		closeRepo(repo)
		return nil, err
	}
	return repo, nil
}

// checkShallow checks the shallow file of the clone in dir, when there is
// one: ramp writes it atomically and removes it once the clone is
// complete (refStore.SetShallow), so an empty one, or one with a line that
// is not a commit hash, is what a kill left of it, and a walk would take
// the clone for complete and fail at its boundary. A shallow clone where
// a full one is wanted is not used either.
func checkShallow(dir string, want bool) error {
	data, err := os.ReadFile(filepath.Join(dir, shallowFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("%s: %w", shallowFile, err)
	case len(data) == 0:
		return fmt.Errorf("%s: the list of boundary commits is empty", shallowFile)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for i, line := range lines {
		if len(line) != 2*sha1.Size || strings.Trim(line, "0123456789abcdef") != "" {
			return fmt.Errorf("%s:%d: %q is not a commit hash", shallowFile, i+1, line)
		}
	}
	if !want {
		return fmt.Errorf("a shallow clone (%d boundary commits): a full clone is wanted", len(lines))
	}
	return nil
}

func checkRepo(repo *git.Repository, dir, url, branch string) error {
	cfg, err := repo.Config()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	origin := cfg.Remotes[originName]
	switch {
	case origin == nil || len(origin.URLs) == 0:
		return errors.New("no origin remote")
	case !sameURL(origin.URLs[0], url):
		return fmt.Errorf("a clone of %s, not %s", redactURL(origin.URLs[0]), redactURL(url))
	}
	if err := checkPacks(dir); err != nil {
		return err
	}
	for _, name := range []plumbing.ReferenceName{
		plumbing.NewBranchReferenceName(branch), plumbing.NewRemoteReferenceName(originName, branch), plumbing.HEAD,
	} {
		ref, err := repo.Reference(name, true)
		if err != nil {
			// go-git reads an empty ref file as a missing ref.
			if fi, serr := os.Stat(filepath.Join(dir, name.String())); serr == nil && fi.Size() == 0 {
				err = errEmptyRef
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		c, err := repo.CommitObject(ref.Hash())
		if err != nil {
			return fmt.Errorf("%s: commit %s: %w", name, ref.Hash(), err)
		}
		if _, err := c.Tree(); err != nil {
			return fmt.Errorf("%s: tree of %s: %w", name, ref.Hash(), err)
		}
	}
	refs, err := repo.Storer.IterReferences()
	if err != nil {
		return fmt.Errorf("references: %w", err)
	}
	err = refs.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() != plumbing.HashReference {
			return nil
		}
		if _, err := repo.Storer.EncodedObject(plumbing.AnyObject, ref.Hash()); err != nil {
			return fmt.Errorf("%s points at %s: %w", ref.Name(), ref.Hash(), err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("references: %w", err)
	}
	return nil
}

// checkPacks checks the index of every pack in the clone in dir: a pack
// whose index a kill cut short, or that a later fetch paired with such an
// index, reads as missing objects. An index is sound when it ends with
// the SHA-1 of what precedes it, and it is the pack's when the pack
// checksum it holds is the one the pack ends with.
func checkPacks(dir string) error {
	packs, err := filepath.Glob(filepath.Join(dir, "objects", "pack", "pack-*.pack"))
	if err != nil {
		return err
	}
	for _, pack := range packs {
		name := filepath.Base(pack)
		idx, err := os.ReadFile(strings.TrimSuffix(pack, ".pack") + ".idx")
		if err != nil {
			return fmt.Errorf("pack %s: index: %w", name, err)
		}
		// A version 2 index: header, fan-out table, ..., the pack's
		// checksum and its own.
		const sum = sha1.Size
		if len(idx) < 8+256*4+2*sum || !bytes.Equal(idx[:4], []byte("\377tOc")) {
			return fmt.Errorf("pack %s: index is cut short or not an index (%d bytes)", name, len(idx))
		}
		if own := sha1.Sum(idx[:len(idx)-sum]); !bytes.Equal(own[:], idx[len(idx)-sum:]) {
			return fmt.Errorf("pack %s: index checksum mismatch", name)
		}
		trailer, err := packChecksum(pack)
		if err != nil {
			return fmt.Errorf("pack %s: %w", name, err)
		}
		if !bytes.Equal(trailer, idx[len(idx)-2*sum:len(idx)-sum]) {
			return fmt.Errorf("pack %s: its index belongs to another pack", name)
		}
	}
	return nil
}

// packChecksum reads the checksum a pack file ends with.
func packChecksum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sum := make([]byte, sha1.Size)
	if _, err := f.Seek(-int64(len(sum)), io.SeekEnd); err != nil {
		return nil, fmt.Errorf("too short: %w", err)
	}
	if _, err := io.ReadFull(f, sum); err != nil {
		return nil, err
	}
	return sum, nil
}
