package gittest

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Server serves every bare repository under Root over git's smart HTTP
// protocol with the real `git http-backend`, on a free 127.0.0.1 port.
// Pushes are enabled. It is stopped when the test ends.
type Server struct {
	root   string
	http   *httptest.Server
	user   string
	pass   string
	before func()
	inHook atomic.Bool
}

// ServerOption configures a Server.
type ServerOption func(*Server)

// BasicAuth makes the server require HTTP basic auth with user and password
// on every request; anything else gets 401 Unauthorized.
func BasicAuth(user, password string) ServerOption {
	return func(s *Server) { s.user, s.pass = user, password }
}

// BeforeReceive registers fn to run before the server serves a push (the
// receive-pack POST), after the client has read the refs it will update.
// Tests use it to land a concurrent push in between. Pushes that arrive
// while fn runs (for example one fn makes itself) do not call fn again.
func BeforeReceive(fn func()) ServerOption {
	return func(s *Server) { s.before = fn }
}

var (
	backendOnce sync.Once
	backendPath string
	backendErr  error
)

// httpBackend finds git-http-backend in the system git's exec path.
func httpBackend(t testing.TB) string {
	t.Helper()
	backendOnce.Do(func() {
		out, err := exec.Command("git", "--exec-path").Output()
		if err != nil {
			backendErr = err
			return
		}
		backendPath = filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
		_, backendErr = os.Stat(backendPath)
	})
	if backendErr != nil {
		t.Fatalf("gittest: the system git with git-http-backend is required (apt-get install git): %v", backendErr)
	}
	return backendPath
}

// NewServer starts a server over a fresh, empty root directory.
func NewServer(t testing.TB, opts ...ServerOption) *Server {
	t.Helper()
	s := &Server{root: t.TempDir()}
	for _, o := range opts {
		o(s)
	}
	backend := &cgi.Handler{
		Path: httpBackend(t),
		Root: "/",
		Dir:  s.root,
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"HOME=" + t.TempDir(),
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_COUNT=1",
			"GIT_CONFIG_KEY_0=http.receivepack",
			"GIT_CONFIG_VALUE_0=true",
		},
		Stderr: testLog{t},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gittest: listen on 127.0.0.1: %v", err)
	}
	s.http = &httptest.Server{
		Listener: l,
		Config:   &http.Server{Handler: s.handler(backend)},
	}
	s.http.Start()
	t.Cleanup(s.http.Close)
	return s
}

// handler checks credentials, runs the BeforeReceive hook, then hands the
// request to git http-backend.
func (s *Server) handler(backend http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.user != "" || s.pass != "" {
			u, p, ok := r.BasicAuth()
			if !ok || !equal(u, s.user) || !equal(p, s.pass) {
				w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
		}
		if s.before != nil && r.Method == http.MethodPost &&
			strings.HasSuffix(r.URL.Path, "/git-receive-pack") &&
			s.inHook.CompareAndSwap(false, true) {
			s.before()
			s.inHook.Store(false)
		}
		backend.ServeHTTP(w, r)
	})
}

// testLog sends git http-backend's messages to the test log. The server
// closes (waiting for its requests) before the test ends.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("git http-backend: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// URL returns the clone URL of the repository named repo under Root, such
// as "http://127.0.0.1:41234/release.git".
func (s *Server) URL(repo string) string {
	return s.http.URL + "/" + strings.TrimPrefix(repo, "/")
}

// Root returns the directory the served repositories live in.
func (s *Server) Root() string { return s.root }

// InitBare creates an empty bare repository named name under Root, with
// main as its default branch, and returns its path on disk. Serve it at
// URL(name).
func (s *Server) InitBare(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(s.root, name)
	gitIn(t, s.root, nil, "init", "--quiet", "--bare", "--initial-branch=main", dir)
	return dir
}
