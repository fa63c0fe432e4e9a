# Outage Comms — every target works on a fresh machine with python3, node/npm and make.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PLAN ?= plans/example.yaml
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1
export PYTHONDONTWRITEBYTECODE := 1
STAMP := $(VENV)/.installed
# checkov (the second IaC gate) pins dependencies that clash with ours: it gets its own venv.
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)

.PHONY: prune-assets region-drill help install lint typecheck unit infra integration e2e test synth iac-scan drill local bench security clean package-test wheel

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt package.json package-lock.json scripts/install-system-deps.sh
	bash scripts/install-system-deps.sh chromium
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -c constraints.txt -e '.[cdk,dev]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

$(CHECKOV_STAMP):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip==25.3
	$(CHECKOV_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $(CHECKOV_STAMP)

install: $(STAMP) $(CHECKOV_STAMP) ## Create .venv/, .venv-checkov/ and node_modules/ with every pinned dependency

lint: $(STAMP) ## ruff, mypy (runtime and CDK app), the layer contracts (import-linter) and the example plan's own lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	BIN=$(BIN) bash scripts/mypy_stacks.sh
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/outage-comms lint $(PLAN)

unit: $(STAMP) ## Pure logic tests
	$(BIN)/pytest -q -m unit

infra: $(STAMP) ## CDK assertions and the cdk-nag gate
	$(BIN)/pytest -q -m infrastructure

synth: $(STAMP) ## Synthesize every stack (cdk-nag gate) and cfn-lint the templates
	rm -rf cdk.out
	npx cdk synth --quiet -c plan=$(PLAN) > /dev/null
	$(BIN)/cfn-lint cdk.out/*.template.json

iac-scan: $(STAMP) $(CHECKOV_STAMP) ## checkov over the synthesized templates (suppressions and reasons: .checkov.yaml)
	@test -n "$$(ls cdk.out/*.template.json 2>/dev/null)" || $(MAKE) --no-print-directory synth
	$(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml $$(printf -- '-f %s ' cdk.out/*.template.json)

test: $(STAMP) ## Everything CI runs: lint, all test tiers, synth gate
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -q -n 2 --dist loadfile
	$(MAKE) --no-print-directory synth
	$(MAKE) --no-print-directory iac-scan

package-test: $(STAMP) ## Build the wheel, install it in a fresh venv outside the repo; init, lint, drill and cdk synth there
	OUTAGE_COMMS_PACKAGE_TEST=1 $(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_wheel_install.py

wheel: ## Build the installable wheel into dist/
	$(BIN)/pip wheel --no-deps -q -w dist .
	rm -rf build

drill: $(STAMP) ## Run a whole incident on the embedded default plan, locally
	$(BIN)/outage-comms drill --plan $(PLAN) --out out/drill

region-drill: $(STAMP) ## Issue 17's proof alone (make test runs it too): the default story with the primary region down from minute 10 to 40 and the failback race, both engines on the embedded AWS (~3-4 min)
	$(BIN)/pytest -q -p no:cacheprovider tests/e2e/test_region_drill.py tests/integration/regions/test_failback_race.py

local: $(STAMP) ## The whole app on the embedded AWS at http://127.0.0.1:8000/ (state in .outage-comms/local)
	$(BIN)/outage-comms local --plan $(PLAN) --port $(or $(PORT),8000)

bench: $(STAMP) ## Benchmarks; results in bench/results/
	$(BIN)/python bench/run.py --out bench/results/latest.json

security: $(STAMP) ## The security proof suite at full scale; figures in bench/results/security.json
	rm -rf out/security
	$(BIN)/python bench/security_report.py out/security --start
	OUTAGE_COMMS_SECURITY_SCALE=full OUTAGE_COMMS_SECURITY_RESULTS=out/security \
		$(BIN)/pytest -q -n 2 --dist loadfile -m security tests/security
	$(BIN)/python bench/security_report.py out/security --out bench/results/security.json

prune-assets: $(STAMP) ## Remove the cached function assets (.build/assets) the last `make synth` does not use (older than an hour)
	$(BIN)/python scripts/prune_assets.py --plan $(PLAN) --cdk-out cdk.out

clean:
	rm -rf cdk.out .build out .pytest_cache .mypy_cache .ruff_cache build dist
