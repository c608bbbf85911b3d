package controllers_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
)

// shardKey is the label Flux's sharding uses.
const shardKey = "sharding.fluxcd.io/key"

// shard is one `ramp controller --watch-label-selector` in a test: its
// own data directory, and its own user agent, which the API server
// records as the field manager of every status it writes.
type shard struct {
	name, selector, dataDir string
}

// startShard runs a leader-electing manager for shard name, selecting
// `sharding.fluxcd.io/key in (name)`, with the Lease ID the selector
// gives (no --leader-election-id).
func (w *world) startShard(name string) shard {
	w.t.Helper()
	s := shard{name: name, selector: shardKey + " in (" + name + ")", dataDir: w.t.TempDir()}
	cfg := rest.CopyConfig(restCfg)
	cfg.UserAgent = "ramp-" + name
	w.startWith(cfg, func(o *controllers.Options) {
		o.DataDir = s.dataDir
		o.WatchLabelSelector = s.selector
		o.LeaderElect = true
		o.LeaseDuration, o.RenewDeadline, o.RetryPeriod = 4*time.Second, 3*time.Second, 500*time.Millisecond
	})
	return s
}

// cloned reports whether the shard has a clone of ReleaseRepository name.
func (s shard) cloned(ns, name string) bool {
	_, err := os.Stat(filepath.Join(s.dataDir, ns, name))
	return err == nil
}

// clones lists the ReleaseRepositories the shard has a clone of.
func (s shard) clones(ns string) []string {
	entries, _ := os.ReadDir(filepath.Join(s.dataDir, ns))
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// statusWriters are the field managers (user agents) that wrote rr's
// status, sorted.
func statusWriters(rr *rampv1.ReleaseRepository) []string {
	var out []string
	for _, f := range rr.ManagedFields {
		if f.Subresource == "status" {
			out = append(out, f.Manager)
		}
	}
	sort.Strings(out)
	return out
}

func labelled(value string) func(*rampv1.ReleaseRepository) {
	return func(rr *rampv1.ReleaseRepository) { rr.Labels = map[string]string{shardKey: value} }
}

func TestShardsReconcileOnlyTheirRepositories(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	shards := []shard{w.startShard("shard1"), w.startShard("shard2")}
	w.repository("repo-shard1", labelled("shard1"))
	w.repository("repo-shard2", labelled("shard2"))
	w.repository("repo-unlabeled", nil)
	tip := w.tip()

	// Each shard's repository is reconciled, and again on request.
	tokens := map[string]string{}
	for _, s := range shards {
		name := "repo-" + s.name
		w.wait(name, "Ready=True", func(rr *rampv1.ReleaseRepository) bool {
			return condition(rr, meta.ReadyCondition).Status == metav1.ConditionTrue &&
				rr.Status.LastFetchedRevision == "main@sha1:"+tip
		})
		tokens[name] = w.requestReconcile(name)
	}
	w.requestReconcile("repo-unlabeled")
	for name, token := range tokens {
		w.wait(name, "the reconcile request "+token, func(rr *rampv1.ReleaseRepository) bool {
			return rr.Status.LastHandledReconcileAt == token
		})
	}
	// Both managers had every chance to act on the other repositories.
	time.Sleep(2 * time.Second)

	for _, s := range shards {
		name := "repo-" + s.name
		if got, want := statusWriters(w.get(name)), []string{"ramp-" + s.name}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: status written by %v, want only %v", name, got, want)
		}
		if got := s.clones(w.ns); fmt.Sprint(got) != fmt.Sprint([]string{name}) {
			t.Errorf("%s cloned %v, want only [%s]", s.name, got, name)
		}
	}
	un := w.get("repo-unlabeled")
	if got := statusWriters(un); len(got) != 0 || len(un.Status.Conditions) != 0 || un.Status.ObservedGeneration != 0 {
		t.Errorf("repo-unlabeled (in no shard): status written by %v, conditions %v, observedGeneration %d; want untouched",
			got, un.Status.Conditions, un.Status.ObservedGeneration)
	}

	// Each shard elected its own leader, on its own Lease.
	for _, s := range shards {
		sel, err := controllers.ParseWatchSelector(s.selector)
		if err != nil {
			t.Fatal(err)
		}
		id := controllers.ShardLeaderElectionID(sel)
		lease := &coordinationv1.Lease{}
		if err := k8s.Get(t.Context(), types.NamespacedName{Namespace: w.ns, Name: id}, lease); err != nil {
			t.Fatalf("%s: leader election Lease %s: %v", s.name, id, err)
		}
		if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
			t.Errorf("%s: Lease %s has no holder", s.name, id)
		}
	}

	// Relabelled to shard1, repo-shard2 moves: shard1 clones and
	// reconciles it, shard2 drops its clone and never runs it again.
	rr := &rampv1.ReleaseRepository{ObjectMeta: w.meta("repo-shard2")}
	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:"shard1"}}}`, shardKey)
	if err := k8s.Patch(t.Context(), rr, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
	w.eventually("shard2 drops its clone of repo-shard2", func() bool { return !shards[1].cloned(w.ns, "repo-shard2") })
	token := w.requestReconcile("repo-shard2")
	w.wait("repo-shard2", "shard1 handling "+token, func(rr *rampv1.ReleaseRepository) bool {
		return rr.Status.LastHandledReconcileAt == token
	})
	if !shards[0].cloned(w.ns, "repo-shard2") {
		t.Errorf("shard1 reconciled repo-shard2 without a clone of it: %v", shards[0].clones(w.ns))
	}
	if got := statusWriters(w.get("repo-shard2")); !strings.Contains(strings.Join(got, ","), "ramp-shard1") {
		t.Errorf("repo-shard2 after the move: status written by %v, want ramp-shard1 among them", got)
	}
	if got := shards[1].clones(w.ns); len(got) != 0 {
		t.Errorf("shard2 has clones %v after its only repository moved away", got)
	}
}

func TestShardLeaderElectionIDs(t *testing.T) {
	ids := map[string]string{}
	for _, s := range []string{"", "sharding.fluxcd.io/key in (shard1)", "sharding.fluxcd.io/key in (shard2)",
		"sharding.fluxcd.io/key  in  ( shard1 )", "!sharding.fluxcd.io/key"} {
		sel, err := controllers.ParseWatchSelector(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		ids[s] = controllers.ShardLeaderElectionID(sel)
	}
	if ids[""] != controllers.DefaultLeaderElectionID {
		t.Errorf("no selector: Lease %q, want %q", ids[""], controllers.DefaultLeaderElectionID)
	}
	if a, b := ids["sharding.fluxcd.io/key in (shard1)"], ids["sharding.fluxcd.io/key  in  ( shard1 )"]; a != b {
		t.Errorf("one selector spelt two ways: Leases %q and %q, want one", a, b)
	}
	seen := map[string]string{}
	for s, id := range ids {
		if s == "sharding.fluxcd.io/key  in  ( shard1 )" {
			continue
		}
		if other, ok := seen[id]; ok {
			t.Errorf("selectors %q and %q share Lease %q", s, other, id)
		}
		seen[id] = s
		if errs := validation.IsDNS1123Subdomain(id); len(errs) > 0 {
			t.Errorf("Lease name %q: %v", id, errs)
		}
	}
	for _, bad := range []string{"sharding.fluxcd.io/key in (", "a b c", "=x"} {
		if _, err := controllers.ParseWatchSelector(bad); err == nil || !strings.Contains(err.Error(), "--watch-label-selector") {
			t.Errorf("ParseWatchSelector(%q) = %v, want an error naming --watch-label-selector", bad, err)
		}
	}
}
