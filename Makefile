# ecs-operator — every set-up step lives here, so a fresh machine needs only `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST := $(BIN)/pytest

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

# The operator with its plugin's client and the tests' tools, and the dev tools' distribution
# (devtools/: devcluster, demo), both editable. The image carries none of the extras.
$(STAMP): pyproject.toml devtools/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,plugin]' -e ./devtools
	touch $@

.PHONY: venv
venv: $(STAMP) ## create the virtualenv: the package, its plugin, the dev tools, the test tools

.PHONY: lint
lint: $(STAMP) ## ruff (lint + format), mypy, and the layers' import contracts (pyproject.toml)
	$(BIN)/ruff check operator devtools tests tools bench
	$(BIN)/ruff format --check operator devtools tests tools bench
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

.PHONY: format
format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix operator devtools tests tools bench
	$(BIN)/ruff format operator devtools tests tools bench

.PHONY: hooks
hooks: $(STAMP) ## install the git pre-commit hooks (.pre-commit-config.yaml: ruff, mypy, crds and mapping drift)
	$(BIN)/pre-commit install

.PHONY: shapes
shapes: $(STAMP) ## regenerate api/shapes.py from botocore's ECS model
	$(BIN)/python tools/gen_shapes.py

.PHONY: crds
crds: $(STAMP) ## regenerate crds/ from the api/ models
	$(BIN)/ecs-operator crds --output crds

# The image's locks, every distribution's hash pinned (the Dockerfile installs them with
# --require-hashes --only-binary :all:): requirements/image.lock holds the runtime dependencies
# of pyproject.toml, requirements/build.lock its build-system requirements (the wheel is built
# without pip's build isolation, which would fetch them unverified). Resolved for the
# Dockerfile's Python on x86_64 Linux, then checked to resolve to the same wheels on aarch64.
# Pins are kept while they satisfy pyproject.toml; `make lock LOCK_ARGS=--upgrade` moves them.
UV_VERSION := 0.13.9
IMAGE_PYTHON = $(shell sed -n 's/^ARG PYTHON_VERSION=//p' Dockerfile)
LOCK_ARGS ?=
COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --no-build \
	--python-version $(IMAGE_PYTHON) --custom-compile-command 'make lock' $(LOCK_ARGS)
BUILD_REQUIRES = $(BIN)/python -c 'import tomllib; \
	print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
# $(call locks,PLATFORM,DIRECTORY): both locks for a platform, into DIRECTORY
locks = $(COMPILE) pyproject.toml --python-platform $(1) -o $(2)/image.lock \
	&& $(BUILD_REQUIRES) | $(COMPILE) - --python-platform $(1) -o $(2)/build.lock

.PHONY: lock
lock: $(STAMP) ## pin the image's runtime and build dependencies with hashes (requirements/)
	$(BIN)/pip install -q 'uv==$(UV_VERSION)'
	@mkdir -p requirements
	$(call locks,x86_64-manylinux_2_28,requirements)
	@tmp=$$(mktemp -d) && cp requirements/*.lock $$tmp/ \
	  && $(call locks,aarch64-manylinux_2_28,$$tmp) \
	  && diff -r requirements $$tmp; status=$$?; rm -rf $$tmp; \
	  [ $$status -eq 0 ] || { echo "requirements/: aarch64 resolves differently"; exit 1; }

.PHONY: binaries
binaries: $(STAMP) ## build (or reuse from ~/.cache/ecs-operator) etcd, kube-*, kubectl, kwok, helm
	$(BIN)/ecs-operator devcluster build

.PHONY: image
image: $(STAMP) packages ## the operator image from the Dockerfile, without Docker (buildah; cached by content)
	$(BIN)/ecs-operator devcluster image

.PHONY: unit
unit: $(STAMP) ## fast tests: no cluster
	$(PYTEST) tests/unit -q

# The suite mostly waits (on the control plane, kwok, the operator's reconciles): it used about
# half a core on 2 cores. pytest-xdist runs it on INTEGRATION_WORKERS processes, each a pytest
# session with its own devcluster and operator, a whole file at a time in the session's order
# (--no-loadscope-reorder: not by number of tests; tests/support/order.py says which files go out
# first and why); failures are reported as one session's. INTEGRATION_WORKERS=0 runs it in this
# process, as before.
INTEGRATION_WORKERS ?= 2

.PHONY: integration
integration: binaries ## tests against the devcluster (a real control plane), on 2 workers
	$(PYTEST) tests/integration tests/e2e tests/faults -q -m integration --ignore=tests/e2e/real \
	  -n $(INTEGRATION_WORKERS) --dist loadfile --no-loadscope-reorder

# Debian packages of real nodes (devcluster --real-nodes: runc, the CNI plugins, iptables, the
# task images' busybox and gcc) and of the operator's image build. A no-op when all are there.
PACKAGES := runc containernetworking-plugins iptables conntrack busybox-static gcc libc6-dev \
	mmdebstrap buildah podman

.PHONY: packages
packages: ## install the Debian packages real nodes and image builds need (apt-get, as root)
	@if [ "$$(uname -s)" != Linux ] || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
	  echo "packages: not installed here (needs root on Debian/Ubuntu); the real-node lane says what is missing"; \
	  exit 0; \
	fi; \
	missing=$$(for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

.PHONY: real
# Where real nodes cannot run (not root, not Linux, no apt), the lane says why in one line and
# passes: the kwok lane still runs everything else.
REAL_UNAVAILABLE = $(BIN)/python -c 'from ecs_operator_devtools.devcluster import realnode; \
	print(realnode.unavailable_reason() or "")'

real: binaries packages ## tests on real nodes (containerd + kubelet; root, Linux): tests/e2e/real
	@reason=$$($(REAL_UNAVAILABLE)); \
	if [ -n "$$reason" ]; then echo "real-node lane skipped: $$reason"; exit 0; fi; \
	$(MAKE) --no-print-directory image \
	&& $(BIN)/ecs-operator devcluster build --real-nodes 1 \
	&& $(PYTEST) tests/e2e/real -q -m real

# helm as `make binaries` builds it (the devcluster's pinned version), found through the package.
HELM = $(shell $(BIN)/python -c 'from ecs_operator_devtools.devcluster import binaries as b; print(next(b.cache_dir(m) for m in b.MODULES if m.directory == "helm") / "helm")')
CHART := charts/ecs-operator

.PHONY: helm-lint
helm-lint: binaries ## helm lint --strict the chart, with the values that change its shape
	$(HELM) lint --strict $(CHART)
	$(HELM) lint --strict $(CHART) --set 'watchNamespaces={team-a,team-b}' --set peering.enabled=true
	$(HELM) lint --strict $(CHART) --set serviceMonitor.enabled=true --set podDisruptionBudget.enabled=true
	$(HELM) lint --strict $(CHART) --set 'tenancy.allowedTaskRoles={arn:aws:iam::123456789012:role/team-*}' \
	  --set tenancy.podSecurityCeiling=privileged --set 'tenancy.allowedServiceTypes={LoadBalancer,NodePort}' \
	  --set rbac.aggregateRoles=false --set metrics.address=127.0.0.1 --set health.address=::
	$(HELM) lint --strict $(CHART) --set api.enabled=true \
	  --set 'api.impersonate[0].namespace=team-a' --set 'api.impersonate[0].name=deployer'

.PHONY: chart-check
chart-check: helm-lint ## the chart's CRDs equal crds/, its RBAC and image contract hold
	@diff -rq crds $(CHART)/crds || { echo "$(CHART)/crds is stale: cp crds/*.yaml $(CHART)/crds/"; exit 1; }
	$(PYTEST) tests/unit/test_chart.py tests/unit/test_dockerfile.py tests/unit/test_kind_config.py -q

# moto's ECS tests (pinned sdist, cached in ~/.cache/ecs-operator/moto) in server mode against
# `ecs-operator api` on a devcluster, the operator running (issue #16). Not part of `make test`.
.PHONY: conformance
conformance: binaries ## moto's ECS test suite against the ECS API: tier A must pass, tier B counted
	$(PYTEST) tests/conformance/moto_conformance.py -m integration -q -s

# Not part of `make test`: about 40 minutes on 2 cores, each benchmark on its own fresh devcluster.
# BENCH_ARGS=--quick is a 5-minute smoke test of the pipeline (results go with the logs, in /tmp).
BENCH_ARGS ?=

.PHONY: bench
bench: binaries ## benchmarks vs plain Deployments, API writes, footprint, render -> bench/results/
	$(BIN)/python -m bench $(BENCH_ARGS)

# The two lanes each wait far more than they compute, on devclusters of their own: they run side
# by side (LANES_JOBS=1: one after the other). --output-sync prints each lane's output whole
# when it ends, so the two never interleave; make fails if either fails.
LANES_JOBS ?= 2

.PHONY: lanes
lanes: integration real ## the kwok lane (integration) and the real-node lane (real), side by side

.PHONY: test
test: lint unit chart-check ## the whole suite: lint, unit, helm lint, then the integration and real-node lanes
	@echo "running the lanes integration and real side by side: each one's output shows when it ends"
	@$(MAKE) --no-print-directory -j$(LANES_JOBS) --output-sync=target lanes

.PHONY: up
up: binaries ## start the devcluster (prints how to use it)
	$(BIN)/ecs-operator devcluster up

.PHONY: down
down: $(STAMP) ## stop the devcluster
	$(BIN)/ecs-operator devcluster down

.PHONY: demo
demo: binaries ## the operator on the devcluster running examples/, then the ECS view
	$(BIN)/ecs-operator demo

.PHONY: demo-down
demo-down: $(STAMP) ## stop the demo: the operator and the devcluster
	$(BIN)/ecs-operator devcluster down

.PHONY: clean
clean: ## remove the virtualenv and tool caches in the tree (not ~/.cache/ecs-operator)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
