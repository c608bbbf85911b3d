package controllers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
)

// HookPath is the path prefix of the receiver: POST /hook/<namespace>/<name>.
const HookPath = "/hook/"

// maxHookBody bounds a webhook payload.
const maxHookBody = 5 << 20

// Receiver is the push webhook endpoint. A push to a ReleaseRepository's
// branch, signed with the shared secret of its spec.webhook.secretRef
// (GitHub: X-Hub-Signature-256 HMAC; Gitea and Forgejo: X-Gitea-Signature
// or X-Forgejo-Signature HMAC; GitLab: X-Gitlab-Token), sets the
// repository's reconcile request annotation, so it is reconciled at once.
// Anything not verified is refused with 401 and triggers nothing; polling
// remains the fallback.
type Receiver struct {
	// Client patches the ReleaseRepository's annotation.
	Client client.Client
	// Reader gets ReleaseRepositories and Secrets (uncached).
	Reader client.Reader
	Log    logr.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// ServeHTTP handles one webhook delivery.
func (h *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "use POST", http.StatusMethodNotAllowed)
		return
	}
	ns, name, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, HookPath), "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") || !strings.HasPrefix(req.URL.Path, HookPath) {
		http.Error(w, "want "+HookPath+"<namespace>/<name>", http.StatusNotFound)
		return
	}
	key := types.NamespacedName{Namespace: ns, Name: name}
	log := h.Log.WithValues("releaserepository", key.String())
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxHookBody))
	if err != nil {
		http.Error(w, "payload too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	ctx := req.Context()
	obj := &rampv1.ReleaseRepository{}
	if err := h.Reader.Get(ctx, key, obj); err != nil || obj.Spec.Webhook == nil {
		if err != nil && !apierrors.IsNotFound(err) {
			log.Error(err, "webhook: get ReleaseRepository")
			http.Error(w, "cannot read the ReleaseRepository", http.StatusInternalServerError)
			return
		}
		http.Error(w, "no ReleaseRepository with a webhook here", http.StatusNotFound)
		return
	}
	secret, err := h.token(ctx, obj)
	if err != nil {
		log.Info("webhook: no usable secret", "error", err.Error())
		http.Error(w, "the webhook secret is not available", http.StatusServiceUnavailable)
		return
	}
	provider, err := verify(req.Header, body, secret)
	if err != nil {
		log.Info("webhook: refused", "error", err.Error())
		http.Error(w, "signature or token does not verify", http.StatusUnauthorized)
		return
	}
	event := eventOf(req.Header)
	if event == "ping" {
		fmt.Fprintln(w, "pong")
		return
	}
	var payload struct {
		Ref string `json:"ref"`
	}
	if err := json.Unmarshal(body, &payload); err != nil {
		http.Error(w, "payload is not JSON", http.StatusBadRequest)
		return
	}
	want := "refs/heads/" + obj.GetBranch()
	if (event != "" && event != "push" && event != "Push Hook") || payload.Ref != want {
		fmt.Fprintf(w, "ignored: event %q ref %q is not a push to %s\n", event, payload.Ref, want)
		return
	}
	if err := h.request(ctx, obj); err != nil {
		log.Error(err, "webhook: request reconcile")
		http.Error(w, "cannot request a reconcile", http.StatusInternalServerError)
		return
	}
	log.Info("webhook: push received, reconcile requested", "provider", provider, "ref", payload.Ref)
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintln(w, "reconcile requested")
}

// token reads the shared secret of the repository's webhook.
func (h *Receiver) token(ctx context.Context, obj *rampv1.ReleaseRepository) ([]byte, error) {
	s := &corev1.Secret{}
	key := types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.Webhook.SecretRef.Name}
	if err := h.Reader.Get(ctx, key, s); err != nil {
		return nil, fmt.Errorf("spec.webhook.secretRef: get Secret %s: %w", key, err)
	}
	tok := []byte(strings.TrimSpace(string(s.Data[rampv1.TokenKey])))
	if len(tok) == 0 {
		return nil, fmt.Errorf("spec.webhook.secretRef: Secret %s has no %s key", key, rampv1.TokenKey)
	}
	return tok, nil
}

// request sets the reconcile request annotation of obj to now.
func (h *Receiver) request(ctx context.Context, obj *rampv1.ReleaseRepository) error {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{meta.ReconcileRequestAnnotation: now().UTC().Format(time.RFC3339Nano)}}})
	if err != nil {
		return err
	}
	return h.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch))
}

// verify checks the delivery's signature or token against secret and
// returns which kind of host sent it.
func verify(hdr http.Header, body, secret []byte) (string, error) {
	switch {
	case hdr.Get("X-Hub-Signature-256") != "":
		sig, ok := strings.CutPrefix(hdr.Get("X-Hub-Signature-256"), "sha256=")
		if !ok {
			return "github", errors.New("X-Hub-Signature-256 is not sha256=<hex>")
		}
		return "github", checkHMAC(sig, body, secret)
	case hdr.Get("X-Forgejo-Signature") != "":
		return "forgejo", checkHMAC(hdr.Get("X-Forgejo-Signature"), body, secret)
	case hdr.Get("X-Gitea-Signature") != "":
		return "gitea", checkHMAC(hdr.Get("X-Gitea-Signature"), body, secret)
	case hdr.Get("X-Gitlab-Token") != "":
		if subtle.ConstantTimeCompare([]byte(hdr.Get("X-Gitlab-Token")), secret) != 1 {
			return "gitlab", errors.New("X-Gitlab-Token does not match")
		}
		return "gitlab", nil
	}
	return "", errors.New("no X-Hub-Signature-256, X-Gitea-Signature, X-Forgejo-Signature or X-Gitlab-Token header")
}

// checkHMAC compares a hex HMAC-SHA256 of body with sig in constant time.
func checkHMAC(sig string, body, secret []byte) error {
	got, err := hex.DecodeString(strings.TrimSpace(sig))
	if err != nil {
		return errors.New("signature is not hex")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("HMAC does not match")
	}
	return nil
}

// eventOf returns the delivery's event name, "" when no header names one.
func eventOf(hdr http.Header) string {
	for _, h := range []string{"X-GitHub-Event", "X-Forgejo-Event", "X-Gitea-Event", "X-Gitlab-Event"} {
		if v := hdr.Get(h); v != "" {
			return v
		}
	}
	return ""
}

// ReceiverServer serves a Receiver on Addr as a manager runnable. Every
// replica serves it, leader or not: it only annotates, and the leader
// reconciles.
type ReceiverServer struct {
	Addr     string
	Receiver *Receiver
	// Listener, when set, is used instead of listening on Addr.
	Listener net.Listener
}

// NeedLeaderElection reports false: followers receive webhooks too.
func (s *ReceiverServer) NeedLeaderElection() bool { return false }

// Start serves until ctx is done, then shuts down gracefully.
func (s *ReceiverServer) Start(ctx context.Context) error {
	mux := http.NewServeMux()
	mux.Handle(HookPath, s.Receiver)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	l := s.Listener
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", s.Addr); err != nil {
			return fmt.Errorf("webhook receiver: listen on %s: %w", s.Addr, err)
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return fmt.Errorf("webhook receiver: %w", err)
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(shut)
	}
}
