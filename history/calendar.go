package history

import (
	"errors"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/ramp-dev/ramp/policy"
)

// Calendar reads the freeze calendar at tip, at the path the guardrails
// name (freeze.yaml by default): nil when there is none, and an error
// naming file:line and field when it does not parse. A symbolic link at
// the path, or above it, is no missing calendar but a *SymlinkError: the
// rollouts hold as for a calendar that does not parse, since reading it
// as "no calendar" would switch every freeze off.
func (d *Deriver) Calendar(tip plumbing.Hash) (*policy.FreezeCalendar, error) {
	tree, err := d.treeAt(tip)
	if err != nil {
		return nil, err
	}
	path := d.Guardrails.CalendarPath()
	data, err := ReadFile(tree, path)
	var link *SymlinkError
	if errors.Is(err, object.ErrFileNotFound) && !errors.As(err, &link) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return policy.ParseFreeze(path, data)
}
