package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/evidence"
	"github.com/ramp-dev/ramp/gitsync"
	"github.com/ramp-dev/ramp/policy"
)

// repoLoop is one ReleaseRepository's loop and the clone it works in.
type repoLoop struct {
	// fingerprint is the generation and the resourceVersions of the
	// Secrets the loop was built from.
	fingerprint string
	loop        *gitsync.Loop
	repo        *gitsync.Repo
	flux        *fluxEvidence
}

// loopCache keeps one loop per ReleaseRepository. It is only a cache: a
// new loop derives the same states from git, so dropping one loses
// nothing but the time of a fresh derive.
type loopCache struct {
	mu     sync.Mutex
	byRepo map[types.NamespacedName]*repoLoop
}

func (c *loopCache) get(key types.NamespacedName, fingerprint string) *repoLoop {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.byRepo[key]; l != nil && l.fingerprint == fingerprint {
		return l
	}
	return nil
}

func (c *loopCache) put(key types.NamespacedName, l *repoLoop) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byRepo == nil {
		c.byRepo = map[types.NamespacedName]*repoLoop{}
	}
	c.byRepo[key] = l
}

func (c *loopCache) forget(key types.NamespacedName) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byRepo, key)
}

// fingerprint identifies what a loop is built from.
func fingerprint(obj *rampv1.ReleaseRepository, cfg *repoConfig) string {
	return fmt.Sprintf("%d|%s", obj.Generation, strings.Join(cfg.versions, ","))
}

// repoDir is the directory of one ReleaseRepository under the data dir.
func (r *ReleaseRepositoryReconciler) repoDir(key types.NamespacedName) string {
	return filepath.Join(r.DataDir, key.Namespace, key.Name)
}

// loopFor returns the cached loop of obj, or builds one: it writes the
// SSH credentials where go-git reads them, opens (or clones) the
// persistent clone, and wires evidence and metrics.
func (r *ReleaseRepositoryReconciler) loopFor(ctx context.Context, obj *rampv1.ReleaseRepository, cfg *repoConfig) (*repoLoop, error) {
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Name}
	fp := fingerprint(obj, cfg)
	if l := r.loops.get(key, fp); l != nil {
		return l, nil
	}
	dir := r.repoDir(key)
	auth, err := writeAuth(filepath.Join(dir, "auth"), cfg)
	if err != nil {
		return nil, err
	}
	clone := filepath.Join(dir, "clone-"+shortHash(obj.Spec.URL+"\x00"+obj.GetBranch()))
	// Open checks the clone and rebuilds it when a kill left it damaged:
	// the data directory is a cache, never a reason to stall. With a
	// clone depth the first clone (and a rebuild) fetches only the newest
	// commits; the pass deepens it when a walk needs more (reconcile).
	repo, err := r.open(ctx, obj.Spec.URL, clone, obj.GetBranch(), auth)
	if err != nil {
		return nil, err
	}
	removeOtherClones(dir, clone)

	gatherer := &evidence.Gatherer{}
	if p := obj.Spec.Prometheus; p != nil {
		timeout := r.QueryTimeout
		if timeout <= 0 {
			timeout = DefaultQueryTimeout
		}
		opts := []evidence.Option{evidence.WithQueryTimeout(timeout)}
		if cfg.promToken != "" {
			opts = append(opts, evidence.WithBearerToken(cfg.promToken))
		}
		prom, err := evidence.NewPrometheus(p.Address, opts...)
		if err != nil {
			return nil, &configError{ReasonInvalidSecret, fmt.Sprintf("spec.prometheus.address: %v", err)}
		}
		gatherer.Prom = prom
	}
	flux := &fluxEvidence{
		client: r.Client, repo: repo, namespace: obj.Namespace,
		kustomizations: obj.Spec.Kustomizations, gatherer: gatherer,
		seen: map[string]time.Time{}, now: r.now,
		clusters: &clusterSet{reader: r.APIReader, namespace: obj.Namespace, repo: key.String(), clusters: obj.Spec.Clusters},
	}
	id := gitsync.Identity{Name: "ramp", Email: "ramp@localhost"}
	if obj.Spec.Identity != nil {
		if obj.Spec.Identity.Name != "" {
			id.Name = obj.Spec.Identity.Name
		}
		if obj.Spec.Identity.Email != "" {
			id.Email = obj.Spec.Identity.Email
		}
	}
	loop := gitsync.NewLoop(repo, gitsync.Config{
		Keys:            cfg.keys,
		Guardrails:      cfg.guardrails,
		CommandsRef:     obj.Spec.CommandsRef,
		Signer:          cfg.signer,
		Identity:        id,
		Evidence:        flux.evidence,
		Concurrency:     r.Concurrency,
		CheckpointEvery: r.checkpointEvery(),
		WaveEvidence: func(ctx context.Context, r *policy.Rollout, w policy.Wave, release string, from, to time.Time) map[string]policy.GateResult {
			return gatherer.Soak(ctx, r, w, release, from, to)
		},
		Observe: observeGit(key.String()),
		Now:     r.now,
		// A signed tip is checked against the same keyring.
		RequireSignedTip: obj.Spec.RequireSignedTip == nil || *obj.Spec.RequireSignedTip,
	})
	l := &repoLoop{fingerprint: fp, loop: loop, repo: repo, flux: flux}
	r.loops.put(key, l)
	return l, nil
}

// open opens (or clones) the persistent clone in dir: shallow, of
// CloneDepth commits, unless CloneDepth is 0.
func (r *ReleaseRepositoryReconciler) open(ctx context.Context, url, dir, branch string, auth gitsync.Auth) (*gitsync.Repo, error) {
	if r.CloneDepth > 0 {
		return gitsync.OpenShallow(ctx, url, dir, branch, auth, r.CloneDepth)
	}
	return gitsync.Open(ctx, url, dir, branch, auth)
}

// writeAuth returns the auth of cfg. The SSH key stays in memory; only
// known_hosts (public host keys) is written into dir, where the
// known_hosts readers of golang.org/x/crypto and go-git need a file.
func writeAuth(dir string, cfg *repoConfig) (gitsync.Auth, error) {
	auth := gitsync.Auth{Username: cfg.username, Password: cfg.password}
	if len(cfg.sshKey) == 0 {
		return auth, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return auth, fmt.Errorf("create credentials directory: %w", err)
	}
	auth.SSHKey, auth.SSHKeyPassphrase = cfg.sshKey, cfg.sshPass
	auth.KnownHostsPath = filepath.Join(dir, rampv1.KnownHostsKey)
	if err := os.WriteFile(auth.KnownHostsPath, cfg.knownHosts, 0o600); err != nil {
		return auth, fmt.Errorf("write known_hosts: %w", err)
	}
	return auth, nil
}

// removeOtherClones deletes clones of an earlier URL or branch, and what
// they had beside them (keep's own lock and leftovers are gitsync's).
func removeOtherClones(dir, keep string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), "clone-") && !strings.HasPrefix(path, keep) {
			_ = os.RemoveAll(path)
		}
	}
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// checkpointEvery is the depth of an abort from which a pass writes a
// checkpoint commit for it: CheckpointEvery, gitsync's default for 0, and
// never (0 for gitsync) when negative.
func (r *ReleaseRepositoryReconciler) checkpointEvery() int {
	switch {
	case r.CheckpointEvery == 0:
		return gitsync.DefaultCheckpointEvery
	case r.CheckpointEvery < 0:
		return 0
	}
	return r.CheckpointEvery
}
