package e2etest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
)

// Applied is one revision a Kustomization reported applied.
type Applied struct {
	SHA string
	// At is the Ready condition's lastTransitionTime Flux reported with
	// the revision (second precision); Seen when the watcher saw it.
	At, Seen time.Time
	// Weights are the HTTPRoute's weights in the API server right after.
	Weights Weights
}

// AppliedLog records every lastAppliedRevision of a Kustomization, as
// polled from the API server ten times a second.
type AppliedLog struct {
	mu   sync.Mutex
	list []Applied
}

// WatchApplied polls Kustomization ns/name until ctx ends, recording each
// new applied revision and the weights of HTTPRoute route.
func WatchApplied(ctx context.Context, c client.Reader, ns, name, route string) *AppliedLog {
	l := &AppliedLog{}
	go func() {
		last := ""
		for ctx.Err() == nil {
			st, err := GetFluxStatus(ctx, c, KustomizationGVK, ns, name)
			if sha := st.AppliedSHA(); err == nil && sha != "" && sha != last {
				last = sha
				a := Applied{SHA: sha, At: st.Cond("Ready").LastTransition, Seen: time.Now()}
				a.Weights, _ = RouteWeights(ctx, c, ns, route)
				l.mu.Lock()
				l.list = append(l.list, a)
				l.mu.Unlock()
			}
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return l
}

// List returns the applied revisions so far, oldest first.
func (l *AppliedLog) List() []Applied {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Applied(nil), l.list...)
}

// Find returns the record of sha, if it was applied.
func (l *AppliedLog) Find(sha string) (Applied, bool) {
	for _, a := range l.List() {
		if a.SHA == sha {
			return a, true
		}
	}
	return Applied{}, false
}

func (l *AppliedLog) String() string {
	var b strings.Builder
	for _, a := range l.List() {
		fmt.Fprintf(&b, "  %.10s at %s (seen %s) weights %v\n", a.SHA, a.At.Format(time.TimeOnly), a.Seen.Format("15:04:05.000"), a.Weights)
	}
	return b.String()
}

// Eventually polls fn every 200 ms until it reports done, failing the
// test after timeout with what, and fn's last detail.
func (w *World) Eventually(timeout time.Duration, what string, fn func() (done bool, detail string)) {
	w.T.Helper()
	deadline := time.Now().Add(timeout)
	detail := ""
	for {
		var done bool
		if done, detail = fn(); done {
			return
		}
		if time.Now().After(deadline) || w.Ctx.Err() != nil {
			w.T.Fatalf("%s: not within %s; last: %s", what, timeout, detail)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// WaitApplied waits until the Kustomization reports sha applied.
func (w *World) WaitApplied(sha string, timeout time.Duration) Applied {
	w.T.Helper()
	var got Applied
	w.Eventually(timeout, fmt.Sprintf("Flux applies %.10s", sha), func() (bool, string) {
		if a, ok := w.Applied.Find(sha); ok {
			got = a
			return true, ""
		}
		st, err := GetFluxStatus(w.Ctx, w.Cluster.Client, KustomizationGVK, w.NS, KustomizationName)
		src, _ := GetFluxStatus(w.Ctx, w.Cluster.Client, GitRepositoryGVK, w.NS, RepoName)
		return false, fmt.Sprintf("Kustomization applied %q (Ready %+v, err %v); GitRepository artifact %q (Ready %+v)",
			st.LastApplied, st.Cond("Ready"), err, src.Artifact, src.Cond("Ready"))
	})
	return got
}

// WaitRollout waits until the ReleaseRepository's status of rollout demo
// satisfies ok.
func (w *World) WaitRollout(timeout time.Duration, what string, ok func(rampv1.RolloutStatus) bool) rampv1.RolloutStatus {
	w.T.Helper()
	var got rampv1.RolloutStatus
	w.Eventually(timeout, what, func() (bool, string) {
		s, obj, found, err := RolloutStatus(w.Ctx, w.Cluster.Client, w.NS, RepoName, Rollout)
		if err != nil {
			return false, err.Error()
		}
		if found && ok(s) {
			got = s
			return true, ""
		}
		return false, fmt.Sprintf("status %+v conditions %+v", s, obj.Status.Conditions)
	})
	return got
}

// WaitCommit waits until a commit after since on main satisfies ok, and
// returns the first that does.
func (w *World) WaitCommit(since string, timeout time.Duration, what string, ok func(Commit) bool) Commit {
	w.T.Helper()
	var got Commit
	w.Eventually(timeout, what, func() (bool, string) {
		log := w.Auditor.Log(since)
		for _, c := range log {
			if ok(c) {
				got = c
				return true, ""
			}
		}
		var subjects []string
		for _, c := range log {
			subjects = append(subjects, fmt.Sprintf("%.10s %s", c.SHA, c.Subject))
		}
		return false, "commits since: " + strings.Join(subjects, "; ")
	})
	return got
}

// RampCommits returns ramp's commits for rollout demo after since.
func (w *World) RampCommits(since string) []Commit {
	w.T.Helper()
	var out []Commit
	for _, c := range w.Auditor.Log(since) {
		if c.Author == RampEmail && c.Trailer("Ramp-Rollout") == Rollout {
			out = append(out, c)
		}
	}
	return out
}

// IsAction returns a predicate for ramp's commit with Ramp-Action action.
func IsAction(action string) func(Commit) bool {
	return func(c Commit) bool { return c.Author == RampEmail && c.Trailer("Ramp-Action") == action }
}

// deleteObject deletes an object of kind gvk, ignoring whether it exists.
func deleteObject(ctx context.Context, c client.Client, gvk schema.GroupVersionKind, ns, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(ns)
	u.SetName(name)
	return client.IgnoreNotFound(c.Delete(ctx, u))
}

// runTool runs bin with args in dir and env, failing the test with its
// output on error.
func runTool(t testing.TB, env []string, dir, bin string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, out.String())
	}
	return out.String()
}
