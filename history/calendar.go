package history

import (
	"errors"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/policy"
)

// Calendar reads the freeze calendar at tip, at the path the guardrails
// name (freeze.yaml by default): nil when there is none, and an error
// naming file:line and field when it does not parse.
func (d *Deriver) Calendar(tip plumbing.Hash) (*policy.FreezeCalendar, error) {
	tree, err := d.treeAt(tip)
	if err != nil {
		return nil, err
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
