package main

import (
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// TestAuditHTMLDrawsOneLanePerTarget renders `ramp audit pay -o html` of
// a rollout with targets (eu in wave first taken to promotion, us and ap
// in wave rest not yet handed the release), has headless Chromium dump
// its DOM, and checks the picture against the history as the system git
// lists it: one lane per target in spec order headed with its wave, in
// eu's lane one marker per commit that did something there (ramp's
// hand-over and steps, alice's approval), in order and linked to its
// table row; in the lanes of us and ap only the commit that added their
// files.
func TestAuditHTMLDrawsOneLanePerTarget(t *testing.T) {
	chromium := chromiumBinary(t)
	h := newReleaseRepo(t)
	spec := strings.Replace(policytest.WavesYAML("pay"), "        - analysis: {gates: [error-rate], window: 5m}\n", "        - pause: {}\n", 1)
	for path, content := range gittest.WavesFiles("pay", "1.0.0", spec, "eu", "us", "ap") {
		gittest.WriteFiles(t, h.repo, map[string]string{path: content})
	}
	h.git("dev", "add", "-A")
	h.git("dev", "commit", "-q", "-S", "-m", "pay: rollout in waves")
	writeFile(t, filepath.Join(h.repo, "releases/pay/release.yaml"), gittest.Release("2.0.0"))
	h.git("dev", "commit", "-q", "-S", "-am", "pay: release 2.0.0")
	h.run = []string{"run", "--once", "--repo", h.repo, "--signing-key", h.rampKey, "--approvers", h.approvers}
	h.until(t, "ramp: pay/eu 2.0.0 step 2/2 pause")
	h.command("approve pay eu 2.0.0 step 2", "Ramp-Approve: rollout=pay target=eu release=2.0.0 step=2")
	h.until(t, "ramp: pay/eu 2.0.0 complete")

	page, err := runRamp("audit", "pay", "--repo", h.repo, "--approvers", h.approvers, "-o", "html")
	if err != nil {
		t.Fatalf("ramp audit pay -o html: %v\n%s", err, page)
	}
	assertSelfContained(t, page)
	dir := t.TempDir()
	file := filepath.Join(dir, "pay.html")
	writeFile(t, file, page)
	shot := filepath.Join(dir, "pay.png")
	runChromium(t, chromium, dir, "--screenshot="+shot, "--window-size=1200,900", "file://"+file)
	assertLanesPainted(t, shot)
	dom := parseHTML(t, runChromium(t, chromium, dir, "--dump-dom", "file://"+file))
	if keep := os.Getenv("RAMP_TEST_REPORT_DIR"); keep != "" { // to look at the page and the picture
		png, _ := os.ReadFile(shot)
		writeFile(t, filepath.Join(keep, "pay.html"), page)
		writeFile(t, filepath.Join(keep, "pay.png"), string(png))
		t.Logf("kept pay.html and pay.png in %s", keep)
	}

	// Hand-written: eu's commits as the system git lists them; the commit
	// that added the spec and every target's files is in every lane.
	var euCommits, everyLane []string
	for _, line := range strings.Split(h.git("dev", "log", "--reverse", "--format=%H %s"), "\n") {
		sha, subject, _ := strings.Cut(line, " ")
		if subject == "pay: rollout in waves" {
			everyLane = append(everyLane, sha)
		}
		if subject == "pay: rollout in waves" || strings.HasPrefix(subject, "ramp: pay 2.0.0 start-wave first") || strings.HasPrefix(subject, "ramp: pay/eu ") ||
			subject == "approve pay eu 2.0.0 step 2" {
			euCommits = append(euCommits, sha)
		}
	}
	if len(euCommits) != 7 || len(everyLane) != 1 { // the files, start-wave, set-weight, pause, approval, promote, complete
		t.Fatalf("history has %d commits for eu, want 7:\n%s", len(euCommits), h.git("dev", "log", "--format=%h %s"))
	}

	lanes := find(dom, "g", "lane")
	var targets, waves []string
	for _, l := range lanes {
		targets, waves = append(targets, attr(l, "data-target")), append(waves, attr(l, "data-wave"))
	}
	if strings.Join(targets, " ") != "eu us ap" || strings.Join(waves, " ") != "first rest rest" {
		t.Fatalf("lanes %v of waves %v, want eu us ap of first rest rest", targets, waves)
	}
	var rowIDs []string
	for _, n := range find(dom, "tr", "") {
		if id := attr(n, "id"); id != "" {
			rowIDs = append(rowIDs, id)
		}
	}
	for i, l := range lanes {
		got := attrs(l, "circle", "lane-cell", "data-commit")
		if i > 0 {
			if strings.Join(got, " ") != everyLane[0] {
				t.Errorf("lane %s has markers %v, want only the commit that added its files %s (wave rest was never handed the release)", targets[i], got, everyLane[0])
			}
			continue
		}
		if strings.Join(got, " ") != strings.Join(euCommits, " ") {
			t.Errorf("lane eu has markers %v, want one per commit that did something there, in order: %v", got, euCommits)
		}
		for _, href := range attrs(l, "a", "", "href") {
			if !slices.Contains(rowIDs, strings.TrimPrefix(href, "#")) {
				t.Errorf("a marker of lane eu links %s, which is no row of the table", href)
			}
		}
		if what := attrs(l, "circle", "lane-cell", "data-what"); len(what) != 7 || what[0] != "edit" || what[1] != "start" || what[5] != "promote" {
			t.Errorf("lane eu's markers are %v", what)
		}
	}
	for _, sha := range euCommits {
		if !slices.Contains(rowIDs, "c-"+sha) {
			t.Errorf("the table has no row for %s", sha)
		}
	}
	if txt := text(dom); !strings.Contains(txt, "eu (first)") || !strings.Contains(txt, "ap (rest)") {
		t.Errorf("the lanes are not labelled with their targets and waves:\n%s", txt)
	}
}

// assertLanesPainted checks the screenshot is a 1200x900 picture with the
// step markers' blue and the promotion's green in it.
func assertLanesPainted(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode the screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Fatalf("screenshot is %v, want 1200x900", b)
	}
	var blue, green int
	for y := 0; y < 900; y++ {
		for x := 0; x < 1200; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			if near(r, 0x25) && near(g, 0x63) && near(b, 0xeb) {
				blue++
			}
			if near(r, 0x16) && near(g, 0xa3) && near(b, 0x4a) {
				green++
			}
		}
	}
	if blue < 50 || green < 50 {
		t.Errorf("screenshot %s looks blank: %d step-marker pixels, %d promotion pixels", path, blue, green)
	}
}
