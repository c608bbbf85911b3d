package e2etest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/gitsync/gittest"
)

// GitHost is a git host: gittest's smart-HTTP server (the real `git
// http-backend`) behind a proxy that, like GitHub, sends a signed push
// webhook (X-GitHub-Event: push, X-Hub-Signature-256) to every registered
// URL after a push moved a branch.
type GitHost struct {
	server *gittest.Server
	http   *http.Server
	url    string
	t      testing.TB

	mu       sync.Mutex
	hooks    []hook
	sending  sync.WaitGroup
	received []Delivery
}

type hook struct {
	url    string
	secret []byte
}

// Delivery is one webhook the host sent and the answer it got.
type Delivery struct {
	URL, Ref, After string
	Status          int
	Err             error
}

// NewGitHost starts a git host on a free 127.0.0.1 port; it stops when
// the test ends.
func NewGitHost(t testing.TB) *GitHost {
	t.Helper()
	h := &GitHost{server: gittest.NewServer(t), t: t}
	backend, err := url.Parse(h.server.URL(""))
	if err != nil {
		t.Fatalf("git host: %v", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(backend)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("git host: listen: %v", err)
	}
	h.url = "http://" + l.Addr().String()
	h.http = &http.Server{Handler: h.handler(proxy), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.http.Serve(l) }()
	t.Cleanup(func() {
		_ = h.http.Close()
		h.sending.Wait()
	})
	return h
}

// InitBare creates an empty bare repository name (such as release.git)
// and returns its clone URL.
func (h *GitHost) InitBare(name string) string {
	h.server.InitBare(h.t, name)
	return h.URL(name)
}

// URL is the clone URL of repository name.
func (h *GitHost) URL(name string) string { return h.url + "/" + name }

// AddWebhook registers a push webhook signed with secret.
func (h *GitHost) AddWebhook(url string, secret []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hooks = append(h.hooks, hook{url: url, secret: secret})
}

// Deliveries returns the webhooks sent so far.
func (h *GitHost) Deliveries() []Delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Delivery(nil), h.received...)
}

// handler proxies to git http-backend and, after a push, sends the
// webhooks for every branch the push moved.
func (h *GitHost) handler(proxy http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		repo, isPush := strings.CutSuffix(r.URL.Path, "/git-receive-pack")
		if !isPush || r.Method != http.MethodPost {
			proxy.ServeHTTP(w, r)
			return
		}
		dir := filepath.Join(h.server.Root(), strings.TrimPrefix(repo, "/"))
		before := branches(dir)
		proxy.ServeHTTP(w, r)
		for ref, after := range branches(dir) {
			if before[ref] != after {
				h.send(ref, before[ref], after)
			}
		}
	})
}

// branches returns the branch tips of the bare repository dir.
func branches(dir string) map[string]string {
	out, err := exec.Command("git", "--git-dir", dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads").Output()
	tips := map[string]string{}
	if err != nil {
		return tips
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if ref, sha, ok := strings.Cut(line, " "); ok {
			tips[ref] = sha
		}
	}
	return tips
}

// send delivers a push event for ref to every hook, in the background.
func (h *GitHost) send(ref, before, after string) {
	if before == "" {
		before = strings.Repeat("0", 40)
	}
	body, _ := json.Marshal(map[string]string{"ref": ref, "before": before, "after": after})
	h.mu.Lock()
	hooks := append([]hook(nil), h.hooks...)
	h.mu.Unlock()
	for _, hk := range hooks {
		h.sending.Add(1)
		go func() {
			defer h.sending.Done()
			mac := hmac.New(sha256.New, hk.secret)
			mac.Write(body)
			req, _ := http.NewRequest(http.MethodPost, hk.url, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "push")
			req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
			d := Delivery{URL: hk.url, Ref: ref, After: after}
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				d.Err = err
			} else {
				d.Status = resp.StatusCode
				resp.Body.Close()
			}
			h.mu.Lock()
			h.received = append(h.received, d)
			h.mu.Unlock()
		}()
	}
}

// String describes the deliveries, for failure messages.
func (d Delivery) String() string {
	if d.Err != nil {
		return fmt.Sprintf("%s %s@%.10s: %v", d.URL, d.Ref, d.After, d.Err)
	}
	return fmt.Sprintf("%s %s@%.10s: %d", d.URL, d.Ref, d.After, d.Status)
}
