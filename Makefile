# minik8s — build, test, benchmark. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
BIN := bin
BINARIES := $(notdir $(wildcard cmd/*))
PROTO_DIR := api/proto
PROTO_FILES := $(wildcard $(PROTO_DIR)/minik8s/v1/*.proto)
LDFLAGS := -s -w

.PHONY: all build images docs docs-check proto proto-check fmt-check vet unit integration e2e test bench bench-apiserver bench-scheduler bench-kubelet run clean help

all: build

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

build: ## build every binary, static, into bin/
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='$(LDFLAGS)' -o $(BIN)/ $(addprefix ./cmd/,$(BINARIES))

images: ## build the pause and test-app images locally (no registry)
	deploy/images/build.sh

proto: ## regenerate the protobuf Go code (protoc from Debian's protobuf-compiler)
	protoc -I $(PROTO_DIR) \
	  --plugin=protoc-gen-go=$$($(GO) tool -n protoc-gen-go) \
	  --plugin=protoc-gen-go-grpc=$$($(GO) tool -n protoc-gen-go-grpc) \
	  --go_out=$(PROTO_DIR) --go_opt=paths=source_relative \
	  --go-grpc_out=$(PROTO_DIR) --go-grpc_opt=paths=source_relative \
	  $(PROTO_FILES)

proto-check: ## fail when the committed generated code is stale
	@tmp=$$(mktemp -d); cp -r $(PROTO_DIR) $$tmp/before; \
	$(MAKE) --no-print-directory proto >/dev/null; \
	if ! diff -r $$tmp/before $(PROTO_DIR) >/dev/null; then \
	  echo "generated protobuf code is stale: run 'make proto' and commit"; diff -r $$tmp/before $(PROTO_DIR) | head -20; rm -rf $$tmp; exit 1; fi; \
	rm -rf $$tmp; echo "proto: generated code is fresh"

docs: build ## regenerate docs/cli from every binary's --help
	hack/gen-cli-docs.sh

docs-check: build ## fail when docs/cli is stale
	@tmp=$$(mktemp -d); hack/gen-cli-docs.sh $$tmp; \
	if ! diff -r $$tmp docs/cli >/dev/null; then \
	  echo "docs/cli is stale: run 'make docs' and commit"; diff -r $$tmp docs/cli | head -20; rm -rf $$tmp; exit 1; fi; \
	rm -rf $$tmp; echo "docs: generated flag reference is fresh"

fmt-check: ## fail on unformatted Go files
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi; echo "gofmt: ok"

vet: ## go vet
	$(GO) vet ./...

unit: ## unit tests with the race detector
	$(GO) test -race -count=1 ./pkg/... ./api/... ./cmd/... ./deploy/... ./test/architecture/...

integration: build ## integration tests: in-process apiserver on embedded etcd, the built binaries
	MINIK8S_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m ./test/integration/...

e2e: build images ## end-to-end tests against the real Docker engine
	MINIK8S_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 40m ./test/e2e/...

test: fmt-check vet proto-check docs-check unit integration e2e ## every test (what CI runs)

BENCH_RUN = $(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 40m
BENCH_FILTER = grep -E '^(BENCH|ok|FAIL|---|panic)'

bench: bench-apiserver bench-scheduler bench-kubelet ## every benchmark; prints BENCH lines

bench-apiserver: build ## apiserver vs raw etcd throughput and latency
	set -o pipefail; MINIK8S_BIN=$(CURDIR)/$(BIN) $(BENCH_RUN) ./test/bench/apiserver/ | $(BENCH_FILTER)

bench-scheduler: build ## scheduler drain and stream throughput at 100 and 1,000 nodes
	set -o pipefail; MINIK8S_BIN=$(CURDIR)/$(BIN) $(BENCH_RUN) ./test/bench/scheduler/ | $(BENCH_FILTER)

bench-kubelet: build images ## pod start latency next to plain docker run
	set -o pipefail; MINIK8S_BIN=$(CURDIR)/$(BIN) $(BENCH_RUN) ./test/bench/kubelet/ | $(BENCH_FILTER)

run: build ## start a local control plane (apiserver on embedded etcd) in .minik8s/local
	./hack/run-local.sh

clean:
	rm -rf $(BIN)

# ---------------------------------------------------------------------------
# The local cluster: docker-compose.yaml, deploy/ (images, examples, Prometheus)
# ---------------------------------------------------------------------------
CLUSTER_IMAGES := pause testapp etcd apiserver scheduler controller-manager kubelet minictl

.PHONY: up down cluster-images e2e-compose

cluster-images: build ## build every image of the compose cluster locally (no registry)
	deploy/images/build.sh $(CLUSTER_IMAGES)

up: cluster-images ## start the local cluster (docker compose), wait until both nodes are Ready
	deploy/cluster.sh up

down: ## remove the local cluster, every container its kubelets started, its networks, volumes and .minik8s/
	deploy/cluster.sh down

e2e-compose: build ## the compose cluster's end-to-end tests alone (make up ... make down)
	MINIK8S_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -timeout 20m -run 'TestCompose' -v ./test/e2e/
