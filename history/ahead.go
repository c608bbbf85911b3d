package history

import (
	"github.com/go-git/go-git/v5/plumbing"
)

// aheadBatch is how many commits the reader ahead hands over at once.
const aheadBatch = 64

// aheadDepth bounds how many batches it reads ahead of the walk: memory
// stays flat however long the history.
const aheadDepth = 8

// readAhead follows the first-parent chain from tip on its own goroutine,
// inflating and parsing each commit from the packs, while the walk reads
// trees: a second core does the commits. It reads only the packs (never
// the repository's storage, which is not safe for two goroutines): at a
// commit it cannot read there it stops, and the walk reads on itself
// (next returns ok false from there on). stop ends it early.
type readAhead struct {
	batches <-chan []rawCommit
	batch   []rawCommit
	done    chan struct{}
	over    bool
}

func newReadAhead(p *packObjects, tip plumbing.Hash) *readAhead {
	out := make(chan []rawCommit, aheadDepth)
	ra := &readAhead{batches: out, done: make(chan struct{})}
	go func() {
		defer close(out)
		batch := make([]rawCommit, 0, aheadBatch)
		send := func() bool {
			select {
			case out <- batch:
				batch = make([]rawCommit, 0, aheadBatch)
				return true
			case <-ra.done:
				return false
			}
		}
		for h := tip; ; {
			o, err := p.find(h)
			if err != nil || o == nil || o.typ != plumbing.CommitObject {
				break
			}
			c, err := parseCommit(h, o.data)
			if err != nil {
				break
			}
			batch = append(batch, c)
			if len(batch) == aheadBatch && !send() {
				return
			}
			if len(c.parents) == 0 {
				break
			}
			h = c.parents[0]
		}
		if len(batch) > 0 {
			send()
		}
	}()
	return ra
}

// next returns commit h, read ahead, or ok false when the reader ahead
// did not read it (it stopped before, or the walk left its chain): the
// walk reads h and what follows itself.
func (ra *readAhead) next(h plumbing.Hash) (rawCommit, bool) {
	if ra.over {
		return rawCommit{}, false
	}
	if len(ra.batch) == 0 {
		b, ok := <-ra.batches
		if !ok {
			ra.over = true
			return rawCommit{}, false
		}
		ra.batch = b
	}
	c := ra.batch[0]
	if c.hash != h {
		ra.stop()
		return rawCommit{}, false
	}
	ra.batch = ra.batch[1:]
	return c, true
}

// stop ends the reader ahead.
func (ra *readAhead) stop() {
	if !ra.over {
		ra.over = true
		close(ra.done)
	}
}
