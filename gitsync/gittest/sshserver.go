package gittest

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
)

// SSHServer serves the repositories under a root directory over SSH on
// 127.0.0.1, running the system git's upload-pack or receive-pack for each
// exec request, as a git host does. It accepts one client key.
type SSHServer struct {
	root string
	addr string
	// HostLine is the server's public host key in authorized_keys format,
	// for a known_hosts line.
	HostLine string
	cfg      *ssh.ServerConfig
	wg       sync.WaitGroup
}

// NewSSHServer serves root over SSH to the client whose public key is
// clientPub (an authorized_keys line). It stops when the test ends.
func NewSSHServer(t testing.TB, root, clientPub string) *SSHServer {
	t.Helper()
	allowed, _, _, _, err := ssh.ParseAuthorizedKey([]byte(clientPub))
	if err != nil {
		t.Fatalf("gittest: client key: %v", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	host, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	s := &SSHServer{root: root, HostLine: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(host.PublicKey())))}
	s.cfg = &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
		if string(key.Marshal()) != string(allowed.Marshal()) {
			return nil, errors.New("unknown key")
		}
		return nil, nil
	}}
	s.cfg.AddHostKey(host)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("gittest: listen on 127.0.0.1: %v", err)
	}
	s.addr = l.Addr().String()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		s.wg.Wait()
	})
	return s
}

// URL returns the ssh:// URL of the repository name under the root.
func (s *SSHServer) URL(name string) string {
	return "ssh://git@" + s.addr + "/" + strings.TrimPrefix(name, "/")
}

// KnownHostsLine returns the known_hosts line for the server.
func (s *SSHServer) KnownHostsLine() string {
	host, port, _ := net.SplitHostPort(s.addr)
	return "[" + host + "]:" + port + " " + s.HostLine
}

func (s *SSHServer) serve(c net.Conn) {
	defer c.Close()
	_, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(ch, creqs)
		}()
	}
}

// session runs the one git command an exec request asks for
// ("git-receive-pack '/name.git'") and reports its exit status.
func (s *SSHServer) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	for req := range reqs {
		if req.Type != "exec" {
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
			continue
		}
		var exe struct{ Command string }
		service, path, ok := "", "", false
		if ssh.Unmarshal(req.Payload, &exe) == nil {
			service, path, ok = strings.Cut(exe.Command, " ")
		}
		service = strings.TrimPrefix(service, "git-")
		if !ok || service != "upload-pack" && service != "receive-pack" {
			_ = req.Reply(false, nil)
			continue
		}
		_ = req.Reply(true, nil)
		dir := filepath.Join(s.root, filepath.FromSlash(strings.Trim(path, "'/")))
		cmd := exec.Command("git", service, dir)
		cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
		code := uint32(1)
		if stdin, err := cmd.StdinPipe(); err == nil && cmd.Start() == nil {
			go func() {
				_, _ = io.Copy(stdin, ch)
				stdin.Close()
			}()
			if err := cmd.Wait(); err == nil {
				code = 0
			}
		}
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Code uint32 }{code}))
		return
	}
}
