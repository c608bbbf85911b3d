package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// layoutProbe measures the page as Chromium laid it out and writes the
// figures into body[data-layout]: the picture's and the page's widths,
// every pair of picture labels whose boxes overlap, and every word of
// the table that wraps across lines. It goes into a copy of the page
// only: the report itself has no script.
const layoutProbe = `<script>
(function () {
  var svg = document.querySelector('svg').getBoundingClientRect().width;
  var page = document.body.getBoundingClientRect().width;
  var texts = [].slice.call(document.querySelectorAll('svg text')).filter(function (t) { return t.textContent.trim() !== ''; });
  var overlaps = [];
  for (var i = 0; i < texts.length; i++) {
    var a = texts[i].getBoundingClientRect();
    for (var j = i + 1; j < texts.length; j++) {
      var b = texts[j].getBoundingClientRect();
      var w = Math.min(a.right, b.right) - Math.max(a.left, b.left), h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 1 && h > 1) overlaps.push(texts[i].textContent + ' / ' + texts[j].textContent);
    }
  }
  var broken = [];
  document.querySelectorAll('td').forEach(function (td) {
    var walk = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    for (var n = walk.nextNode(); n; n = walk.nextNode()) {
      var re = /\S+/g, m;
      while ((m = re.exec(n.data))) {
        var r = document.createRange();
        r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
        var lines = {};
        [].forEach.call(r.getClientRects(), function (c) { if (c.width > 0) lines[Math.round(c.top)] = true; });
        if (Object.keys(lines).length > 1) broken.push(m[0]);
      }
    }
  });
  document.body.setAttribute('data-layout', JSON.stringify({svg: svg, page: page, overlaps: overlaps, broken: broken}));
})();
</script>`

// TestAuditHTMLLeadsWithTheOutcomeAndLaysOutCleanly renders the audit of
// a real history (1.1.0 completed, 1.2.0 rolled back by its gate, then a
// hand edit of the weight) to a file with --output-file and has headless
// Chromium lay it out: the headline leads with the outcome and the gate's
// value against its bound, the picture spans the page, no two labels of
// the picture overlap, no word of the table wraps across lines, the time
// axis is labelled at round times and the hand-set weight is on the
// weight line.
func TestAuditHTMLLeadsWithTheOutcomeAndLaysOutCleanly(t *testing.T) {
	chromium := chromiumBinary(t)
	h := newHistory(t)
	route := filepath.Join(h.repo, "apps/demo/route.yaml")
	b, err := os.ReadFile(route)
	if err != nil {
		t.Fatal(err)
	}
	edited := regexp.MustCompile(`(name: demo-canary\s+port: 80\s+weight: )0`).ReplaceAllString(string(b), "${1}30")
	edited = regexp.MustCompile(`(name: demo-stable\s+port: 80\s+weight: )100`).ReplaceAllString(edited, "${1}70")
	if edited == string(b) {
		t.Fatalf("test setup: no weights to edit in\n%s", b)
	}
	writeFile(t, route, edited)
	h.git("dev", "commit", "-q", "-S", "-am", "canary to 30% by hand")
	edit := h.git("dev", "rev-parse", "HEAD")

	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	prom := h.run[slices.Index(h.run, "--prometheus")+1]
	if out, err := runRamp("audit", "demo", "--repo", h.repo, "--approvers", h.approvers, "-o", "html", "--output-file", file, "--prometheus", prom); err != nil {
		t.Fatalf("ramp audit -o html --output-file: %v\n%s", err, out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("--output-file wrote nothing: %v", err)
	}
	page := string(data)
	assertSelfContained(t, page)
	if keep := os.Getenv("RAMP_TEST_REPORT_DIR"); keep != "" { // to look at the page
		writeFile(t, filepath.Join(keep, "report-layout.html"), page)
	}
	dom := parseHTML(t, page)

	heads := find(dom, "h1", "headline")
	if len(heads) != 1 {
		t.Fatalf("want one headline, found %d", len(heads))
	}
	head := strings.Join(strings.Fields(text(heads[0])), " ")
	if !regexp.MustCompile(`^release 1\.2\.0 rolled back: gate error-rate: 0\.\d+ > 0\.05 \(\d+ of \d+ measurements failed\); 1 finding\(s\)`).MatchString(head) || !hasClass(heads[0], "bad") {
		t.Errorf("headline %q (class %q), want the outcome first: release 1.2.0 rolled back, the gate's value against its bound", head, attr(heads[0], "class"))
	}
	if got := attrs(dom, "circle", "weight-hand", "data-commit"); len(got) != 2 || got[1] != edit {
		// the first is ramp init's route, written without ramp's signature
		t.Errorf("hand-set weights on the weight line: %v, want the edit %s last", got, edit)
	}
	if !strings.Contains(text(dom), "30% by hand") {
		t.Errorf("the page does not say the weight was set to 30%% by hand")
	}
	for _, l := range find(dom, "text", "mid") {
		if s := text(l); regexp.MustCompile(`^\d\d:\d\d:\d\d$`).MatchString(s) && !strings.HasSuffix(s, "0") && !strings.HasSuffix(s, "2") &&
			!strings.HasSuffix(s, "4") && !strings.HasSuffix(s, "5") && !strings.HasSuffix(s, "6") && !strings.HasSuffix(s, "8") {
			t.Errorf("time tick %q is not a round time", s)
		}
	}

	// The gate panel plots the measurements behind each verdict, measured
	// again from Prometheus: 1.1.0's below the bound, 1.2.0's abort above.
	abort := h.git("dev", "log", "-1", "--format=%H", "--grep=^ramp: demo 1.2.0 .*abort")
	passed := attrs(dom, "circle", "gate-point", "data-commit")[0]
	values := func(commit string) []float64 {
		var vs []float64
		for _, c := range find(dom, "circle", "measure-point") {
			if attr(c, "data-commit") != commit {
				continue
			}
			_, v, _ := strings.Cut(text(c), "UTC: ")
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("measurement title %q", text(c))
			}
			vs = append(vs, f)
		}
		return vs
	}
	if len(attrs(dom, "path", "gate-series", "data-commit")) != 2 {
		t.Errorf("gate series %v, want one per recorded verdict (%s, %s)", attrs(dom, "path", "gate-series", "data-commit"), passed, abort)
	}
	if vs := values(passed); len(vs) == 0 || slices.Max(vs) > 0.05 {
		t.Errorf("1.1.0's measurements %v, want some, all within <=0.05", vs)
	}
	if vs := values(abort); len(vs) == 0 || slices.Max(vs) <= 0.05 {
		t.Errorf("1.2.0's measurements %v, want some above the bound 0.05", vs)
	}

	probe := filepath.Join(dir, "probe.html")
	writeFile(t, probe, strings.Replace(page, "</body>", layoutProbe+"</body>", 1))
	laid := parseHTML(t, runChromium(t, chromium, dir, "--dump-dom", "--window-size=1600,1000", "file://"+probe))
	var layout struct {
		SVG, Page float64
		Overlaps  []string
		Broken    []string
	}
	bodies := find(laid, "body", "")
	if len(bodies) != 1 || json.Unmarshal([]byte(attr(bodies[0], "data-layout")), &layout) != nil {
		t.Fatalf("the layout probe reported nothing")
	}
	if layout.Page < 1400 || layout.SVG < layout.Page-4 {
		t.Errorf("the picture is %.0fpx wide on a %.0fpx page, want the page's width", layout.SVG, layout.Page)
	}
	if len(layout.Overlaps) > 0 {
		t.Errorf("labels of the picture overlap: %q", layout.Overlaps)
	}
	if len(layout.Broken) > 0 {
		t.Errorf("words of the table wrap across lines: %q", layout.Broken)
	}
}
