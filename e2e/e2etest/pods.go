package e2etest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
)

// Pods stands in for the kubelet and kube-proxy behind a real gateway.
// envtest runs no pods: for each Service it serves, Pods listens on the
// Service's ClusterIP and port (loopback addresses, see ServiceCIDR),
// where Traefik's nativeLB sends requests, and forwards each request to
// the App whose version is the image tag of the Service's Deployment (of
// the same name) as Flux applied it. A Service whose pods are not ready
// has no listener, so connections are refused, as kube-proxy refuses them
// for a Service without endpoints.
type Pods struct {
	client client.Reader
	ns     string
	apps   map[string]*evidencetest.App // by version

	mu       sync.Mutex
	services map[string]*servedService
	stop     context.CancelFunc
	done     sync.WaitGroup
}

// servedService is one Service's stand-in.
type servedService struct {
	ready   bool
	addr    string // ClusterIP:port it listens on, when it does
	srv     *http.Server
	version string // what the Deployment runs
	served  int    // requests forwarded
	missed  int    // requests for a version no App runs
}

// StartPods serves the Services named in namespace ns of c, each ready
// from the start, until Stop.
func StartPods(c client.Reader, ns string, services []string, apps ...*evidencetest.App) *Pods {
	p := &Pods{client: c, ns: ns, apps: map[string]*evidencetest.App{}, services: map[string]*servedService{}}
	for _, a := range apps {
		p.apps[a.Version] = a
	}
	for _, s := range services {
		p.services[s] = &servedService{ready: true}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	p.done.Add(1)
	go p.watch(ctx)
	return p
}

// SetReady makes service's pods ready (listening) or not (no endpoints).
func (p *Pods) SetReady(service string, ready bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.services[service]; s != nil {
		s.ready = ready
		if !ready {
			s.close()
		}
	}
}

// Served returns how many requests service's pods answered so far.
func (p *Pods) Served(service string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.services[service]; s != nil {
		return s.served
	}
	return 0
}

// Addr returns the address service's pods listen on, "" when they do not.
func (p *Pods) Addr(service string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.services[service]; s != nil && s.srv != nil {
		return s.addr
	}
	return ""
}

// Stop closes every listener.
func (p *Pods) Stop() {
	p.stop()
	p.done.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.services {
		s.close()
	}
}

// watch reads each Service's address and its Deployment's version four
// times a second and opens or closes listeners to match.
func (p *Pods) watch(ctx context.Context) {
	defer p.done.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		p.mu.Lock()
		names := make([]string, 0, len(p.services))
		for n := range p.services {
			names = append(names, n)
		}
		p.mu.Unlock()
		for _, name := range names {
			p.refresh(ctx, name)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (p *Pods) refresh(ctx context.Context, name string) {
	var svc corev1.Service
	if err := p.client.Get(ctx, types.NamespacedName{Namespace: p.ns, Name: name}, &svc); err != nil || len(svc.Spec.Ports) == 0 {
		return // not applied yet
	}
	ip := svc.Spec.ClusterIP
	if net.ParseIP(ip) == nil || !net.ParseIP(ip).IsLoopback() {
		return
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(int(svc.Spec.Ports[0].Port)))
	version := ""
	if image, err := DeploymentImage(ctx, p.client, p.ns, name); err == nil {
		version = ImageTag(image)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.services[name]
	s.version = version
	if s.srv != nil && s.addr != addr {
		s.close()
	}
	if !s.ready || s.srv != nil {
		return
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return // try again on the next tick
	}
	s.addr = addr
	s.srv = &http.Server{Handler: p.forward(name), ReadHeaderTimeout: 5 * time.Second}
	go func(srv *http.Server) { _ = srv.Serve(l) }(s.srv)
}

// forward sends a request for service to the App of its version.
func (p *Pods) forward(service string) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			p.mu.Lock()
			s := p.services[service]
			app := p.apps[s.version]
			if app == nil {
				s.missed++
			} else {
				s.served++
			}
			p.mu.Unlock()
			target := &url.URL{Scheme: "http", Host: "127.0.0.1:1"} // refused: no App runs that version
			if app != nil {
				target, _ = url.Parse(app.URL)
			}
			r.SetURL(target)
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			code := http.StatusBadGateway
			if errors.Is(err, context.Canceled) {
				code = 499
			}
			w.WriteHeader(code)
		},
	}
}

func (s *servedService) close() {
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}
