package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// buildRamp builds the real binary into a temporary directory with extra
// go build arguments (ldflags), as the Makefile does.
func buildRamp(t *testing.T, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ramp")
	cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, args...), ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestVersionPrintsTheLinkedVersionCommitAndGo: the Makefile's -X ldflags
// show in `ramp version`, `ramp --version` and `ramp version -o json`;
// without them the binary reports the commit the Go toolchain stamped
// (vcs.revision), which is the worktree's HEAD.
func TestVersionPrintsTheLinkedVersionCommitAndGo(t *testing.T) {
	bin := buildRamp(t, "-ldflags", "-X main.version=v9.8.7 -X main.commit=0123456789abcdef")
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("ramp %v: %v", args, err)
		}
		want := "ramp v9.8.7\ncommit 0123456789abcdef\n" + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
		if string(out) != want {
			t.Errorf("ramp %v printed %q, want %q", args, out, want)
		}
	}
	out, err := exec.Command(bin, "version", "-o", "json").Output()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("ramp version -o json: %v\n%s", err, out)
	}
	if v["version"] != "v9.8.7" || v["commit"] != "0123456789abcdef" || v["goVersion"] != runtime.Version() {
		t.Errorf("ramp version -o json = %s", out)
	}

	// Without ldflags (GOFLAGS=-buildvcs=false here, so no vcs stamp)
	// the binary says so rather than printing nothing.
	out, err = exec.Command(buildRamp(t), "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "ramp (devel)\ncommit unknown\n"+runtime.Version()) {
		t.Errorf("ramp version without ldflags printed %q", out)
	}
}

// TestVersionFallsBackToTheVCSStamp: without ldflags, the version and
// commit come from the build info the Go toolchain writes (go install
// module@version, or a build in a git checkout).
func TestVersionFallsBackToTheVCSStamp(t *testing.T) {
	bi := &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "feedface"}, {Key: "vcs.modified", Value: "true"}}}
	v := versionOf("", "", bi)
	if v.Version != "v1.2.3" || v.Commit != "feedface" || !v.Modified || !strings.Contains(v.String(), "commit feedface (modified)") {
		t.Errorf("from build info: %+v", v)
	}
	if v := versionOf("v2.0.0", "abc", bi); v.Version != "v2.0.0" || v.Commit != "abc" || v.Modified {
		t.Errorf("ldflags must win over build info: %+v", v)
	}
	if v := versionOf("", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}); v.Version != "(devel)" || v.Commit != "unknown" {
		t.Errorf("no stamp: %+v", v)
	}
}
