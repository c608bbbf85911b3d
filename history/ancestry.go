package history

import (
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ancestrySlack bounds the walk that decides whether an applied revision
// descends from a step's commit: commits made more than this long before
// the step's commit are not searched (their descendants would need a
// clock that far behind).
const ancestrySlack = 24 * time.Hour

// Descends reports whether commit has ancestor among its ancestors (or is
// it), walking back no further than ancestrySlack before ancestor's time.
func Descends(s storer.EncodedObjectStorer, commit, ancestor plumbing.Hash) (bool, error) {
	anc, err := object.GetCommit(s, ancestor)
	if err != nil {
		return false, err
	}
	start, err := object.GetCommit(s, commit)
	if err != nil {
		return false, err
	}
	floor := anc.Committer.When.Add(-ancestrySlack)
	found := false
	visited := map[plumbing.Hash]bool{}
	queue := []*object.Commit{start}
	for len(queue) > 0 && !found {
		c := queue[0]
		queue = queue[1:]
		if visited[c.Hash] {
			continue
		}
		visited[c.Hash] = true
		if c.Hash == ancestor {
			found = true
			break
		}
		if c.Committer.When.Before(floor) {
			continue
		}
		err := c.Parents().ForEach(func(p *object.Commit) error {
			queue = append(queue, p)
			return nil
		})
		if err != nil {
			return false, err
		}
	}
	return found, nil
}
