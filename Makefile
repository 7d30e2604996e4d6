# One command per task. Every target installs what it needs first, so a fresh clone works.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/dev.lock
ENGINE_FILES := src/risk_service/engine/*,src/risk_service/var_calculator.py
# checkov pins versions that clash with the project's: it lives in its own virtualenv.
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
TOOLS_LOCK := requirements/tools.lock
TERRAFORM_DIR ?= infra/terraform/staging

.PHONY: help setup lock lint lint-terraform format typecheck test test-fast bench demo demo-clean clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python $(LOCK) pyproject.toml
	@# The lock pins every package, transitive ones included: install exactly it (--no-deps, so
	@# no resolver can prefer a newer release a dependency's extra allows), then let pip check
	@# that it is complete and consistent. (The grep drops this machine's pip-config notices
	@# about absent local mirrors.)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r $(LOCK) 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m pip check --disable-pip-version-check
	touch $(STAMP)

$(TOOLS_STAMP): $(TOOLS_LOCK)
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps \
		-r $(TOOLS_LOCK) 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
	touch $(TOOLS_STAMP)

# Debian packages the suite and the benchmarks drive for real (bubblewrap: the gates' sandbox).
SYSTEM_PACKAGES := wrk haproxy bubblewrap

setup: $(STAMP) ## create .venv, install the locked dependencies and the project, start local services
	@scripts/ensure-system.sh $(SYSTEM_PACKAGES)

lock: ## re-resolve the pinned locks from pyproject.toml (needs uv)
	uv pip compile pyproject.toml --extra dev --python-version 3.11 --generate-hashes -o requirements/dev.lock
	uv pip compile pyproject.toml --python-version 3.11 --generate-hashes -o requirements/runtime.lock
	uv pip compile requirements/tools.in --python-version 3.11 --generate-hashes -o $(TOOLS_LOCK)

lint: $(STAMP) ## ruff, format check, mypy, bandit, actionlint, hadolint, Terraform (hcl2 + checkov)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/bandit -q -r src --severity-level medium
	$(BIN)/actionlint .github/workflows/*.yml
	@if [ -f Dockerfile ]; then $(BIN)/hadolint Dockerfile; fi
	$(MAKE) --no-print-directory lint-terraform

lint-terraform: $(STAMP) $(TOOLS_STAMP) ## parse TERRAFORM_DIR with python-hcl2, then scan it with checkov
	$(BIN)/python scripts/check_terraform.py $(TERRAFORM_DIR)
	$(TOOLS)/bin/checkov --directory $(TERRAFORM_DIR) --framework terraform --quiet --compact \
		--skip-download

format: $(STAMP) ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

typecheck: $(STAMP)
	$(BIN)/mypy

test: setup lint ## lint, then the whole suite with branch coverage (fails under 80 %)
	rm -f .coverage .coverage.*
	$(BIN)/python -m pytest --cov --cov-branch --cov-report=term --cov-report=xml -p no:cacheprovider --durations=20
	@# the engine is held to a higher bar than the whole package
	@engine=$$($(BIN)/python -m coverage report --include='$(ENGINE_FILES)' --format=total); \
	echo "engine + var_calculator coverage: $$engine % (required: 95 %)"; \
	$(BIN)/python -m coverage report --include='$(ENGINE_FILES)' --fail-under=95 >/dev/null

test-fast: $(STAMP) ## unit tests only, no coverage
	$(BIN)/python -m pytest -m "not integration and not slow" -q

bench: setup ## benchmarks: prints figures and ratios against baselines measured in the same run
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python "$$b"; done

demo: setup ## the whole story end to end: v1 to prod, v2 canaried, v3 and v4 stopped (riskctl demo)
	$(BIN)/riskctl demo

demo-clean: $(STAMP) ## stop what the demo started and remove its state
	$(BIN)/riskctl demo --clean

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache .coverage .coverage.* coverage.xml .hypothesis
