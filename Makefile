# article-pipeline: one command to run it, one to test it. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CLUSTER ?= local

.DEFAULT_GOAL := help
.PHONY: help venv run test test-unit lint inspect reconcile status reset

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## create the virtual environment (.venv) with pinned dependencies

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

reset: ## remove local state: checkpoints, shard-position logs, logs
	rm -rf .state
	@echo "local state removed (.state/)"

-include mk/*.mk
