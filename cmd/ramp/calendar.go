package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ramp-dev/ramp/policy"
)

// validateCalendar checks the freeze calendar the guardrails name, when
// the working copy has one.
func validateCalendar(root string, g policy.Guardrails) []string {
	path := g.CalendarPath()
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
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
