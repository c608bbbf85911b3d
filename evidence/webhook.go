package evidence

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/ramp-dev/ramp/policy"
)

// SignatureHeader carries the HMAC-SHA256 of a webhook's body,
// "sha256=<hex>", when the gate names a secret.
const SignatureHeader = "X-Ramp-Signature"

// DefaultWebhookTimeout bounds a webhook call when its gate sets no timeout.
const DefaultWebhookTimeout = 30 * time.Second

// WebhookPayload is the JSON body a webhook gate receives.
type WebhookPayload struct {
	Rollout string `json:"rollout"`
	Release string `json:"release"`
	Stable  string `json:"stable"`
	Step    int    `json:"step"`
	Gate    string `json:"gate"`
}

// CallWebhook POSTs the payload to a webhook gate's URL and judges the
// answer with policy.JudgeWebhook: 2xx passes, 4xx and 5xx fail, a timeout
// or connection error holds. When the gate names SecretEnv, the body is
// signed with the key env returns for it; a named but empty variable
// holds the gate rather than sending an unsigned call.
func CallWebhook(ctx context.Context, c *http.Client, g policy.Gate, p WebhookPayload, env func(string) string) policy.GateResult {
	wh := g.Webhook
	if wh == nil {
		return policy.JudgeWebhook(g, 0, "", "gate has no webhook")
	}
	body, err := json.Marshal(p)
	if err != nil {
		return policy.JudgeWebhook(g, 0, "", "encode payload: "+err.Error())
	}
	timeout := wh.Timeout.Duration
	if timeout <= 0 {
		timeout = DefaultWebhookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, bytes.NewReader(body))
	if err != nil {
		return policy.JudgeWebhook(g, 0, "", "webhook url: not a valid URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "ramp")
	if wh.SecretEnv != "" {
		key := env(wh.SecretEnv)
		if key == "" {
			return policy.JudgeWebhook(g, 0, "", fmt.Sprintf(
				"signing key: environment variable %s is empty or unset; set it or remove secretEnv", wh.SecretEnv))
		}
		req.Header.Set(SignatureHeader, sign([]byte(key), body))
	}
	resp, err := c.Do(req)
	if err != nil {
		return policy.JudgeWebhook(g, 0, "", transportError(req, err, timeout))
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return policy.JudgeWebhook(g, resp.StatusCode, string(got), "")
}

// sign returns the signature header value of body under key.
func sign(key, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// transportError says why a call got no answer, naming the host only: a
// webhook URL's path or query may hold a token.
func transportError(req *http.Request, err error, timeout time.Duration) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || (uerr != nil && uerr.Timeout()) {
		return fmt.Sprintf("POST %s: no answer within %s", req.URL.Host, timeout)
	}
	return fmt.Sprintf("POST %s: %v", req.URL.Host, err)
}
