# article-pipeline: one command to run it, one to test it. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLUSTER ?= local

.DEFAULT_GOAL := help
.PHONY: help venv jars run test test-unit lint inspect reconcile status efo-deregister report reset bench podman-setup base-image images images-test

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

# One hash-locked lock, uv.lock (every extra, CPython 3.11+ on Linux and macOS), installs .venv,
# both images (images/*/Dockerfile) and CI. The installer (uv, pip, setuptools, wheel) comes from
# requirements-bootstrap.txt with --require-hashes; uv exports the lock's dev extra with its hashes,
# `uv pip install --require-hashes` installs exactly that, sdists (pyspark) build without build
# isolation on the hashed setuptools. A lock out of date with pyproject.toml fails (make lock-check).
UV := $(BIN)/uv
BOOTSTRAP := $(VENV)/.bootstrap
LOCKED_REQUIREMENTS := $(VENV)/requirements-dev.txt

$(BOOTSTRAP): requirements-bootstrap.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-bootstrap.txt
	@touch $(BOOTSTRAP)

$(STAMP): $(BOOTSTRAP) pyproject.toml uv.lock jobs/jars.lock
	$(BIN)/python -m ops.lockcheck --uv $(UV)
	$(UV) export --quiet --frozen --no-header --extra dev --no-emit-project -o $(LOCKED_REQUIREMENTS)
	$(UV) pip install --quiet --python $(BIN)/python --require-hashes --no-deps --no-build-isolation -r $(LOCKED_REQUIREMENTS)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	$(BIN)/python -m jobs.jars
	@touch $(STAMP)

venv: $(STAMP) ## create the virtual environment (.venv) from uv.lock (hash-checked) with the Delta/S3A jars

.PHONY: lock lock-check
lock: $(BOOTSTRAP) ## rewrite uv.lock after a change to pyproject.toml's dependencies (uv lock), then commit it
	$(UV) lock

lock-check: $(BOOTSTRAP) ## fail when uv.lock is out of date with pyproject.toml (and say to run `make lock`)
	$(BIN)/python -m ops.lockcheck --uv $(UV)

jars: $(STAMP) ## fetch the pinned Delta Lake + S3A jars (jobs/jars.lock) into ~/.cache/article-pipeline/jars
	$(BIN)/python -m jobs.jars

run: $(STAMP) ## run the whole pipeline locally until Ctrl-C (CLUSTER=standalone: master + 2 workers)
	CLUSTER=$(CLUSTER) $(BIN)/python -m ops.run

test: lint k8s-tools ## lint, then the whole test suite: unit, integration, e2e, chart, images, kind
	$(BIN)/pytest

test-unit: $(STAMP) ## unit tests only (seconds)
	$(BIN)/pytest -m unit

lint: $(STAMP) ## ruff (rules and formatting) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

inspect: $(STAMP) ## print the latest rows of each output as tables
	$(BIN)/python -m ops.inspect

reconcile: $(STAMP) ## published = enriched + quarantined, no duplicates (exit 1 if not)
	$(BIN)/python -m ops.reconcile

status: $(STAMP) ## one screen: health, shards, lag, latest batches, rows in each output
	$(BIN)/python -m ops.status

# `python -m jobs.kinesis.consumer deregister` in the environment `make run` gives its processes
# (ops/defaults.py: the local emulator unless AWS_ENDPOINT_URL is set; empty means real AWS).
efo-deregister: $(STAMP) ## deregister the stream consumer KINESIS_CONSUMER_NAME (enhanced fan-out); exit 0 if absent
	$(BIN)/python -c 'import os, sys; from ops.defaults import apply_local_defaults; os.execve(sys.executable, [sys.executable, "-m", "jobs.kinesis.consumer", "deregister"], apply_local_defaults())'

# The dashboard's main panels without Grafana (ops/report/), from the endpoints `make run` serves;
# REPORT_ARGS="--help" lists the options, e.g. REPORT_ARGS="--for 60s --every 1s".
REPORT_ARGS ?=
report: $(STAMP) ## record the job's and publisher's /metrics (every 2 s, 2 min) -> PNG, HTML, JSON in STATE_DIR/report/
	$(BIN)/python -m ops.report $(REPORT_ARGS)

STATE_DIR ?= .state
reset: ## remove local state ($$STATE_DIR, default .state/): checkpoints, shard-position logs, logs
	rm -rf "$(STATE_DIR)"
	@echo "local state removed ($(STATE_DIR)/)"

# Benchmarks -> bench/results/ (JSON, results.md, PNG plots); BENCH_ARGS="--help" lists options,
# e.g. BENCH_ARGS="--only latency".
BENCH_ARGS ?=
bench: $(STAMP) ## benchmarks -> bench/results/ (results.md, JSON, PNG); BENCH_ARGS="--help" lists options
	SPARK_LOCAL_IP=127.0.0.1 $(BIN)/python -m bench $(BENCH_ARGS)

# Container images: docker when `docker info` works, else podman on a debootstrap base (images/README.md).
# One recipe builds every image: scripts/build-image.sh <folder under images/>. The targets that
# need a container engine check for one first (engine-check, mk/kind.mk).
# The app images are tagged by content (0.1.0-<12 hex of the hash of their inputs>, plus 0.1.0 moved
# to the newest build; images/README.md); IMAGE_TAG=x names the tag instead.
IMAGE_TAG ?=

podman-setup: ## install + configure podman (no Docker engine needed; idempotent)
	bash scripts/setup-podman.sh

base-image: engine-check ## local Debian bookworm base for podman (debootstrap + podman import; cached)
	bash scripts/build-base-image.sh

images: engine-check ## build the publisher and spark-job images (docker or podman), tagged by content
	IMAGE_TAG=$(IMAGE_TAG) bash scripts/build-image.sh publisher spark-job

images-test: $(STAMP) ## build and exercise both images (pytest -m images)
	$(BIN)/pytest -m images tests/images -v

.PHONY: chart-docs
chart-docs: ## write the charts' README.md value tables from the values.yaml `# --` comments (helm-docs)
	bash scripts/chart-docs.sh

.PHONY: chart-lint
chart-lint: $(STAMP) k8s-tools ## kube-score v1.20.0 + checkov 3.3.30 (pinned, cached) on the chart's defaults and each ci/ render
	$(BIN)/python -m ops.chart_lint --helm $(HELM)

.PHONY: rules-test
rules-test: $(STAMP) k8s-tools ## promtool 3.16.0 (pinned, cached) check + unit tests (tests/chart/rules/) of the chart's alerts
	$(BIN)/pytest -q -m chart tests/chart/article-pipeline/test_article_pipeline_rules.py

# Kubernetes: kind cluster, images, Spark Operator, the chart.
include mk/kind.mk
