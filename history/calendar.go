package history

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/policy"
)

// Calendar reads the freeze calendar at tip, at the path the guardrails
// name (freeze.yaml by default): nil when there is none, and an error
// naming file:line and field when it does not parse.
func (d *Deriver) Calendar(tip plumbing.Hash) (*policy.FreezeCalendar, error) {
	c, err := d.Repo.CommitObject(tip)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", tip, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of %s: %w", tip, err)
	}
	path := d.Guardrails.CalendarPath()
	data, err := ReadFile(tree, path)
	if errors.Is(err, object.ErrFileNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return policy.ParseFreeze(path, data)
}
