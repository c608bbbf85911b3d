package evidence

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ramp-dev/ramp/policy"
)

// hookServer is a webhook receiver on loopback that records what it got.
type hookServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
}

func newHookServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, body)
		h.sigs = append(h.sigs, r.Header.Get("X-Ramp-Signature"))
		h.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

func hookGate(url string, timeout time.Duration, secretEnv string) policy.Gate {
	return policy.Gate{Name: "smoke", Webhook: &policy.WebhookGate{
		URL: url, Timeout: policy.Duration{Duration: timeout}, SecretEnv: secretEnv,
	}}
}

var payload = WebhookPayload{Rollout: "payment-api", Release: "2.4.0", Stable: "2.3.1", Step: 3, Gate: "smoke"}

func noEnv(string) string { return "" }

func TestWebhookPassesOn2xxAndSendsThePayload(t *testing.T) {
	h := newHookServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	res := CallWebhook(context.Background(), h.Client(), hookGate(h.URL+"/smoke", time.Second, ""), payload, noEnv)
	if res.Verdict != policy.Pass || res.Reason != "status 202" {
		t.Fatalf("got %s %q, want pass \"status 202\"", res.Verdict, res.Reason)
	}
	var got map[string]any
	if err := json.Unmarshal(h.bodies[0], &got); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, h.bodies[0])
	}
	want := map[string]any{"rollout": "payment-api", "release": "2.4.0", "stable": "2.3.1", "step": float64(3), "gate": "smoke"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("body[%s] = %v, want %v (body %s)", k, got[k], v, h.bodies[0])
		}
	}
	if h.sigs[0] != "" {
		t.Errorf("unsigned gate sent a signature %q", h.sigs[0])
	}
}

func TestWebhookFailsOn5xxWithStatusAndBody(t *testing.T) {
	h := newHookServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "smoke test: 3 of 20 checks failed"+strings.Repeat(".", 300), http.StatusInternalServerError)
	})
	res := CallWebhook(context.Background(), h.Client(), hookGate(h.URL, time.Second, ""), payload, noEnv)
	want := "status 500: smoke test: 3 of 20 checks failed" + strings.Repeat(".", 200-len("smoke test: 3 of 20 checks failed"))
	if res.Verdict != policy.Fail || res.Reason != want || res.Value != 500 {
		t.Fatalf("got %s %v %q, want fail 500 %q", res.Verdict, res.Value, res.Reason, want)
	}
}

func TestWebhookFailsOn4xx(t *testing.T) {
	h := newHookServer(t, func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	res := CallWebhook(context.Background(), h.Client(), hookGate(h.URL, time.Second, ""), payload, noEnv)
	if res.Verdict != policy.Fail || !strings.HasPrefix(res.Reason, "status 404") {
		t.Fatalf("got %s %q, want fail status 404", res.Verdict, res.Reason)
	}
}

func TestWebhookTimeoutIsInconclusive(t *testing.T) {
	release := make(chan struct{})
	h := newHookServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	begin := time.Now()
	res := CallWebhook(context.Background(), h.Client(), hookGate(h.URL, 200*time.Millisecond, ""), payload, noEnv)
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("call took %s, want about the 200ms timeout", took)
	}
	host := strings.TrimPrefix(h.URL, "http://")
	want := "webhook unreachable: POST " + host + ": no answer within 200ms"
	if res.Verdict != policy.Inconclusive || res.Reason != want {
		t.Fatalf("got %s %q, want inconclusive %q", res.Verdict, res.Reason, want)
	}
}

func TestWebhookConnectionRefusedIsInconclusive(t *testing.T) {
	h := newHookServer(t, func(w http.ResponseWriter, r *http.Request) {})
	url := h.URL + "/hook?token=secret-in-url"
	h.Close()
	res := CallWebhook(context.Background(), http.DefaultClient, hookGate(url, time.Second, ""), payload, noEnv)
	if res.Verdict != policy.Inconclusive || !strings.Contains(res.Reason, "connection refused") {
		t.Fatalf("got %s %q, want inconclusive naming connection refused", res.Verdict, res.Reason)
	}
	if strings.Contains(res.Reason, "secret-in-url") {
		t.Errorf("reason leaks the URL's query: %q", res.Reason)
	}
}

func TestWebhookSignsTheBodyWithHMAC(t *testing.T) {
	const key = "hook-key-for-tests"
	h := newHookServer(t, func(w http.ResponseWriter, r *http.Request) {})
	env := func(name string) string {
		if name == "SMOKE_HMAC_KEY" {
			return key
		}
		return ""
	}
	res := CallWebhook(context.Background(), h.Client(), hookGate(h.URL, time.Second, "SMOKE_HMAC_KEY"), payload, env)
	if res.Verdict != policy.Pass {
		t.Fatalf("got %s %q, want pass", res.Verdict, res.Reason)
	}
	// The receiver's check, written out as a receiver would.
	m := hmac.New(sha256.New, []byte(key))
	m.Write(h.bodies[0])
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	if h.sigs[0] != want {
		t.Errorf("X-Ramp-Signature = %q, want %q", h.sigs[0], want)
	}
	if strings.Contains(res.Reason, key) {
		t.Errorf("reason leaks the key: %q", res.Reason)
	}
}

func TestWebhookWithUnsetSecretHoldsWithoutCalling(t *testing.T) {
	h := newHookServer(t, func(w http.ResponseWriter, r *http.Request) {})
	res := CallWebhook(context.Background(), h.Client(), hookGate(h.URL, time.Second, "SMOKE_HMAC_KEY"), payload, noEnv)
	if res.Verdict != policy.Inconclusive || !strings.Contains(res.Reason, "environment variable SMOKE_HMAC_KEY is empty or unset") {
		t.Fatalf("got %s %q, want inconclusive naming the variable", res.Verdict, res.Reason)
	}
	if len(h.bodies) != 0 {
		t.Errorf("webhook was called %d times without its signing key", len(h.bodies))
	}
}
