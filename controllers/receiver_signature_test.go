package controllers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
)

func TestVerifyAcceptsEachHostsSignatureAndRefusesOthers(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	secret := []byte("s3cret")
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	good := hex.EncodeToString(mac.Sum(nil))
	cases := []struct {
		name     string
		headers  map[string]string
		provider string
		ok       bool
	}{
		{"github", map[string]string{"X-Hub-Signature-256": "sha256=" + good}, "github", true},
		{"github without prefix", map[string]string{"X-Hub-Signature-256": good}, "github", false},
		{"github wrong mac", map[string]string{"X-Hub-Signature-256": "sha256=" + good[:62] + "00"}, "github", false},
		{"gitea", map[string]string{"X-Gitea-Signature": good}, "gitea", true},
		{"forgejo", map[string]string{"X-Forgejo-Signature": good}, "forgejo", true},
		{"forgejo not hex", map[string]string{"X-Forgejo-Signature": "zz"}, "forgejo", false},
		{"gitlab", map[string]string{"X-Gitlab-Token": "s3cret"}, "gitlab", true},
		{"gitlab wrong token", map[string]string{"X-Gitlab-Token": "s3cre"}, "gitlab", false},
		{"nothing", map[string]string{"X-GitHub-Event": "push"}, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range c.headers {
				h.Set(k, v)
			}
			provider, err := verify(h, body, secret)
			if provider != c.provider || (err == nil) != c.ok {
				t.Fatalf("verify = %q, %v; want %q, ok=%v", provider, err, c.provider, c.ok)
			}
		})
	}
}
