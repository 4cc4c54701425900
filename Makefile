# The two commands a newcomer needs (see README):
#   make up    install urumi, bring up the local kind cluster and a WooCommerce store (needs Docker, kind, helm)
#   make test  install everything the tests need (venv, test tools built from Go modules) and run all tests
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STORE  ?= shop

.PHONY: up install venv testbin kind-images test test-fast test-unit test-charts test-integration test-browser test-realcluster bench bench-real clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'

up: $(BIN)/python
	$(BIN)/pip install -q .
	$(BIN)/urumi cluster up
	$(BIN)/urumi store create --type woocommerce --name $(STORE)
	$(BIN)/urumi store list

testbin:
	tests/harness/testbin

# A Docker engine that runs privileged containers, and every image a real kind cluster needs, built
# locally (cached under ~/.cache/urumi; a warm run only checks). The env file kind-images prints
# last tells tests/realcluster where everything is.
kind-images: testbin
	eval "export $$(tests/harness/docker-engine up | tail -1)" && tests/harness/kind-images

# Every suite, the real kind cluster included (tests/realcluster: it needs the Docker engine and
# images of `kind-images`, and binds 127.0.0.1:80/443 while it runs). run-suites builds testbin and
# kind-images itself, side by side with the suites that do not need them (see its header).
test: install
	$(BIN)/python tests/harness/run-suites

# Everything but the real cluster: no Docker engine, no images (minutes instead of an hour cold).
test-fast: install testbin
	URUMI_REQUIRE_CONTROL_PLANE=1 $(BIN)/pytest -q tests --ignore=tests/realcluster

test-unit: install
	$(BIN)/pytest -q tests/unit

test-charts: install testbin
	$(BIN)/pytest -q tests/charts

test-integration: install testbin
	URUMI_REQUIRE_CONTROL_PLANE=1 $(BIN)/pytest -q tests/integration

# The dashboard in Debian's chromium (needs node, npm and /usr/bin/chromium; see tests/browser).
test-browser: install testbin
	URUMI_REQUIRE_BROWSER=1 URUMI_REQUIRE_CONTROL_PLANE=1 $(BIN)/pytest -q tests/browser

test-realcluster: install testbin kind-images
	URUMI_REQUIRE_REAL_CLUSTER=1 $(BIN)/pytest -q tests/realcluster

bench: install testbin
	$(BIN)/python tests/bench/run.py

# The benchmark on a real kind cluster `urumi-bench` (no host ports) with the images of kind-images:
# time to ready vs helm, timelines, memory/CPU per store, density (tests/bench/README.md).
bench-real: install testbin kind-images
	$(BIN)/python tests/bench/run.py --real

clean:
	rm -rf $(VENV) .pytest_cache tests/browser/node_modules tests/browser/artifacts
