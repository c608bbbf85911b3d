package main

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// main's view of the rollout's files, as a cluster would have them applied.
type deployed struct {
	commit         string
	stable, canary string // image tags
	canaryWeight   int    // of 100
}

// readMain reads the route and both image tags at main of the bare
// repository with the system git.
func readMain(ctx context.Context, bare string) (deployed, error) {
	var d deployed
	sha, err := exec.CommandContext(ctx, "git", "--git-dir", bare, "rev-parse", "main").Output()
	if err != nil {
		return d, fmt.Errorf("git rev-parse main in %s: %w", bare, err)
	}
	d.commit = strings.TrimSpace(string(sha))
	var route struct {
		Spec struct {
			Rules []struct {
				BackendRefs []struct {
					Name   string `yaml:"name"`
					Weight int    `yaml:"weight"`
				} `yaml:"backendRefs"`
			} `yaml:"rules"`
		} `yaml:"spec"`
	}
	if err := showYAML(ctx, bare, d.commit, "apps/demo/route.yaml", &route); err != nil {
		return d, err
	}
	if len(route.Spec.Rules) > 0 { // the demo route has one rule
		total := 0
		for _, b := range route.Spec.Rules[0].BackendRefs {
			total += b.Weight
			if b.Name == "demo-canary" {
				d.canaryWeight = b.Weight
			}
		}
		if total > 0 {
			d.canaryWeight = d.canaryWeight * 100 / total
		}
	}
	for side, tag := range map[string]*string{"stable": &d.stable, "canary": &d.canary} {
		var kust struct {
			Images []struct {
				Name   string `yaml:"name"`
				NewTag string `yaml:"newTag"`
			} `yaml:"images"`
		}
		if err := showYAML(ctx, bare, d.commit, "apps/demo/"+side+"/kustomization.yaml", &kust); err != nil {
			return d, err
		}
		for _, img := range kust.Images {
			if img.Name == "demo" {
				*tag = img.NewTag
			}
		}
	}
	return d, nil
}

// showYAML decodes the file at path in commit of the bare repository.
func showYAML(ctx context.Context, bare, commit, path string, into any) error {
	out, err := exec.CommandContext(ctx, "git", "--git-dir", bare, "show", commit+":"+path).Output()
	if err != nil {
		return fmt.Errorf("git show %.10s:%s in %s: %w", commit, path, bare, err)
	}
	if err := yaml.Unmarshal(out, into); err != nil {
		return fmt.Errorf("read %s at %.10s: %w", path, commit, err)
	}
	return nil
}

// traffic stands in for the cluster: a deployer that sets each app's
// version from main's image tags (as Flux would apply them), and a load
// generator that sends rate requests per second, split between stable
// and canary by main's HTTPRoute weights (as the gateway's data plane
// would).
type traffic struct {
	bare           string
	stable, canary *app
	rate           int
	say            func(prefix, format string, args ...any)

	mu     sync.Mutex
	now    deployed
	sent   map[string]int // by "side version"
	errors map[string]int
	order  []string // keys of sent, in the order they first appeared
}

// run polls main twice a second and sends load until ctx ends.
func (t *traffic) run(ctx context.Context) error {
	t.sent, t.errors = map[string]int{}, map[string]int{}
	if err := t.sync(ctx); err != nil {
		return err
	}
	t.say("load", "%d requests/s split between stable and canary by the weights of apps/demo/route.yaml at main: this stands in for the gateway's data plane (there is no cluster)", t.rate)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	send := time.NewTicker(time.Second / time.Duration(t.rate))
	poll := time.NewTicker(500 * time.Millisecond)
	report := time.NewTicker(10 * time.Second)
	defer send.Stop()
	defer poll.Stop()
	defer report.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	credit := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			if err := t.sync(ctx); err != nil && ctx.Err() == nil {
				t.say("load", "reading main failed (retrying): %v", err)
			}
		case <-report.C:
			t.summary()
		case <-send.C:
			t.mu.Lock()
			credit += t.now.canaryWeight // smooth split: exactly weight% of requests go to the canary
			target := t.stable
			if credit >= 100 {
				credit -= 100
				target = t.canary
			}
			t.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.send(ctx, client, target)
			}()
		}
	}
}

func (t *traffic) send(ctx context.Context, c *http.Client, a *app) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.addr+"/", nil)
	if err != nil {
		return
	}
	resp, err := c.Do(req)
	if err != nil {
		return // stopping: the app is gone
	}
	resp.Body.Close()
	key := a.side + " " + resp.Header.Get("X-Demo-Version")
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.sent[key]; !ok {
		t.order = append(t.order, key)
	}
	t.sent[key]++
	if resp.StatusCode >= 500 {
		t.errors[key]++
	}
}

// sync reads main and applies what changed: versions, then weights.
func (t *traffic) sync(ctx context.Context) error {
	d, err := readMain(ctx, t.bare)
	if err != nil {
		return err
	}
	t.mu.Lock()
	before := t.now
	t.now = d
	t.mu.Unlock()
	if d.commit == before.commit {
		return nil
	}
	for _, s := range []struct {
		a *app
		v string
	}{{t.stable, d.stable}, {t.canary, d.canary}} {
		if s.a.setVersion(s.v) {
			note := ""
			if rate := s.a.faults[s.v]; rate >= 0.05 {
				note = fmt.Sprintf(" (%s has a bug: %.0f%% of its requests answer 500)", s.v, rate*100)
			}
			t.say("deploy", "%s side now runs %s%s: stands in for Flux applying main %.10s", s.a.side, s.v, note, d.commit)
		}
	}
	if d.canaryWeight != before.canaryWeight {
		t.say("load", "route at main %.10s: stable %d%% / canary %d%%", d.commit, 100-d.canaryWeight, d.canaryWeight)
	}
	return nil
}

// summary prints what the load did since the last summary.
func (t *traffic) summary() {
	t.mu.Lock()
	defer t.mu.Unlock()
	var parts []string
	for _, key := range t.order {
		n, e := t.sent[key], t.errors[key]
		parts = append(parts, fmt.Sprintf("%s %d requests, %.1f%% 5xx", key, n, float64(e)/float64(n)*100))
	}
	if len(parts) == 0 {
		parts = append(parts, "no requests")
	}
	t.say("load", "last 10s: %s", strings.Join(parts, "; "))
	t.sent, t.errors, t.order = map[string]int{}, map[string]int{}, nil
}
