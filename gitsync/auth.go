package gitsync

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// Auth holds the credentials for one release repository. Which fields count
// depends on the URL: HTTP(S) uses Username and Password, SSH the key and
// known_hosts fields, and file URLs or local paths use none.
type Auth struct {
	// Username and Password are HTTP basic auth credentials. Password may
	// be a token; with a token and no Username, "git" is sent as the user.
	Username, Password string

	// SSHKey is the private key (PEM) for ssh:// and scp-like
	// (user@host:path) URLs, held in memory; SSHKeyPath names a key file
	// instead. SSHKeyPassphrase decrypts it when it is encrypted.
	SSHKey           []byte
	SSHKeyPath       string
	SSHKeyPassphrase []byte

	// KnownHostsPath is the known_hosts file the SSH server's host key is
	// checked against. It is required for SSH URLs unless
	// InsecureIgnoreHostKey is set, which accepts any host key and so lets
	// anyone on the network path impersonate the server.
	KnownHostsPath        string
	InsecureIgnoreHostKey bool
}

// String describes the credentials without revealing a secret.
func (a Auth) String() string {
	switch {
	case len(a.SSHKey) > 0:
		return fmt.Sprintf("ssh key (in memory), known_hosts %q", a.KnownHostsPath)
	case a.SSHKeyPath != "":
		return fmt.Sprintf("ssh key %s, known_hosts %q", a.SSHKeyPath, a.KnownHostsPath)
	case a.Password != "":
		return fmt.Sprintf("http user %q with password (redacted)", a.Username)
	default:
		return "no credentials"
	}
}

// GoString keeps %#v from printing the password or passphrase.
func (a Auth) GoString() string { return "gitsync.Auth{" + a.String() + "}" }

// transportAuth returns the go-git auth method for rawURL, or nil when the
// URL needs none (file URLs, local paths, HTTP without credentials).
func (a Auth) transportAuth(rawURL string) (transport.AuthMethod, error) {
	ep, err := transport.NewEndpoint(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse repository URL %s: %w", redactURL(rawURL), err)
	}
	switch ep.Protocol {
	case "file":
		return nil, nil
	case "http", "https":
		if a.Username == "" && a.Password == "" {
			return nil, nil
		}
		user := a.Username
		if user == "" {
			user = "git"
		}
		return &githttp.BasicAuth{Username: user, Password: a.Password}, nil
	case "ssh":
		return a.sshAuth(ep)
	default:
		return nil, fmt.Errorf("repository URL %s: unsupported protocol %q (use https, ssh or a local path)",
			redactURL(rawURL), ep.Protocol)
	}
}

// sshAuth builds public-key auth whose host key check uses KnownHostsPath.
func (a Auth) sshAuth(ep *transport.Endpoint) (transport.AuthMethod, error) {
	hostCheck, algorithms, err := a.hostKeyCheck(ep)
	if err != nil {
		return nil, err
	}
	pem, name := a.SSHKey, "(in memory)"
	switch {
	case len(pem) > 0:
	case a.SSHKeyPath == "":
		return nil, fmt.Errorf("ssh repository %s: no private key: set SSHKeyPath (the push credentials' SSH key)", ep.Host)
	default:
		if pem, err = os.ReadFile(a.SSHKeyPath); err != nil {
			return nil, fmt.Errorf("read SSH key (SSHKeyPath): %w", err)
		}
		name = a.SSHKeyPath
	}
	signer, err := ssh.ParsePrivateKey(pem)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if len(a.SSHKeyPassphrase) == 0 {
			return nil, fmt.Errorf("SSH key %s is encrypted: set SSHKeyPassphrase", name)
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, a.SSHKeyPassphrase)
	}
	if err != nil {
		// The x/crypto parse errors name the problem, never the key bytes.
		return nil, fmt.Errorf("parse SSH key %s: %w", name, err)
	}
	user := ep.User
	if user == "" {
		user = "git"
	}
	return &gitssh.PublicKeys{
		User:   user,
		Signer: signer,
		HostKeyCallbackHelper: gitssh.HostKeyCallbackHelper{
			HostKeyCallback:   hostCheck,
			HostKeyAlgorithms: algorithms,
		},
	}, nil
}

// hostKeyCheck returns the callback that checks the server's host key
// against KnownHostsPath with golang.org/x/crypto/ssh/knownhosts, and the
// host key algorithms to offer so that the server presents a key type the
// file actually lists for that host.
func (a Auth) hostKeyCheck(ep *transport.Endpoint) (ssh.HostKeyCallback, []string, error) {
	if a.InsecureIgnoreHostKey {
		return ssh.InsecureIgnoreHostKey(), nil, nil
	}
	if a.KnownHostsPath == "" {
		return nil, nil, fmt.Errorf("ssh repository %s: no known_hosts file: set KnownHostsPath to a known_hosts "+
			"file holding the server's host key (InsecureIgnoreHostKey skips the check and is unsafe)", ep.Host)
	}
	if _, err := os.Stat(a.KnownHostsPath); err != nil {
		return nil, nil, fmt.Errorf("ssh repository %s: known_hosts file (KnownHostsPath): %w", ep.Host, err)
	}
	callback, err := knownhosts.New(a.KnownHostsPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read known_hosts file %s (KnownHostsPath): %w", a.KnownHostsPath, err)
	}
	db, err := gitssh.NewKnownHostsDb(a.KnownHostsPath)
	if err != nil {
		return nil, nil, fmt.Errorf("read known_hosts file %s (KnownHostsPath): %w", a.KnownHostsPath, err)
	}
	port := ep.Port
	if port == 0 {
		port = 22
	}
	hostPort := net.JoinHostPort(ep.Host, fmt.Sprint(port))
	return callback, db.HostKeyAlgorithms(hostPort), nil
}

// redactURL returns rawURL with any password replaced, for messages.
func redactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	return u.Redacted()
}
