package gittest

import (
	"strings"

	"github.com/ramp-dev/ramp/policy/policytest"
)

// RolloutFiles returns the files of one rollout named name as
// policytest.SpecYAML describes them: its spec, the canary and stable
// kustomizations at version tag, and an HTTPRoute with all traffic on
// stable. Paths are relative to the repository root.
func RolloutFiles(name, tag string) map[string]string {
	return RolloutFilesWithSpec(name, tag, policytest.SpecYAML(name))
}

// RolloutFilesWithSpec is RolloutFiles with another spec text.
func RolloutFilesWithSpec(name, tag, spec string) map[string]string {
	r := strings.NewReplacer("NAME", name, "TAG", tag)
	return map[string]string{
		"releases/" + name + "/rollout.yaml":          spec,
		"apps/" + name + "/canary/kustomization.yaml": r.Replace(kustomization),
		"apps/" + name + "/stable/kustomization.yaml": r.Replace(kustomization),
		"apps/" + name + "/route.yaml":                r.Replace(route),
	}
}

// Kustomization returns a kustomization.yaml for rollout name at version tag.
func Kustomization(name, tag string) string {
	return strings.NewReplacer("NAME", name, "TAG", tag).Replace(kustomization)
}

const kustomization = `# NAME: ramp reads and writes images[name=NAME].newTag
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: NAME
    newTag: "TAG" # the version
`

const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: NAME
spec:
  rules:
    - backendRefs:
        - name: NAME-stable
          port: 80
          weight: 100 # ramp edits the weights
        - name: NAME-canary
          port: 80
          weight: 0
`
