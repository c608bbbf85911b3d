package e2etest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/evidence/evidencetest"
)

// RampController is `bin/ramp controller` run as a process against the
// cluster, watching one namespace, with its push webhook receiver on a
// loopback port. Kill and Start kill it (SIGKILL) and start it again on
// the same addresses.
type RampController struct {
	// WebhookAddr is the receiver's host:port; hooks go to
	// http://WebhookAddr/hook/<namespace>/<name>.
	WebhookAddr string
	// DataDir holds ramp's clones; Start may be given a new one.
	DataDir string

	bin, kubeconfig, ns, dir string
	proc                     *Process
	starts                   int
}

// NewRampController prepares `ramp controller` for namespace ns, with
// its logs under dir; Start starts it.
func NewRampController(kubeconfig, ns, dir string) (*RampController, error) {
	bin, err := Binary("ramp", "build")
	if err != nil {
		return nil, err
	}
	// `ramp controller` runs the operator binary installed beside ramp.
	if _, err := Binary("ramp-controller", "build"); err != nil {
		return nil, err
	}
	addr, err := evidencetest.FreeAddr()
	if err != nil {
		return nil, err
	}
	return &RampController{WebhookAddr: addr, bin: bin, kubeconfig: kubeconfig, ns: ns, dir: dir,
		DataDir: filepath.Join(dir, "data-0")}, nil
}

// Start starts the controller and waits until its receiver listens.
func (r *RampController) Start() error {
	if r.proc != nil {
		if done, _ := r.proc.Exited(); !done {
			return fmt.Errorf("ramp controller is already running")
		}
	}
	r.starts++
	if err := os.MkdirAll(r.DataDir, 0o700); err != nil {
		return err
	}
	proc, err := StartProcess("ramp controller", r.bin, []string{"controller",
		"--namespace=" + r.ns,
		"--data-dir=" + r.DataDir,
		"--webhook-addr=" + r.WebhookAddr,
		"--metrics-addr=0", "--health-addr=0",
		"--log-level=debug",
	}, []string{"KUBECONFIG=" + r.kubeconfig}, r.dir, filepath.Join(r.dir, fmt.Sprintf("ramp-%d.log", r.starts)))
	if err != nil {
		return err
	}
	r.proc = proc
	return waitTCP(proc, r.WebhookAddr, time.Minute)
}

// Kill ends the controller with SIGKILL: no pass finishes, no status is
// written, nothing is cleaned up.
func (r *RampController) Kill() {
	if r.proc != nil {
		r.proc.Kill()
	}
}

// Stop ends the controller with SIGTERM.
func (r *RampController) Stop() {
	if r.proc != nil {
		r.proc.Stop(30 * time.Second)
	}
}

// Log returns the end of the running (or last) controller's log.
func (r *RampController) Log(n int) string {
	if r.proc == nil {
		return ""
	}
	return r.proc.Tail(n)
}

// HookURL is the receiver's URL for ReleaseRepository ns/name.
func (r *RampController) HookURL(name string) string {
	return "http://" + r.WebhookAddr + "/hook/" + r.ns + "/" + name
}

// RolloutStatus reads the status of rollout of ReleaseRepository ns/name;
// ok is false when the status lists no such rollout yet.
func RolloutStatus(ctx context.Context, c client.Reader, ns, name, rollout string) (s rampv1.RolloutStatus, obj *rampv1.ReleaseRepository, ok bool, err error) {
	obj = &rampv1.ReleaseRepository{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj); err != nil {
		return s, nil, false, fmt.Errorf("get ReleaseRepository %s/%s: %w", ns, name, err)
	}
	for _, r := range obj.Status.Rollouts {
		if r.Name == rollout {
			return r, obj, true, nil
		}
	}
	return s, obj, false, nil
}
