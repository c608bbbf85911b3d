package e2etest

import (
	"context"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/ramp-dev/ramp/evidence/evidencetest"
)

// Load sends requests to the demo apps the way the gateway would route
// them. It stands in for the gateway's data plane (and for the kubelet):
// it reads the HTTPRoute that Flux applied to the API server and splits
// requests between its backends by their weights, and it sends a
// backend's share to the App whose version is the image tag of that
// backend's Deployment, as Flux applied it. Nothing else decides where a
// request goes: a weight ramp committed reaches the apps only through
// Flux and the API server.
type Load struct {
	// Rate is the requests per second sent in all.
	Rate int

	client    client.Reader
	ns, route string
	apps      map[string]*evidencetest.App // by version
	gateway   *Traefik                     // when set, every request goes through it

	mu      sync.Mutex
	weights Weights
	version map[string]string // backend → version
	sent    map[string]int    // by version
	missed  int               // requests for a version no App runs
	stop    context.CancelFunc
	done    sync.WaitGroup
}

// StartGatewayLoad sends rate requests per second through a real gateway
// until Stop, counting them by the version that answered (Sent): the
// gateway, not the load, decides where each goes.
func StartGatewayLoad(g *Traefik, rate int) *Load {
	l := &Load{Rate: rate, gateway: g, sent: map[string]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	l.stop = cancel
	l.done.Add(1)
	go l.send(ctx)
	return l
}

// StartLoad sends rate requests per second, split by the HTTPRoute
// ns/route, to the apps (by version), until Stop. Each backend of the
// route is a Service whose Deployment has the same name.
func StartLoad(c client.Reader, ns, route string, rate int, apps ...*evidencetest.App) *Load {
	l := &Load{Rate: rate, client: c, ns: ns, route: route, apps: map[string]*evidencetest.App{},
		version: map[string]string{}, sent: map[string]int{}}
	for _, a := range apps {
		l.apps[a.Version] = a
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.stop = cancel
	l.done.Add(2)
	go l.watch(ctx)
	go l.send(ctx)
	return l
}

// Stop stops sending and waits for requests in flight.
func (l *Load) Stop() {
	l.stop()
	l.done.Wait()
}

// Sent returns how many requests went to each version so far (through a
// gateway: how many each version answered, and "HTTP <code>" or "error"
// for the others), and how many named a version no App runs.
func (l *Load) Sent() (map[string]int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for v, n := range l.sent {
		out[v] = n
	}
	return out, l.missed
}

// watch reads the route's weights and its backends' versions from the
// API server four times a second.
func (l *Load) watch(ctx context.Context) {
	defer l.done.Done()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		l.refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (l *Load) refresh(ctx context.Context) {
	w, err := RouteWeights(ctx, l.client, l.ns, l.route)
	if err != nil {
		return // not applied yet, or the API server is busy: keep the last split
	}
	versions := map[string]string{}
	for backend := range w {
		if image, err := DeploymentImage(ctx, l.client, l.ns, backend); err == nil {
			versions[backend] = ImageTag(image)
		}
	}
	l.mu.Lock()
	l.weights, l.version = w, versions
	l.mu.Unlock()
}

// send sends Rate requests per second, each to the backend a smooth
// weighted round robin picks, at most 32 at a time.
func (l *Load) send(ctx context.Context) {
	defer l.done.Done()
	httpc := &http.Client{Timeout: 5 * time.Second}
	slots := make(chan struct{}, 32)
	current := map[string]int{} // the round robin's running credit per backend
	t := time.NewTicker(time.Second / time.Duration(l.Rate))
	defer t.Stop()
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if l.gateway != nil {
			if !l.slot(ctx, slots, &inflight, func() {
				who := l.gateway.send(ctx, nil)
				l.mu.Lock()
				l.sent[who]++
				l.mu.Unlock()
			}) {
				return
			}
			continue
		}
		l.mu.Lock()
		backend := pick(l.weights, current)
		version := l.version[backend]
		app := l.apps[version]
		if backend != "" {
			if app == nil {
				l.missed++
			} else {
				l.sent[version]++
			}
		}
		l.mu.Unlock()
		if app == nil {
			continue
		}
		if !l.slot(ctx, slots, &inflight, func() {
			resp, err := httpc.Get(app.URL + "/")
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}) {
			return
		}
	}
}

// slot runs request in a goroutine once one of slots is free; false when
// ctx ended first.
func (l *Load) slot(ctx context.Context, slots chan struct{}, inflight *sync.WaitGroup, request func()) bool {
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	inflight.Add(1)
	go func() {
		defer inflight.Done()
		defer func() { <-slots }()
		request()
	}()
	return true
}

// pick is one round of smooth weighted round robin: every backend earns
// its weight, the richest is picked and pays the total. Over any run of
// total picks each backend gets exactly its weight. "" when all weights
// are 0.
func pick(w Weights, current map[string]int) string {
	names := make([]string, 0, len(w))
	total := 0
	for n, weight := range w {
		if weight > 0 {
			names = append(names, n)
			total += weight
		}
	}
	if total == 0 {
		return ""
	}
	sort.Strings(names)
	best := ""
	for _, n := range names {
		current[n] += w[n]
		if best == "" || current[n] > current[best] {
			best = n
		}
	}
	current[best] -= total
	return best
}
