package controllers

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

// eventAction is the action of every event about a commit ramp pushed.
const eventAction = "Commit"

// emitCommitEvents records one Event per commit the pass pushed. The
// reason is the commit's action in UpperCamelCase (set-weight is
// SetWeight); the note names the rollout, release, step and commit.
// Aborts and rollbacks are warnings.
func (r *ReleaseRepositoryReconciler) emitCommitEvents(obj *rampv1.ReleaseRepository, outcomes []gitsync.Outcome) {
	for _, o := range outcomes {
		if o.Commit.IsZero() {
			continue
		}
		d := o.Decision
		typ := corev1.EventTypeNormal
		if d.Action == policy.ActionAbort || d.Action == policy.ActionRollback {
			typ = corev1.EventTypeWarning
		}
		note := fmt.Sprintf("rollout %s release %s: %s", o.Rollout, d.Release, d.Action)
		if d.Step > 0 {
			note += fmt.Sprintf(" step %d/%d", d.Step, d.Steps)
		}
		note += fmt.Sprintf(" weight %d%%: %s (commit %s)", d.Weight, d.Reason, o.Commit.String()[:12])
		r.Recorder.Eventf(obj, nil, typ, eventReason(d.Action), eventAction, "%s", truncate(note, 1000))
	}
}

// eventReason turns an action into an event reason: set-weight → SetWeight.
func eventReason(a policy.Action) string {
	var b strings.Builder
	for _, part := range strings.Split(string(a), "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}
