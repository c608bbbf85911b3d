package history

import (
	"reflect"
	"strings"

	"github.com/ramp-dev/ramp/policy"
)

// rolloutPaths indexes a set of rollouts by the paths of their files
// (policy.Rollout.ManagedFiles) and of every directory above them, so
// that touched finds the rollouts a commit concerns from the few paths it
// changed, without looking at each rollout: an update over a pass's N
// commits would otherwise look at N rollouts' files N times.
type rolloutPaths struct {
	// of is the set indexed: the index is used only for that same map,
	// which its user does not change while the walker lives.
	of     map[string]*policy.Rollout
	byPath map[string][]string
}

// indexRollouts makes touched look rollouts up by path when it is given
// rollouts, which must not change while w is in use.
func (w *walker) indexRollouts(rollouts map[string]*policy.Rollout) {
	idx := &rolloutPaths{of: rollouts, byPath: map[string][]string{}}
	for name, r := range rollouts {
		seen := map[string]bool{}
		for _, f := range r.ManagedFiles() {
			for p := f; p != ""; {
				if !seen[p] {
					seen[p] = true
					idx.byPath[p] = append(idx.byPath[p], name)
				}
				i := strings.LastIndexByte(p, '/')
				if i < 0 {
					break
				}
				p = p[:i]
			}
		}
	}
	w.paths = idx
}

// pathIndex returns the index of rollouts, or nil when rollouts is not
// the map indexed.
func (w *walker) pathIndex(rollouts map[string]*policy.Rollout) *rolloutPaths {
	if w.paths == nil || reflect.ValueOf(w.paths.of).UnsafePointer() != reflect.ValueOf(rollouts).UnsafePointer() {
		return nil
	}
	return w.paths
}

// touchedIndexed returns the rollouts of idx with a file at or below one
// of the changed paths: touched's answer, read from the index.
func (idx *rolloutPaths) touched(changed map[string]bool) map[string]*policy.Rollout {
	out := map[string]*policy.Rollout{}
	for p := range changed {
		for _, name := range idx.byPath[p] {
			out[name] = idx.of[name]
		}
	}
	return out
}
