package gittest

import (
	"strings"
)

// WavesFiles returns the files of rollout name with targets, laid out as
// policytest.WavesYAML names them, at version tag: spec, the release
// file releases/<name>/release.yaml (version: tag), and per target its
// canary and stable kustomizations and an HTTPRoute with all traffic on
// stable, under clusters/<target>/<name>/.
func WavesFiles(name, tag, spec string, targets ...string) map[string]string {
	files := map[string]string{
		"releases/" + name + "/rollout.yaml": spec,
		"releases/" + name + "/release.yaml": Release(tag),
	}
	r := strings.NewReplacer("NAME", name, "TAG", tag)
	for _, t := range targets {
		dir := "clusters/" + t + "/" + name + "/"
		files[dir+"canary/kustomization.yaml"] = r.Replace(kustomization)
		files[dir+"stable/kustomization.yaml"] = r.Replace(kustomization)
		files[dir+"route.yaml"] = r.Replace(route)
	}
	return files
}

// Release returns the release file of a rollout with targets at version.
func Release(version string) string {
	return "# the one field a release changes\nversion: \"" + version + "\"\n"
}
