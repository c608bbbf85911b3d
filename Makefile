# ramp — build, test, demo and the real components tests run against.
GO       ?= go
BIN      := $(CURDIR)/bin
PROM_VER := v0.316.0

.PHONY: all build test test-unit lint bench demo tools tool-prometheus e2e clean

all: build

## build: the one binary, bin/ramp
build:
	$(GO) build -o $(BIN)/ramp ./cmd/ramp

## test: lint, build ramp and the tools the integration tests need, run
## every test (the crash test kills bin/ramp), then fuzz the spec parser
## for a bounded time (seed corpus: policy/testdata/fuzz/FuzzParse)
test: lint build tools
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 20s ./policy/

## test-unit: the pure core only (no tools needed)
test-unit:
	$(GO) test -count=1 ./policy/...

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## bench: one step (edit, signed commit, push) against git commit -S + git push,
## small and at 100k commits, over file:// and smart HTTP; one pass over 200 and
## 500 rollouts starting together, with no history and 100k commits below,
## against N git commit -S + one git push (steps/s, the 500/200 ratio); cold
## derive at 10k and 100k commits against git log over the same commits (ratios,
## peak RSS)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 5x -timeout 60m ./gitsync/ ./history/

## demo: a local git server, Prometheus, two demo apps under load and `ramp run`:
## release 1.1.0 promoted, release 1.2.0 rolled back by its error-rate gate
demo: build tool-prometheus
	bash e2e/demo.sh

## tools: real components for tests, built from the Go module proxy into bin/
tools: tool-prometheus tool-kube tool-etcd tool-helm tool-flux tool-traefik

tool-prometheus: $(BIN)/prometheus
$(BIN)/prometheus:
	GOBIN=$(BIN) $(GO) install github.com/prometheus/prometheus/cmd/prometheus@$(PROM_VER)

.PHONY: tool-kube tool-etcd tool-helm tool-controller-gen generate

# The Kubernetes binaries envtest runs (bin/k8s), helm for rendering the
# chart in tests, and controller-gen: each built from its own module under
# e2e/tools/ (or the module proxy), skipped when the binary is there.
KUBE_VER     := v1.37.2
KUBE_LDFLAGS := -X k8s.io/component-base/version.gitVersion=$(KUBE_VER) -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 -X k8s.io/component-base/version.gitTreeState=clean
tool-kube: $(BIN)/k8s/kube-apiserver
$(BIN)/k8s/kube-apiserver:
	cd e2e/tools/kube && $(GO) build -ldflags '$(KUBE_LDFLAGS)' -o $(BIN)/k8s/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver

tool-etcd: $(BIN)/k8s/etcd
$(BIN)/k8s/etcd:
	cd e2e/tools/etcd && $(GO) build -o $(BIN)/k8s/etcd go.etcd.io/etcd/server/v3

tool-helm: $(BIN)/helm
$(BIN)/helm:
	cd e2e/tools/helm && $(GO) build -o $(BIN)/helm helm.sh/helm/v3/cmd/helm

CONTROLLER_GEN_VER := v0.23.0
tool-controller-gen: $(BIN)/controller-gen
$(BIN)/controller-gen:
	GOBIN=$(BIN) $(GO) install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VER)

## generate: deepcopy and CRD YAML from api/v1alpha1 (the output is committed)
generate: tool-controller-gen
	$(BIN)/controller-gen object paths=./api/...
	$(BIN)/controller-gen crd paths=./api/... output:crd:artifacts:config=config/crd/bases
	mkdir -p charts/ramp/crds && cp config/crd/bases/*.yaml charts/ramp/crds/

## tool-flux: Flux's source-controller and kustomize-controller for the
## e2e tests (bin/flux), each built from its module under e2e/tools/flux/
.PHONY: tool-flux
tool-flux: $(BIN)/flux/source-controller $(BIN)/flux/kustomize-controller
$(BIN)/flux/source-controller:
	cd e2e/tools/flux/source && $(GO) build -o $(BIN)/flux/source-controller github.com/fluxcd/source-controller
$(BIN)/flux/kustomize-controller:
	cd e2e/tools/flux/kustomize && $(GO) build -o $(BIN)/flux/kustomize-controller github.com/fluxcd/kustomize-controller

## tool-traefik: Traefik, the e2e's gateway (bin/traefik), built from its
## module under e2e/tools/traefik (cold: about 1 min download, 8-10 min build)
.PHONY: tool-traefik
TRAEFIK_VER := v3.6.12
tool-traefik: $(BIN)/traefik
$(BIN)/traefik:
	cd e2e/tools/traefik && $(GO) build -ldflags '-X github.com/traefik/traefik/v3/pkg/version.Version=$(TRAEFIK_VER)' -o $(BIN)/traefik github.com/traefik/traefik/v3/cmd/traefik

## e2e: the whole loop against a real API server, Flux, Prometheus and
## `ramp controller` (build tag e2e; plain `go test ./...` skips it)
e2e: build tools tool-flux
	@start=$$(date +%s); \
	$(GO) test -tags e2e -count=1 -v -timeout 20m ./e2e/; rc=$$?; \
	echo "make e2e: $$(( $$(date +%s) - start ))s"; exit $$rc

clean:
	rm -rf $(BIN)
