// Package e2etest runs the real components of ramp's end-to-end tests:
// a kube-apiserver and etcd (envtest), Flux's source-controller and
// kustomize-controller as local processes, a smart-HTTP git host that
// sends push webhooks, Prometheus, demo apps of two versions, `ramp
// controller`, and in front of the apps either Traefik (the real gateway,
// with Pods standing in for the kubelet and kube-proxy) or a load
// generator that follows the HTTPRoute Flux applied.
// Everything listens on 127.0.0.1 and is stopped when its owner stops.
package e2etest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ramp-dev/ramp/manifest/manifesttest"
)

// Process is a binary run by the harness, its output in a log file.
type Process struct {
	Name string
	// Log is the file the process writes its stdout and stderr to.
	Log string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// StartProcess starts bin with args and env (added to a minimal
// environment) in dir, appending its output to logPath.
func StartProcess(name, bin string, args, env []string, dir, logPath string) (*Process, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s: %s is missing: %w", name, bin, err)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: open log: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TZ=UTC"}, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: a signal to the test does not reach it, and
	// Kill ends it alone.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: start %s: %w", name, bin, err)
	}
	p := &Process{Name: name, Log: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.exited)
	}()
	return p, nil
}

// Exited reports whether the process has ended, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.exited:
		p.mu.Lock()
		defer p.mu.Unlock()
		return true, p.err
	default:
		return false, nil
	}
}

// Kill sends SIGKILL and waits for the process to end: no shutdown code
// runs, as when a node dies.
func (p *Process) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// Stop sends SIGTERM and waits up to grace for the process to end, then
// kills it. Stopping an ended process does nothing.
func (p *Process) Stop(grace time.Duration) {
	if done, _ := p.Exited(); done {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.Kill()
	}
}

// Tail returns the last n bytes of the process's log.
func (p *Process) Tail(n int) string {
	return tailFile(p.Log, n)
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// waitTCP waits until addr accepts connections, the process ends, or
// timeout passes.
func waitTCP(p *Process, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if done, err := p.Exited(); done {
			return fmt.Errorf("%s exited before listening on %s (%v); log %s:\n%s", p.Name, addr, err, p.Log, p.Tail(4096))
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after %s; log %s:\n%s", p.Name, addr, timeout, p.Log, p.Tail(4096))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Root returns the module root: the nearest directory above the working
// directory whose go.mod declares module github.com/ramp-dev/ramp.
func Root() (string, error) { return manifesttest.RepoRoot() }

// Binary returns <root>/bin/<rel>, or an error naming the make target
// that builds it.
func Binary(rel, target string) (string, error) {
	root, err := Root()
	if err != nil {
		return "", err
	}
	path := filepath.Join(root, "bin", rel)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("bin/%s is missing: run `make %s` (the e2e tests run the real binary)", rel, target)
	}
	return path, nil
}
