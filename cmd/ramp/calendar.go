package main

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/ramp-dev/ramp/policy"
)

// validateCalendar checks the freeze calendar the guardrails name, when
// the working copy has one, read as git stores it: a link there is a
// problem, as it holds ramp run.
func validateCalendar(wt workTree, g policy.Guardrails) []string {
	path := g.CalendarPath()
	data, err := wt.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return []string{err.Error()}
	}
	if _, err := policy.ParseFreeze(path, data); err != nil {
		return strings.Split(err.Error(), "\n")
	}
	return nil
}
