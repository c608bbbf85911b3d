# ramp — build, test, demo and the real components tests run against.
GO       ?= go
BIN      := $(CURDIR)/bin
PROM_VER := v0.316.0

.PHONY: all build test test-unit lint bench demo tools tool-prometheus e2e clean image tool-image

all: build

# The version and commit `ramp version` prints (-X main.version, main.commit).
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

## build: the CLI, bin/ramp, and beside it the operator, bin/ramp-controller
## (`ramp controller` runs it; the CLI does not link controller-runtime);
## ramp version prints VERSION and COMMIT
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/ramp ./cmd/ramp-controller

## test: lint, build ramp and the tools the integration tests need, run
## every test (the crash test kills bin/ramp), then fuzz the spec parser
## for a bounded time (seed corpus: policy/testdata/fuzz/FuzzParse)
test: lint build tools image
	$(GO) test -count=1 -timeout 30m ./...
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 20s ./policy/

## image: ramp's container image without a daemon: static (CGO_ENABLED=0)
## linux binaries on an empty base with the CA bundle and a non-root user,
## as an OCI image layout (bin/image) and a `docker load` tarball
## (bin/ramp-image.tar). The Dockerfile builds the same image with a daemon.
## The binaries get make build's LDFLAGS (ramp version's version and commit).
## Every command under cmd/ goes in (a second binary, ./cmd/<name>, is in the
## image as /usr/local/bin/<name> with no change here).
IMAGE_BINARIES   := $(notdir $(wildcard cmd/*))
IMAGE_ENTRYPOINT := ramp
IMAGE_TAG        ?= ghcr.io/ramp-dev/ramp:dev
IMAGE_ARCH       ?= $(shell $(GO) env GOARCH)
CA_BUNDLE        ?= /etc/ssl/certs/ca-certificates.crt
image: tool-image
	@for b in $(IMAGE_BINARIES); do \
	  echo "CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) go build -trimpath -o bin/image-build/$$b ./cmd/$$b"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags '-s -w $(LDFLAGS)' -o $(BIN)/image-build/$$b ./cmd/$$b || exit 1; \
	done
	$(BIN)/image-tool $(foreach b,$(IMAGE_BINARIES),-bin $(b)=$(BIN)/image-build/$(b)) \
	  -entrypoint $(IMAGE_ENTRYPOINT) -ca $(CA_BUNDLE) -arch $(IMAGE_ARCH) -tag $(IMAGE_TAG) \
	  -layout $(BIN)/image -tar $(BIN)/ramp-image.tar

tool-image: $(BIN)/image-tool
$(BIN)/image-tool: e2e/tools/image/main.go e2e/tools/image/go.mod
	cd e2e/tools/image && $(GO) build -o $(BIN)/image-tool .

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
## derive at 10k and 100k commits against git log over the same commits; cold
## derive and `ramp status` with a release aborted 50k commits below against all
## stable; `ramp audit` at 100k against git log; first clone (full, and shallow
## + derive) against git clone (ratios, peak RSS). The pass runs 7 iterations:
## its 500/200 is a median of per-iteration ratios, which swing on 2 shared cores;
## parse, validate and plan of a rollout with 200 and 2,000 targets (the
## 2000/200 ratio, at most 11: linear in the size of a spec)
bench:
	$(GO) test -run '^$$' -bench . -skip '^BenchmarkPass$$' -benchmem -benchtime 5x -timeout 60m ./gitsync/ ./history/
	$(GO) test -run '^$$' -bench '^BenchmarkValidateAndPlanFleet$$' -benchmem -benchtime 15x ./policy/
	$(GO) test -run '^$$' -bench '^BenchmarkPass$$' -benchmem -benchtime 7x -timeout 60m ./gitsync/

## demo: a local git server, Prometheus, two demo apps under load and `ramp run`:
## release 1.1.0 promoted, release 1.2.0 rolled back by its error-rate gate
## (Prometheus: bin/prometheus, else a 3.x `prometheus` on PATH, else built
## into bin/ first, about 5 min cold: e2e/prometheus.sh says which)
demo: build
	PROM_VER=$(PROM_VER) bash e2e/demo.sh

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
