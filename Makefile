# vso-ts: the two commands a fresh machine needs are `make demo` and `make test`.
SHELL := /bin/bash
NODE = $(shell scripts/deps.sh node-bin)
NODE_RUN = PATH="$(dir $(NODE)):$$PATH" $(NODE) --disable-warning=ExperimentalWarning

.PHONY: image deps deps-js build generate lint format test test-unit demo down bench

## deps: install and cache every external piece (Node 24, npm packages, etcd,
## kube-apiserver, kube-controller-manager, kubectl, helm, OpenBao, PostgreSQL) and the
## local node's: kubelet, kube-scheduler and kube-proxy (same Kubernetes build), containerd,
## CoreDNS and the pause image, plus runc, CNI plugins, iptables, conntrack, busybox from Debian
deps:
	scripts/deps.sh

deps-js:
	scripts/deps.sh node npm

## build: regenerate nothing, type-check everything (sources run as TypeScript on Node 24)
build: deps-js
	PATH="$(dir $(NODE)):$$PATH" node_modules/.bin/tsc -p tsconfig.json

## generate: regenerate the CRDs, src/api/types.generated.ts and deploy/install.yaml (needs helm: make deps)
generate: deps-js
	$(NODE_RUN) scripts/generate-crds.ts
	$(NODE_RUN) scripts/generate-install.ts

## lint: formatting and lint rules, enforced
lint: deps-js
	PATH="$(dir $(NODE)):$$PATH" node_modules/.bin/biome check --error-on-warnings .

format: deps-js
	PATH="$(dir $(NODE)):$$PATH" node_modules/.bin/biome check --write .

## test: install what is missing, build, lint, run the whole suite against real servers
test: deps build lint
	$(NODE_RUN) scripts/run-tests.ts

test-unit: deps-js
	scripts/deps.sh oracles
	$(NODE_RUN) scripts/run-tests.ts --unit-only

## image: the operator's OCI image archive in dist/ (no Docker engine needed; see docs/install.md)
image: deps-js
	$(NODE_RUN) scripts/build-image.ts

## demo: the walkthrough played command by command on a fresh playground with a real node (where the
## machine allows one; WALKTHROUGH_PAUSE=1 waits for Enter before each command; see docs/quickstart.md)
demo: deps
	bin/vso demo

down:
	bin/vso dev down

## bench: vso-ts beside HashiCorp VSO and the limit program, a fresh environment per run
## (BENCH_N=1000 BENCH_OPERATORS=vso-ts,vso BENCH_ROUNDS=2 BENCH_STEADY_S=120; docs/benchmarks.md);
## BENCH_KIND=dynamic: N VaultDynamicSecrets (database leases) instead of VaultStaticSecrets.
## Never part of `make test`; builds VSO from the Go module proxy on first use (scripts/build-vso.sh).
bench: deps-js
	$(NODE_RUN) bench/harness.ts
