package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/gitsync/gittest"
	"github.com/ramp-dev/ramp/history"
	"github.com/ramp-dev/ramp/policy/policytest"
)

// gatedRollout is rollout demo with a 3 s analysis of the canary's error
// rate (policytest.GatedYAML's gate) and an approval by sre; a failed
// gate reverts the release field.
var gatedRollout = policytest.GatedYAML("demo",
	"setWeight: 20",
	"analysis: {gates: [error-rate], window: 3s}",
	"setWeight: 50",
	"approval: {group: sre, count: 1}")

// releaseHistory is a release repository on disk with rollout demo
// (gatedRollout), the keys of ramp, alice (group sre) and dev (group dev),
// and, once started, `ramp run --once` against a real Prometheus.
type releaseHistory struct {
	t                              *testing.T
	repo, approvers, keys, rampKey string              // keys: the private keys, by name
	people                         map[string][]string // system git environment per person
	run                            []string            // ramp run --once and its flags
}

// newReleaseRepo creates the repository with `ramp init` and dev's signed
// commit of gatedRollout.
func newReleaseRepo(t *testing.T) *releaseHistory {
	t.Helper()
	global := filepath.Join(t.TempDir(), "gitconfig")
	if err := os.WriteFile(global, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_CONFIG_GLOBAL", global) // for the git that `ramp init` runs
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	h := &releaseHistory{t: t, repo: filepath.Join(t.TempDir(), "repo"), approvers: t.TempDir(), keys: t.TempDir(), people: map[string][]string{}}
	var rampPub string
	h.rampKey, rampPub = gittest.SSHKey(t, h.keys, "ramp")
	for _, who := range []string{"alice", "dev"} {
		key, pub := gittest.SSHKey(t, h.keys, who)
		email := who + "@example.com"
		group := map[string]string{"alice": "sre", "dev": "dev"}[who]
		writeFile(t, filepath.Join(h.approvers, group+".allowed_signers"), email+" "+pub+"\n")
		h.people[who] = gittest.GitEnv(t.TempDir(), "GIT_AUTHOR_NAME="+who, "GIT_AUTHOR_EMAIL="+email,
			"GIT_COMMITTER_NAME="+who, "GIT_COMMITTER_EMAIL="+email,
			"GIT_CONFIG_COUNT=2", "GIT_CONFIG_KEY_0=gpg.format", "GIT_CONFIG_VALUE_0=ssh",
			"GIT_CONFIG_KEY_1=user.signingkey", "GIT_CONFIG_VALUE_1="+key)
	}
	writeFile(t, filepath.Join(h.approvers, "ramp.allowed_signers"), "ramp@localhost "+rampPub+"\n")
	if out, err := runRamp("init", h.repo); err != nil {
		t.Fatalf("ramp init: %v\n%s", err, out)
	}
	writeFile(t, filepath.Join(h.repo, "releases/demo/rollout.yaml"), gatedRollout)
	h.git("dev", "commit", "-q", "-S", "-am", "demo: gate the canary on its error rate")
	return h
}

// serve starts a real Prometheus scraping apps and sets up `ramp run`
// against it.
func (h *releaseHistory) serve(t *testing.T, apps ...*evidencetest.App) {
	t.Helper()
	var targets []string
	for _, app := range apps {
		app.SetTraffic(50)
		targets = append(targets, app.Target)
	}
	prom := evidencetest.StartPrometheus(t, targets, "")
	h.run = []string{"run", "--once", "--repo", h.repo, "--signing-key", h.rampKey, "--approvers", h.approvers, "--prometheus", prom.URL}
}

// newCompletedHistory is a release repository whose rollout demo took
// 1.1.0 through a passed gate and an approval to completion, by `ramp run`
// against a real Prometheus that also scrapes version bad, which answers
// half its requests with 500.
func newCompletedHistory(t *testing.T, bad string) *releaseHistory {
	t.Helper()
	h := newReleaseRepo(t)
	failing := evidencetest.NewApp(t, bad)
	failing.SetErrorRate(0.5)
	h.serve(t, evidencetest.NewApp(t, "1.0.0"), evidencetest.NewApp(t, "1.1.0"), failing)

	h.release(t, "1.0.0", "1.1.0")
	h.until(t, "ramp: demo 1.1.0 step 4/4 pause")
	h.command("approve demo 1.1.0 step 4/4", "Ramp-Approve: rollout=demo release=1.1.0 step=4")
	h.until(t, "ramp: demo 1.1.0 complete")
	return h
}

// newHistory is newCompletedHistory, then 1.2.0 (50% errors) aborted by
// the gate and rolled back.
func newHistory(t *testing.T) *releaseHistory {
	t.Helper()
	h := newCompletedHistory(t, "1.2.0")
	h.release(t, "1.1.0", "1.2.0")
	h.until(t, "ramp: demo 1.2.0 rollback")
	return h
}

// command has alice give a command: a signed empty commit with subject
// and the trailer, e.g. "Ramp-Approve: rollout=demo release=1.1.0 step=4".
func (h *releaseHistory) command(subject, trailer string) {
	h.t.Helper()
	h.git("alice", "commit", "-q", "-S", "--allow-empty", "-m", subject, "--trailer", trailer)
}

// release has dev change the canary's tag with a signed commit.
func (h *releaseHistory) release(t *testing.T, from, to string) {
	t.Helper()
	path := filepath.Join(h.repo, "apps/demo/canary/kustomization.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, strings.Replace(string(b), `newTag: "`+from+`"`, `newTag: "`+to+`"`, 1))
	h.git("dev", "commit", "-q", "-S", "-am", "demo: release "+to)
}

// until runs `ramp run --once` every half second until main's subject
// starts with want, failing after a minute.
func (h *releaseHistory) until(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		if out, err := runRamp(h.run...); err != nil {
			t.Fatalf("ramp %s: %v\n%s", strings.Join(h.run, " "), err, out)
		}
		subject := h.git("dev", "log", "-1", "--format=%s")
		if strings.HasPrefix(subject, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("main is at %q after a minute, want %q\n%s", subject, want, h.git("dev", "log", "--format=%h %s"))
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// git runs the system git in the repository as who.
func (h *releaseHistory) git(who string, args ...string) string {
	h.t.Helper()
	return gittest.Git(h.t, h.repo, h.people[who], args...)
}

// runRamp runs the CLI in-process and returns what it printed.
func runRamp(args ...string) (string, error) {
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAuditHTMLRendersTheTimelineInChromium renders the audit of a real
// history as HTML, has headless Chromium draw it and dump its DOM, and
// checks the picture against the history: one weight point per ramp
// commit, a table row per audited commit, markers for the approval, the
// abort and the rollback, gate points against the dashed bound.
func TestAuditHTMLRendersTheTimelineInChromium(t *testing.T) {
	chromium := chromiumBinary(t)
	h := newHistory(t)
	page, err := runRamp("audit", "demo", "--repo", h.repo, "--approvers", h.approvers, "--verify", "-o", "html")
	if err != nil {
		t.Fatalf("ramp audit -o html --verify: %v\n%s", err, page)
	}
	jsonOut, err := runRamp("audit", "demo", "--repo", h.repo, "--approvers", h.approvers, "--format", "json")
	if err != nil {
		t.Fatalf("ramp audit --format json: %v\n%s", err, jsonOut)
	}
	var audit history.Audit
	if err := json.Unmarshal([]byte(jsonOut), &audit); err != nil {
		t.Fatalf("decode the JSON audit: %v", err)
	}
	assertSelfContained(t, page)

	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	writeFile(t, file, page)
	shot := filepath.Join(dir, "report.png")
	runChromium(t, chromium, dir, "--screenshot="+shot, "--window-size=1200,900", "file://"+file)
	assertPainted(t, shot)
	dom := parseHTML(t, runChromium(t, chromium, dir, "--dump-dom", "file://"+file))
	if keep := os.Getenv("RAMP_TEST_REPORT_DIR"); keep != "" { // to look at the page and the picture
		png, _ := os.ReadFile(shot)
		writeFile(t, filepath.Join(keep, "report.html"), page)
		writeFile(t, filepath.Join(keep, "report.png"), string(png))
		t.Logf("kept report.html and report.png in %s", keep)
	}

	// Hand-written: the ramp commits, as the system git lists them.
	var rampCommits []string
	for _, line := range strings.Split(h.git("dev", "log", "--reverse", "--format=%H %s"), "\n") {
		sha, subject, _ := strings.Cut(line, " ")
		if strings.HasPrefix(subject, "ramp: demo ") {
			rampCommits = append(rampCommits, sha)
		}
	}
	if len(rampCommits) != 10 { // 1.1.0: 4 steps, promote, complete; 1.2.0: 2 steps, abort, rollback
		t.Fatalf("history has %d ramp commits, want 10:\n%s", len(rampCommits), h.git("dev", "log", "--format=%h %s"))
	}
	if got := attrs(dom, "circle", "weight-point", "data-commit"); strings.Join(got, " ") != strings.Join(rampCommits, " ") {
		t.Errorf("weight points link %v, want one per ramp commit in order %v", got, rampCommits)
	}

	var rowIDs []string
	for _, n := range find(dom, "tr", "") {
		if id := attr(n, "id"); id != "" {
			rowIDs = append(rowIDs, id)
		}
	}
	var want []string
	for _, r := range audit.Rows {
		want = append(want, "c-"+r.Commit)
	}
	if strings.Join(rowIDs, " ") != strings.Join(want, " ") {
		t.Errorf("table rows %v, want every commit of the audit %v", rowIDs, want)
	}

	// Markers: the approval (alice's commit), the abort and the rollback.
	approval := h.git("dev", "log", "-1", "--format=%H", "--author=alice")
	abort := h.git("dev", "log", "-1", "--format=%H", "--grep=^ramp: demo 1.2.0 .*abort")
	rollback := h.git("dev", "log", "-1", "--format=%H", "--grep=^ramp: demo 1.2.0 rollback")
	for kind, sha := range map[string]string{"m-approval": approval, "m-abort": abort, "m-rollback": rollback} {
		if got := attrs(dom, "a", kind, "href"); len(got) != 1 || got[0] != "#c-"+sha {
			t.Errorf("%s markers link %v, want exactly #c-%s", kind, got, sha)
		}
	}
	for _, href := range attrs(dom, "a", "marker", "href") {
		if !slices.Contains(rowIDs, strings.TrimPrefix(href, "#")) {
			t.Errorf("marker links %s, which is no row of the table", href)
		}
	}

	// The gate: passed once for 1.1.0 (in step 3's commit), failed in the abort.
	points := find(dom, "circle", "gate-point")
	if len(points) != 2 || attr(points[1], "data-commit") != abort || !hasClass(points[1], "v-fail") || !hasClass(points[0], "v-pass") {
		t.Errorf("gate points %v, want a pass and then the fail of abort %s", attrs(dom, "circle", "gate-point", "class"), abort)
	}
	if len(find(dom, "line", "bound")) != 1 || !strings.Contains(text(dom), "gate error-rate (bound <=0.05)") {
		t.Errorf("want one dashed bound line for error-rate, labelled <=0.05")
	}
}

// chromiumBinary finds Debian's chromium, failing the test without it.
func chromiumBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Fatalf("chromium not found: this test renders the HTML audit in headless Chromium (apt-get install chromium)")
	return ""
}

// runChromium runs headless Chromium with a throwaway profile, loopback
// only, and returns its stdout.
func runChromium(t *testing.T, chromium, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp(dir, "profile")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--user-data-dir=" + profile}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// assertSelfContained checks the page loads nothing: no scripts, no
// links, no sources, and every href an anchor on the page.
func assertSelfContained(t *testing.T, page string) {
	t.Helper()
	doc := parseHTML(t, page)
	for _, n := range find(doc, "", "") {
		for _, a := range n.Attr {
			if a.Key == "src" || (a.Key == "href" && !strings.HasPrefix(a.Val, "#")) || strings.Contains(a.Val, "url(") {
				t.Errorf("<%s %s=%q> refers outside the page", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "script" || n.Data == "link" || n.Data == "img" || n.Data == "iframe" {
			t.Errorf("the page has a <%s>", n.Data)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("the page names a URL")
	}
}

// assertPainted checks the screenshot is a 1200x900 picture with the
// weight line's blue and the failed gate's red in it.
func assertPainted(t *testing.T, path string) {
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
	colours := map[uint32]bool{}
	var blue, red int
	for y := 0; y < 900; y++ {
		for x := 0; x < 1200; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			r, g, b = r>>8, g>>8, b>>8
			colours[r<<16|g<<8|b] = true
			if near(r, 0x25) && near(g, 0x63) && near(b, 0xeb) {
				blue++
			}
			if near(r, 0xdc) && near(g, 0x26) && near(b, 0x26) {
				red++
			}
		}
	}
	if len(colours) < 50 || blue < 200 || red < 20 {
		t.Errorf("screenshot %s looks blank: %d colours, %d weight-line pixels, %d red pixels", path, len(colours), blue, red)
	}
}

func near(a, b uint32) bool { return a+8 >= b && a <= b+8 }

func parseHTML(t *testing.T, s string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

// find returns the elements named tag (any when empty) having class
// (any when empty), in document order.
func find(n *html.Node, tag, class string) []*html.Node {
	var out []*html.Node
	if n.Type == html.ElementNode && (tag == "" || n.Data == tag) && (class == "" || hasClass(n, class)) {
		out = append(out, n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		out = append(out, find(c, tag, class)...)
	}
	return out
}

// attrs returns attribute key of the elements find returns.
func attrs(n *html.Node, tag, class, key string) []string {
	var out []string
	for _, e := range find(n, tag, class) {
		out = append(out, attr(e, key))
	}
	return out
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasClass(n *html.Node, class string) bool {
	return slices.Contains(strings.Fields(attr(n, "class")), class)
}

// text is all the text under n.
func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(text(c))
	}
	return b.String()
}
