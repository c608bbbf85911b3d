package manifesttest

import (
	"context"
	"strings"
	"testing"
)

func TestDryRunApplyRefusesWhatGatewayAPIRefuses(t *testing.T) {
	api := StartAPIServer(t)
	route := `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: demo}
spec:
  rules:
    - filters:
        - {type: RequestMirror, requestMirror: {backendRef: {name: demo-canary, port: 80}, percent: PERCENT}}
      backendRefs: [{name: demo-stable, port: 80, weight: 90}, {name: demo-canary, port: 80, weight: 10}]
`
	ctx := context.Background()
	if err := api.DryRunApply(ctx, []byte(strings.Replace(route, "PERCENT", "10", 1))); err != nil {
		t.Fatalf("a valid route: %v", err)
	}
	err := api.DryRunApply(ctx, []byte(strings.Replace(route, "PERCENT", "101", 1)))
	if err == nil || !strings.Contains(err.Error(), "percent") {
		t.Fatalf("a mirror of 101%%: %v, want the API server's refusal naming percent", err)
	}
}
