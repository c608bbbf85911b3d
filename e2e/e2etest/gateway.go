package e2etest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
)

// Host is the host name the demo's HTTPRoute and IngressRoute serve.
const Host = "demo.example.com"

// The gateway's kinds.
var (
	GatewayClassGVK = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "GatewayClass"}
	GatewayGVK      = schema.GroupVersionKind{Group: "gateway.networking.k8s.io", Version: "v1", Kind: "Gateway"}
)

// Traefik is a real gateway in front of a world's apps: bin/traefik (make
// tool-traefik) reading the world's namespace through KUBECONFIG, with
// its kubernetesgateway provider (the HTTPRoute that Flux applied, on the
// Gateway the world creates) and its kubernetescrd provider
// (TraefikServices and IngressRoutes) on one entryPoint, web. Services are
// reached by their ClusterIP (nativeLB), where Pods listens.
type Traefik struct {
	*Process
	// Addr is the web entryPoint (127.0.0.1:port); Port its port, which
	// the Gateway's listener must name.
	Addr string
	Port int
	api  string // the traefik entryPoint: ping and the API

	http *http.Client
}

// StartTraefik starts Traefik for namespace ns with the kubeconfig of
// the cluster, its log in dir, and waits until it answers its ping.
func StartTraefik(kubeconfig, ns, dir string) (*Traefik, error) {
	bin, err := Binary("traefik", "tool-traefik")
	if err != nil {
		return nil, err
	}
	web, err := evidencetest.FreeAddr()
	if err != nil {
		return nil, err
	}
	api, err := evidencetest.FreeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(web)
	t := &Traefik{Addr: web, api: api,
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}}
	t.Port, _ = strconv.Atoi(port)
	t.Process, err = StartProcess("traefik", bin, []string{
		"--entryPoints.web.address=" + web,
		"--entryPoints.traefik.address=" + api,
		"--ping=true", "--api=true", "--api.insecure=true",
		"--providers.kubernetesgateway=true",
		"--providers.kubernetesgateway.namespaces=" + ns,
		"--providers.kubernetesgateway.nativelbbydefault=true",
		"--providers.kubernetesgateway.throttleDuration=200ms",
		"--providers.kubernetescrd=true",
		"--providers.kubernetescrd.namespaces=" + ns,
		"--providers.kubernetescrd.throttleDuration=200ms",
		"--global.checkNewVersion=false", "--global.sendAnonymousUsage=false",
		"--log.level=INFO",
	}, []string{"KUBECONFIG=" + kubeconfig}, dir, filepath.Join(dir, "traefik.log"))
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := t.http.Get("http://" + api + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return t, nil
			}
		}
		if exited, why := t.Exited(); exited || time.Now().After(deadline) {
			t.Stop(5 * time.Second)
			return nil, fmt.Errorf("traefik did not answer its ping (exited %v: %v):\n%s", exited, why, t.Tail(4<<10))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Config returns Traefik's HTTP routers and services as its API reports
// them (JSON), to wait for a configuration to be in force.
func (t *Traefik) Config() (string, error) {
	var b strings.Builder
	for _, path := range []string{"/api/http/routers", "/api/http/services"} {
		resp, err := t.http.Get("http://" + t.api + path)
		if err != nil {
			return "", err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return "", err
		}
		b.Write(body)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// Answers counts responses by the version that answered ("1.0.0", from
// the demo app's body) or, for others, by "HTTP <code>" or "error".
type Answers map[string]int

// Send sends n requests for Host through the gateway, 16 at a time,
// with header set on each, and counts who answered.
func (t *Traefik) Send(ctx context.Context, n int, header http.Header) Answers {
	out := Answers{}
	var mu sync.Mutex
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				who := t.send(ctx, header)
				mu.Lock()
				out[who]++
				mu.Unlock()
			}
		}()
	}
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	return out
}

func (t *Traefik) send(ctx context.Context, header http.Header) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.Addr+"/", nil)
	if err != nil {
		return "error"
	}
	req.Host = Host
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return "error"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if version, ok := strings.CutPrefix(strings.TrimSpace(string(body)), "demo "); ok && resp.StatusCode == http.StatusOK {
		return version
	}
	return "HTTP " + strconv.Itoa(resp.StatusCode)
}

// CreateGateway creates GatewayClass name (Traefik's controller) and
// Gateway ns/gateway with one HTTP listener on port, the entryPoint's.
func CreateGateway(ctx context.Context, c client.Client, ns, class, gateway string, port int) error {
	gc := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"controllerName": "traefik.io/gateway-controller"}}}
	gc.SetGroupVersionKind(GatewayClassGVK)
	gc.SetName(class)
	if err := c.Create(ctx, gc); err != nil {
		return fmt.Errorf("create GatewayClass %s: %w", class, err)
	}
	gw := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{
		"gatewayClassName": class,
		"listeners": []any{map[string]any{"name": "web", "port": int64(port), "protocol": "HTTP",
			"allowedRoutes": map[string]any{"namespaces": map[string]any{"from": "Same"}}}},
	}}}
	gw.SetGroupVersionKind(GatewayGVK)
	gw.SetNamespace(ns)
	gw.SetName(gateway)
	if err := c.Create(ctx, gw); err != nil {
		return fmt.Errorf("create Gateway %s/%s: %w", ns, gateway, err)
	}
	return nil
}

// gatewayFiles adds to files what fits `ramp init`'s apps to a gateway
// of kind (Options.Gateway): the Services and the HTTPRoute on a free
// port (each Service has a loopback ClusterIP of its own), and for
// GatewayTraefikService the TraefikServices and IngressRoute of
// apps/demo/traefik.yaml.
func (w *World) gatewayFiles(kind string, files map[string]string) error {
	addr, err := evidencetest.FreeAddr()
	if err != nil {
		return err
	}
	_, port, _ := net.SplitHostPort(addr)
	edit := func(file, old, new string) error {
		b, err := os.ReadFile(filepath.Join(w.Dev.Dir, file))
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), old) {
			return fmt.Errorf("%s: no %q to replace", file, old)
		}
		files[file] = strings.ReplaceAll(string(b), old, new)
		return nil
	}
	for _, side := range []string{"stable", "canary"} {
		if err := edit("apps/demo/"+side+"/deployment.yaml", "    - port: 80\n", "    - port: "+port+"\n"); err != nil {
			return err
		}
	}
	if err := edit("apps/demo/route.yaml", "port: 80\n", "port: "+port+"\n"); err != nil {
		return err
	}
	if kind == GatewayTraefikService {
		files["apps/demo/traefik.yaml"] = strings.ReplaceAll(traefikServices, "PORT", port)
		return edit("apps/demo/kustomization.yaml", "  - route.yaml\n", "  - route.yaml\n  - traefik.yaml\n")
	}
	return nil
}

// traefikServices are demo's Traefik resources: an IngressRoute to a
// TraefikService that mirrors to the canary, over one that weighs the
// sides. TraefikServices ignore nativeLBByDefault (Traefik v3.6.12): each
// service sets nativeLB.
const traefikServices = `# demo through Traefik's own resources; ramp writes the weights and the mirror.
apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata:
  name: demo-weighted
spec:
  weighted:
    services:
      - name: demo-stable
        port: PORT
        nativeLB: true
        weight: 100
      - name: demo-canary
        port: PORT
        nativeLB: true
        weight: 0
---
apiVersion: traefik.io/v1alpha1
kind: TraefikService
metadata:
  name: demo
spec:
  mirroring:
    name: demo-weighted
    kind: TraefikService
    mirrors:
      - name: demo-canary
        port: PORT
        nativeLB: true
        percent: 0
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: demo
spec:
  entryPoints: [web]
  routes:
    - match: Host(` + "`" + Host + "`" + `)
      kind: Rule
      services:
        - name: demo
          kind: TraefikService
`

// startGateway starts Pods and Traefik for a gateway of kind, creates the
// Gateway an HTTPRoute needs, and waits until stable answers through it.
func (w *World) startGateway(kind string) {
	c := w.Cluster.Client
	w.Pods = StartPods(c, w.NS, []string{"demo-stable", "demo-canary"}, w.Apps[StableVersion], w.Apps[ReleaseVersion])
	w.T.Cleanup(w.Pods.Stop)
	var err error
	w.Traefik, err = StartTraefik(w.Cluster.Kubeconfig, w.NS, w.mkdir("traefik"))
	w.check(err)
	w.T.Cleanup(func() { w.Traefik.Stop(5 * time.Second) })
	if kind == GatewayHTTPRoute {
		class := "traefik-" + w.NS
		w.check(CreateGateway(w.Ctx, c, w.NS, class, "public", w.Traefik.Port))
		w.T.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = deleteObject(ctx, c, GatewayGVK, w.NS, "public")
			_ = deleteObject(ctx, c, GatewayClassGVK, "", class)
		})
	}
	w.Eventually(time.Minute, "stable answers through Traefik", func() (bool, string) {
		got := w.Traefik.Send(w.Ctx, 20, nil)
		return got[StableVersion] == 20, fmt.Sprintf("answers %v; pods at %s and %s", got, w.Pods.Addr("demo-stable"), w.Pods.Addr("demo-canary"))
	})
}
