package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy"
)

// scaffoldField is a field a rollout could name: a release or stable field.
type scaffoldField struct {
	file, path, value string
	side              string // canary, stable or ""
	kustomize         bool   // a Kustomize images entry (preferred over a Deployment's image)
}

// scaffoldRoute is an HTTPRoute whose backends could carry the split.
type scaffoldRoute struct {
	file            string
	stable, canary  string
	weights         string
	backends        []string
	guessedByWeight bool
}

var rolloutName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// scaffoldRollout writes releases/<name>/rollout.yaml in repo from the
// manifests under repo/from, validates it, and says what it chose, what to
// check and what to do next.
func scaffoldRollout(w io.Writer, repo, name, from string) error {
	usage := func(format string, args ...any) error {
		return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
	}
	if !rolloutName.MatchString(name) || len(name) > 63 {
		return usage("--rollout %q: a rollout name is a DNS label (lower-case letters, digits, '-')", name)
	}
	if _, err := os.Stat(filepath.Join(repo, ".git")); err != nil {
		return usage("%s is not the top of a git repository: run ramp init --rollout in the release repository's top directory (or name it: ramp init --rollout %s --from %s REPO)", repo, name, from)
	}
	from = path.Clean(filepath.ToSlash(from))
	if path.IsAbs(from) || from == ".." || strings.HasPrefix(from, "../") {
		return usage("--from %s: give the app's directory relative to the repository, e.g. apps/%s", from, name)
	}
	wt := workTree{repo}
	spec := path.Join("releases", name, "rollout.yaml")
	if _, err := os.Lstat(filepath.Join(repo, spec)); err == nil {
		return usage("%s already exists: edit it, or choose another --rollout name", spec)
	}
	var link *history.SymlinkError
	if _, fi, err := wt.lstat(from); errors.As(err, &link) {
		return usage("--from %s: %v", from, err)
	} else if err != nil || !fi.IsDir() {
		return usage("--from %s: no such directory in %s", from, repo)
	}

	fields, routes, err := scanManifests(wt, from)
	if err != nil {
		return usage("read %s: %v", from, err)
	}
	release, stable, problem := pickSides(fields, name)
	route, rproblem := pickRoute(routes)
	if problem != "" || rproblem != "" {
		var b strings.Builder
		fmt.Fprintf(&b, "cannot scaffold rollout %s from %s:", name, from)
		for _, p := range []string{problem, rproblem} {
			if p != "" {
				fmt.Fprintf(&b, "\n  - %s", p)
			}
		}
		b.WriteString("\nramp needs two sides of the app (directories or files named …canary… and …stable…, each with a\n" +
			"Kustomize images entry or a Deployment image) and an HTTPRoute with a backend for each side.\n" +
			"Start from the example to see the layout: ramp init ramp-example; the README's \"The rollout spec\" has every field.")
		return usage("%s", b.String())
	}

	text := fmt.Sprintf(`# The rollout %[1]q, scaffolded by ramp init from %[2]s: ramp reads this from git;
# it is never applied to a cluster. Check every line marked "check".
apiVersion: ramp.dev/v1alpha1
kind: Rollout
metadata:
  name: %[1]s
spec:
  owner: team-%[1]s               # check: the team that owns the app
  riskTier: medium
  # A pull request that changes this field starts a release.
  release:
    file: %[3]s
    path: %[4]s
  # Promotion copies the release into this field.
  stable:
    file: %[5]s
    path: %[6]s
  # ramp writes the traffic split into this HTTPRoute's backend weights.
  target:
    httpRoute:
      file: %[7]s
      stableBackend: %[8]s
      canaryBackend: %[9]s
  kustomizations:                  # check: the Flux Kustomization(s) that apply %[2]s
    - name: %[1]s
      namespace: flux-system
  strategy:
    canary:
      steps:                       # check: add gates (spec.gates) and analysis steps for your metrics
        - setWeight: 10
        - approval: {group: sre, count: 1}
        - setWeight: 50
        - approval: {group: sre, count: 1}
  onFailure:
    revertRelease: false
`, name, from, release.file, release.path, stable.file, stable.path, route.file, route.stable, route.canary)
	dst := filepath.Join(repo, filepath.FromSlash(spec))
	if err := wt.MkdirAll(path.Dir(spec)); err != nil {
		return usage("%v", err)
	}
	if err := os.WriteFile(dst, []byte(text), 0o644); err != nil {
		return usage("%v", err)
	}
	problems := validateOne(wt, spec, policy.DefaultGuardrails())

	state := "valid"
	if len(problems) > 0 {
		state = "it does not validate yet"
	}
	fmt.Fprintf(w, "wrote %s (%s):\n", spec, state)
	fmt.Fprintf(w, "  release field  %s %s (now %q, the canary side)\n", release.file, release.path, release.value)
	fmt.Fprintf(w, "  stable field   %s %s (now %q)\n", stable.file, stable.path, stable.value)
	how := "by name"
	if route.guessedByWeight {
		how = "by weight: the backend with the traffic is stable"
	}
	fmt.Fprintf(w, "  traffic        %s: stable %s, canary %s (weights %s; sides chosen %s)\n", route.file, route.stable, route.canary, route.weights, how)
	for _, p := range problems {
		fmt.Fprintf(w, "  problem: %s\n", p)
	}
	fmt.Fprintf(w, "check:\n"+
		"  - spec.kustomizations: the Flux Kustomization that applies %[2]s (guessed %[1]s in flux-system);\n"+
		"    ramp starts a step's analysis only once it has applied the step's commit\n"+
		"  - spec.owner (team-%[1]s) and spec.riskTier (medium)\n"+
		"  - the steps: setWeight 10, approval by sre, setWeight 50, approval by sre, then promotion;\n"+
		"    add spec.gates and analysis steps for your metrics (README: \"The rollout spec\")\n"+
		"  - group sre's keys: <group>.allowed_signers in --approvers DIR (the ReleaseRepository's approvers)\n"+
		"next:\n"+
		"  ramp validate\n"+
		"  git add %[3]s && git commit -S -m \"ramp: rollout %[1]s\"\n"+
		"  start a release: change %[4]s %[5]s in a pull request\n",
		name, from, spec, release.file, release.path)
	if len(problems) > 0 {
		return findings("%s: %d problem(s); fix them and run ramp validate", spec, len(problems))
	}
	return nil
}

// scanManifests reads the YAML files under from in the working copy, as
// git stores them (symbolic links are not followed), for release/stable
// field candidates and HTTPRoutes.
func scanManifests(wt workTree, from string) ([]scaffoldField, []scaffoldRoute, error) {
	var fields []scaffoldField
	var routes []scaffoldRoute
	err := wt.Walk(from, func(rel string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && rel != from {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() || (!strings.HasSuffix(rel, ".yaml") && !strings.HasSuffix(rel, ".yml")) {
			return nil
		}
		data, err := wt.ReadFile(rel)
		if err != nil {
			return err
		}
		var docs []map[string]any
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); err != nil {
				if err == io.EOF {
					break
				}
				return nil // not a manifest ramp can read: skip it
			}
			if doc != nil {
				docs = append(docs, doc)
			}
		}
		side := sideOf(rel)
		for _, doc := range docs {
			switch doc["kind"] {
			case "Kustomization":
				images, _ := doc["images"].([]any)
				for _, im := range images {
					im, _ := im.(map[string]any)
					n, _ := im["name"].(string)
					for _, key := range []string{"digest", "newTag"} {
						if v, ok := im[key]; ok && n != "" {
							fields = append(fields, scaffoldField{file: rel, path: fmt.Sprintf("images[name=%s].%s", n, key), value: fmt.Sprint(v), side: side, kustomize: true})
							break
						}
					}
				}
			case "Deployment":
				if len(docs) != 1 { // a field path addresses the file's one document
					continue
				}
				spec, _ := doc["spec"].(map[string]any)
				tmpl, _ := spec["template"].(map[string]any)
				pod, _ := tmpl["spec"].(map[string]any)
				containers, _ := pod["containers"].([]any)
				for _, c := range containers {
					c, _ := c.(map[string]any)
					n, _ := c["name"].(string)
					if img, ok := c["image"].(string); ok && n != "" {
						fields = append(fields, scaffoldField{file: rel, path: fmt.Sprintf("spec.template.spec.containers[name=%s].image", n), value: img, side: side})
					}
				}
			case "HTTPRoute":
				if len(docs) != 1 {
					continue
				}
				r := scaffoldRoute{file: rel}
				spec, _ := doc["spec"].(map[string]any)
				rules, _ := spec["rules"].([]any)
				weight := map[string]int{}
				for _, rule := range rules {
					rule, _ := rule.(map[string]any)
					refs, _ := rule["backendRefs"].([]any)
					for _, ref := range refs {
						ref, _ := ref.(map[string]any)
						n, _ := ref["name"].(string)
						if n == "" {
							continue
						}
						if _, seen := weight[n]; !seen {
							r.backends = append(r.backends, n)
						}
						wt, ok := ref["weight"].(int)
						if !ok {
							wt = 1 // Gateway API's default weight
						}
						weight[n] += wt
					}
				}
				for _, b := range r.backends {
					switch sideOf(b) {
					case "stable":
						r.stable = b
					case "canary":
						r.canary = b
					}
				}
				if (r.stable == "" || r.canary == "") && len(r.backends) == 2 && weight[r.backends[0]] != weight[r.backends[1]] {
					r.stable, r.canary = r.backends[0], r.backends[1]
					if weight[r.canary] > weight[r.stable] {
						r.stable, r.canary = r.canary, r.stable
					}
					r.guessedByWeight = true
				}
				if r.stable != "" && r.canary != "" {
					r.weights = fmt.Sprintf("%d/%d", weight[r.stable], weight[r.canary])
				}
				routes = append(routes, r)
			}
		}
		return nil
	})
	return fields, routes, err
}

// sideOf says which side a path or backend name is on, by its words.
func sideOf(s string) string {
	words := regexp.MustCompile(`[^a-z0-9]+`).Split(strings.ToLower(s), -1)
	for _, w := range words {
		switch w {
		case "canary":
			return "canary"
		case "stable", "primary":
			return "stable"
		}
	}
	return ""
}

// pickSides chooses the release field (canary side) and the stable field,
// preferring Kustomize images over Deployment images and, among several
// images, the one named after the rollout. problem says what is missing.
func pickSides(fields []scaffoldField, name string) (release, stable scaffoldField, problem string) {
	pick := func(side string) (scaffoldField, string) {
		var c []scaffoldField
		for _, kustomize := range []bool{true, false} {
			for _, f := range fields {
				if f.side == side && f.kustomize == kustomize {
					c = append(c, f)
				}
			}
			if len(c) > 0 {
				break
			}
		}
		if len(c) > 1 {
			var named []scaffoldField
			for _, f := range c {
				if strings.Contains(f.path, "[name="+name+"]") {
					named = append(named, f)
				}
			}
			if len(named) == 1 {
				c = named
			}
		}
		switch len(c) {
		case 0:
			return scaffoldField{}, fmt.Sprintf("no %s side: no image field (Kustomize images, Deployment image) in a path naming %q", side, side)
		case 1:
			return c[0], ""
		}
		var all []string
		for _, f := range c {
			all = append(all, f.file+" "+f.path)
		}
		sort.Strings(all)
		return scaffoldField{}, fmt.Sprintf("%d image fields on the %s side, none named after the rollout: %s", len(c), side, strings.Join(all, ", "))
	}
	release, p1 := pick("canary")
	stable, p2 := pick("stable")
	return release, stable, strings.TrimPrefix(strings.TrimSuffix(p1+"\n  - "+p2, "\n  - "), "\n  - ")
}

// pickRoute chooses the one HTTPRoute with a stable and a canary backend.
func pickRoute(routes []scaffoldRoute) (scaffoldRoute, string) {
	var ok []scaffoldRoute
	var seen []string
	for _, r := range routes {
		if r.stable != "" && r.canary != "" {
			ok = append(ok, r)
		}
		seen = append(seen, fmt.Sprintf("%s (backends %s)", r.file, strings.Join(r.backends, ", ")))
	}
	switch {
	case len(ok) == 1:
		return ok[0], ""
	case len(ok) > 1:
		return scaffoldRoute{}, fmt.Sprintf("%d HTTPRoutes split between two sides; ramp init picks only one: write spec.target yourself", len(ok))
	case len(routes) > 0:
		return scaffoldRoute{}, fmt.Sprintf("no HTTPRoute with a stable and a canary backend (found %s); for another router see the README's \"Routers\" (target.field)", strings.Join(seen, "; "))
	}
	return scaffoldRoute{}, "no HTTPRoute: ramp writes the traffic split into an HTTPRoute's backend weights (or, for another router, a field: see the README's \"Routers\")"
}
