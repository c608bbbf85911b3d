package controllers_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/controllers"
)

const hookSecret = "a-shared-webhook-secret"

func TestWebhookPushTriggersReconcileAndBadSignatureIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.create(&corev1.Secret{ObjectMeta: w.meta("hook"), Data: map[string][]byte{rampv1.TokenKey: []byte(hookSecret)}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.start(func(o *controllers.Options) { o.WebhookListener = l })
	w.repository(repoName, func(rr *rampv1.ReleaseRepository) {
		rr.Spec.Webhook = &rampv1.Webhook{SecretRef: meta.LocalObjectReference{Name: "hook"}}
	})
	w.wait(repoName, "the first reconcile", func(rr *rampv1.ReleaseRepository) bool { return rr.Status.LastFetchedRevision != "" })
	url := "http://" + l.Addr().String() + controllers.HookPath + w.ns + "/" + repoName
	push := []byte(`{"ref":"refs/heads/main","after":"0000000000000000000000000000000000000000"}`)

	// A delivery whose signature does not verify: 401, nothing requested.
	w.release(releaseVersion)
	code, body := post(t, url, push, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(push, "wrong-secret")})
	if code != http.StatusUnauthorized {
		t.Fatalf("bad signature: %d %s, want 401", code, body)
	}
	code, _ = post(t, url, push, map[string]string{"X-GitHub-Event": "push"})
	if code != http.StatusUnauthorized {
		t.Fatalf("unsigned delivery: %d, want 401", code)
	}
	if v := w.get(repoName).Annotations[meta.ReconcileRequestAnnotation]; v != "" {
		t.Fatalf("a refused delivery requested a reconcile (%s)", v)
	}

	// A push to another branch is acknowledged and ignored.
	other := []byte(`{"ref":"refs/heads/feature"}`)
	code, body = post(t, url, other, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(other, hookSecret)})
	if code != http.StatusOK || w.get(repoName).Annotations[meta.ReconcileRequestAnnotation] != "" {
		t.Fatalf("push to feature: %d %s, want 200 and no reconcile request", code, body)
	}

	// A signed GitHub push to main: ramp reconciles at once and enters step 1.
	code, body = post(t, url, push, map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign(push, hookSecret)})
	if code != http.StatusAccepted {
		t.Fatalf("signed push: %d %s, want 202", code, body)
	}
	requested := w.get(repoName).Annotations[meta.ReconcileRequestAnnotation]
	if requested == "" {
		t.Fatalf("signed push set no %s annotation", meta.ReconcileRequestAnnotation)
	}
	w.wait(repoName, "step 1 after the webhook", func(rr *rampv1.ReleaseRepository) bool {
		return rr.Status.LastHandledReconcileAt == requested && rollout(rr).Step == 1
	})

	// GitLab's token and Gitea's and Forgejo's HMAC are accepted too.
	for _, h := range []map[string]string{
		{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": hookSecret},
		{"X-Gitea-Event": "push", "X-Gitea-Signature": sign(push, hookSecret)},
		{"X-Forgejo-Event": "push", "X-Forgejo-Signature": sign(push, hookSecret)},
	} {
		before := w.get(repoName).Annotations[meta.ReconcileRequestAnnotation]
		if code, body := post(t, url, push, h); code != http.StatusAccepted {
			t.Fatalf("%v: %d %s, want 202", h, code, body)
		}
		if after := w.get(repoName).Annotations[meta.ReconcileRequestAnnotation]; after == before {
			t.Fatalf("%v: the reconcile request annotation did not change", h)
		}
	}
	bad := map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "guess"}
	if code, _ := post(t, url, push, bad); code != http.StatusUnauthorized {
		t.Fatalf("wrong GitLab token: %d, want 401", code)
	}
}

func sign(body []byte, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func post(t *testing.T, url string, body []byte, headers map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
