package gitsync_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ramp-dev/ramp/policy"
)

// TestAFreezeCalendarThatIsASymbolicLinkHoldsTheRelease: freeze.yaml
// committed as a link to the calendar kept elsewhere in the repository is
// no missing calendar (which would switch the freeze off): the release
// holds before step 1 with a reason naming the link and its target.
func TestAFreezeCalendarThatIsASymbolicLinkHoldsTheRelease(t *testing.T) {
	w := newWorld(t)
	w.cfg.Guardrails = policy.DefaultGuardrails()
	w.loop = w.newLoop()
	w.freezeNow()
	w.git("dev", "mv", "freeze.yaml", "calendar.yaml")
	if err := os.Symlink("calendar.yaml", filepath.Join(w.work, "freeze.yaml")); err != nil {
		t.Fatal(err)
	}
	w.git("dev", "add", "freeze.yaml")
	w.git("dev", "commit", "-q", "-S", "-m", "freeze: calendar kept in calendar.yaml")
	w.git("dev", "push", "-q", "origin", "main")
	w.release("1.1.0")
	before := len(w.serverLog())
	o := w.expect(policy.ActionNone, 0, 0)
	if r := o.Decision.Reason; !strings.Contains(r, "freeze.yaml is a symbolic link (to calendar.yaml)") {
		t.Fatalf("hold %q, want the link and its target named", r)
	}
	if got := len(w.serverLog()) - before; got != 0 {
		t.Fatalf("%d commits with the calendar a link, want none", got)
	}
}
