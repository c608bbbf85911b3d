package e2etest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	rampv1 "github.com/ramp-dev/ramp/api/v1alpha1"
	"github.com/ramp-dev/ramp/evidence/evidencetest"
	"github.com/ramp-dev/ramp/manifest/manifesttest"
)

// Versions of the components whose CRDs the cluster installs. The Flux
// binaries in bin/flux and Traefik's in bin/traefik are built from the
// same versions (make tool-flux, make tool-traefik).
const (
	FluxVersion       = "v1.9.6"
	GatewayAPIVersion = manifesttest.GatewayAPIVersion
	TraefikVersion    = manifesttest.TraefikVersion
	// ServiceCIDR is the API server's Service range: loopback addresses.
	ServiceCIDR = "127.0.100.0/24"
	// FluxNamespace is the namespace the Flux controllers run in
	// (RUNTIME_NAMESPACE).
	FluxNamespace = "flux-system"
)

// Cluster is a kube-apiserver and etcd (envtest, binaries from bin/k8s)
// with the CRDs of Flux, Gateway API, Traefik and ramp installed, and
// Flux's source-controller and kustomize-controller running against it
// as local processes.
type Cluster struct {
	// Dir holds the kubeconfig, Flux's artifact storage and the logs.
	Dir string
	// Kubeconfig is a kubeconfig file of a cluster-admin user.
	Kubeconfig string
	Config     *rest.Config
	Client     client.Client

	Source, Kustomize *Process

	env *envtest.Environment
}

// StartCluster starts the API server, installs the CRDs, writes a
// kubeconfig and starts both Flux controllers, with everything kept
// under dir. On error, whatever started is stopped.
func StartCluster(dir string) (c *Cluster, err error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	k8sBin := filepath.Join(root, "bin", "k8s")
	for _, tool := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(k8sBin, tool)); err != nil {
			return nil, fmt.Errorf("bin/k8s/%s is missing: run `make tools` (envtest runs the real API server)", tool)
		}
	}
	source, err := Binary("flux/source-controller", "tool-flux")
	if err != nil {
		return nil, err
	}
	kustomize, err := Binary("flux/kustomize-controller", "tool-flux")
	if err != nil {
		return nil, err
	}
	crds, err := crdPaths(root)
	if err != nil {
		return nil, err
	}
	c = &Cluster{Dir: dir, env: &envtest.Environment{
		BinaryAssetsDirectory:    k8sBin,
		CRDDirectoryPaths:        crds,
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 3 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}}
	// envtest runs no kube-proxy and no pods, and EndpointSlices refuse
	// loopback addresses; ClusterIPs on loopback let the gateway (Traefik
	// with nativeLB) reach the processes that stand in for pods.
	c.env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", ServiceCIDR)
	defer func() {
		if err != nil {
			c.Stop()
			c = nil
		}
	}()
	if c.Config, err = c.env.Start(); err != nil {
		return c, fmt.Errorf("start envtest with bin/k8s: %w", err)
	}
	if err := c.writeKubeconfig(); err != nil {
		return c, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return c, err
	}
	if err := rampv1.AddToScheme(scheme); err != nil {
		return c, err
	}
	if c.Client, err = client.New(c.Config, client.Options{Scheme: scheme}); err != nil {
		return c, fmt.Errorf("client for envtest: %w", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: FluxNamespace}}
	if err := c.Client.Create(context.Background(), ns); err != nil {
		return c, fmt.Errorf("create namespace %s: %w", FluxNamespace, err)
	}
	if err := c.startFlux(source, kustomize); err != nil {
		return c, err
	}
	return c, nil
}

// writeKubeconfig provisions a cluster-admin user and writes its
// kubeconfig for the processes the tests run.
func (c *Cluster) writeKubeconfig() error {
	user, err := c.env.AddUser(envtest.User{Name: "e2e-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("provision an envtest user: %w", err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig of the envtest user: %w", err)
	}
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	return os.WriteFile(c.Kubeconfig, kc, 0o600)
}

// startFlux starts source-controller and kustomize-controller and waits
// until their health endpoints listen.
func (c *Cluster) startFlux(source, kustomize string) error {
	addrs := make([]string, 5)
	for i := range addrs {
		a, err := evidencetest.FreeAddr()
		if err != nil {
			return err
		}
		addrs[i] = a
	}
	storage := filepath.Join(c.Dir, "flux-storage")
	if err := os.MkdirAll(storage, 0o755); err != nil {
		return err
	}
	env := []string{"KUBECONFIG=" + c.Kubeconfig, "RUNTIME_NAMESPACE=" + FluxNamespace}
	var err error
	c.Source, err = StartProcess("source-controller", source, []string{
		"--metrics-addr=" + addrs[0], "--health-addr=" + addrs[1],
		"--enable-leader-election=false",
		"--storage-path=" + storage, "--storage-addr=" + addrs[2], "--storage-adv-addr=" + addrs[2],
		"--log-level=debug", "--log-encoding=json",
	}, env, c.Dir, filepath.Join(c.Dir, "source-controller.log"))
	if err != nil {
		return err
	}
	c.Kustomize, err = StartProcess("kustomize-controller", kustomize, []string{
		"--metrics-addr=" + addrs[3], "--health-addr=" + addrs[4],
		"--enable-leader-election=false",
		"--log-level=debug", "--log-encoding=json",
	}, env, c.Dir, filepath.Join(c.Dir, "kustomize-controller.log"))
	if err != nil {
		return err
	}
	if err := waitTCP(c.Source, addrs[1], time.Minute); err != nil {
		return err
	}
	return waitTCP(c.Kustomize, addrs[4], time.Minute)
}

// Stop stops the Flux controllers and the API server.
func (c *Cluster) Stop() error {
	for _, p := range []*Process{c.Kustomize, c.Source} {
		if p != nil {
			p.Stop(10 * time.Second)
		}
	}
	if c.Config == nil {
		return nil
	}
	return c.env.Stop()
}

// crdPaths are the CRD files and directories the cluster installs:
// Flux's source and kustomize CRDs from their modules, Gateway API's
// standard channel, Traefik's own (TraefikService, IngressRoute), and
// ramp's own when config/crd/bases exists.
func crdPaths(root string) ([]string, error) {
	var out []string
	for _, mod := range []string{"github.com/fluxcd/source-controller", "github.com/fluxcd/kustomize-controller"} {
		dir, err := ModuleDir(mod, FluxVersion)
		if err != nil {
			return nil, err
		}
		out = append(out, filepath.Join(dir, "config", "crd", "bases"))
	}
	gw, err := ModuleDir("sigs.k8s.io/gateway-api", GatewayAPIVersion)
	if err != nil {
		return nil, err
	}
	out = append(out, filepath.Join(gw, "config", "crd", "standard"))
	traefik, err := ModuleDir("github.com/traefik/traefik/v3", TraefikVersion)
	if err != nil {
		return nil, err
	}
	out = append(out, filepath.Join(traefik, "docs", "content", "reference", "dynamic-configuration", "kubernetes-crd-definition-v1.yml"))
	if ramp := filepath.Join(root, "config", "crd", "bases"); exists(ramp) {
		out = append(out, ramp)
	}
	return out, nil
}

// ModuleDir returns the module cache directory of module@version (see
// manifesttest.ModuleDir).
func ModuleDir(module, version string) (string, error) {
	return manifesttest.ModuleDir(module, version)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
