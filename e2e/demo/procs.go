package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// gitServer serves the bare repositories under root over git's smart HTTP
// protocol: the system `git http-backend` behind net/http/cgi, pushes on.
type gitServer struct {
	root string
	url  string
	srv  *http.Server
}

func startGitServer(root string, logTo io.Writer) (*gitServer, error) {
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		return nil, fmt.Errorf("find git's exec path (is git installed?): %w", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		return nil, fmt.Errorf("git-http-backend not found at %s (apt-get install git): %w", backend, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("git server: listen on 127.0.0.1: %w", err)
	}
	h := &cgi.Handler{Path: backend, Dir: root, Stderr: logTo, Env: []string{
		"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
	}}
	s := &gitServer{root: root, url: "http://" + l.Addr().String(), srv: &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

func (s *gitServer) stop(ctx context.Context) { _ = s.srv.Shutdown(ctx) }

// child is a process the demo started; its output goes through a prefix.
type child struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// startChild starts bin with args, its stdout and stderr written line by
// line to out with prefix (to a log file when out is nil).
func startChild(name string, out io.Writer, env []string, bin string, args ...string) (*child, error) {
	c := &child{name: name, cmd: exec.Command(bin, args...), exited: make(chan struct{})}
	c.cmd.Env = env
	pr, pw := io.Pipe()
	c.cmd.Stdout, c.cmd.Stderr = pw, pw
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, bin, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintf(out, "%s\n", sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		c.err = c.cmd.Wait()
		pw.Close()
		close(c.exited)
	}()
	return c, nil
}

// stop sends SIGTERM, then SIGKILL after grace, and waits for the exit.
func (c *child) stop(grace time.Duration) {
	select {
	case <-c.exited:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
}

// console prints whole lines from many goroutines, each with the name of
// who says it in front.
type console struct {
	mu sync.Mutex
	w  io.Writer
}

func (c *console) say(who, format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, line := range strings.Split(strings.TrimRight(fmt.Sprintf(format, args...), "\n"), "\n") {
		fmt.Fprintf(c.w, "%-7s│ %s\n", who, line)
	}
}

// plain prints text as it is.
func (c *console) plain(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.w, format, args...)
}

// as is a writer whose lines the console prints as said by who.
func (c *console) as(who string) io.Writer { return sayer{c, who} }

type sayer struct {
	c   *console
	who string
}

func (s sayer) Write(b []byte) (int, error) {
	s.c.say(s.who, "%s", b)
	return len(b), nil
}
