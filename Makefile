# Two commands for newcomers: `make demo` and `make test`. Everything else is for maintainers.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
EXTRAS ?= app,training,infra,dev
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock 2>/dev/null | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000
export MLSYS_HOME ?= $(CURDIR)/.mlsys

.PHONY: help install lock lint format typecheck test test-fast docs-tools demo train serve bench bench-abuse plan plan-diff clean

help:
	@echo "make demo       train, promote and serve the model on http://$(HOST):$(PORT)"
	@echo "make test       lint, type-check and run the whole test suite"
	@echo "make lint       ruff (lint + format check) and mypy"
	@echo "make plan STACK=dev   the Pulumi program under mocks: build/plan/<stack>/"
	@echo "make plan-diff A=dev B=prod   resource counts and settings that differ"
	@echo "make bench      every model kind, this API against mlflow models serve; writes docs/benchmarks.md"
	@echo "make bench-abuse   /healthz and memory under slow, oversized and large requests"
	@echo "make drill-restore | drill-faults | drill-load   reliability drills (docs/reliability.md)"
	@echo "make lock       refresh requirements.lock from the current environment"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[$(EXTRAS)]"
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

lock: install
	# --all: setuptools too, which a runtime dependency (zc.lockfile, via dvc) needs; not pip.
	$(BIN)/python -m pip freeze --all --exclude-editable | grep -v -e '^-e ' -e '^pip==' > requirements.lock

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app training infra
	$(BIN)/hadolint app/Dockerfile training/Dockerfile

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test-fast: install docs-tools schema-tools
	$(BIN)/pytest -m "not slow"

test: lint docs-tools schema-tools check-infra check-alerts check-workflows airflow-venv
	$(BIN)/pytest

# mermaid, to check that every diagram in the docs parses as GitHub will render it.
DOCS_TOOLS := build/docs-tools
$(DOCS_TOOLS)/.installed: tests/docs/package.json tests/docs/package-lock.json
	@mkdir -p $(DOCS_TOOLS)
	cp tests/docs/package.json tests/docs/package-lock.json $(DOCS_TOOLS)/
	cd $(DOCS_TOOLS) && npm ci --no-audit --no-fund --silent
	@touch $@

docs-tools: $(DOCS_TOOLS)/.installed

# The Gateway API's validators (generated from its CRDs' schemas) for the manifest checks.
SCHEMA_TOOLS := build/schema-tools
$(SCHEMA_TOOLS)/.installed: infra/offline/gateway_api/package.json infra/offline/gateway_api/package-lock.json infra/offline/gateway_api/validate.mjs
	@mkdir -p $(SCHEMA_TOOLS)
	cp infra/offline/gateway_api/package.json infra/offline/gateway_api/package-lock.json infra/offline/gateway_api/validate.mjs $(SCHEMA_TOOLS)/
	cd $(SCHEMA_TOOLS) && npm ci --no-audit --no-fund --silent
	@touch $@

.PHONY: schema-tools
schema-tools: $(SCHEMA_TOOLS)/.installed

# The API under test runs from a virtualenv with only the `app` group, as in the image
# (no pandas or pytest for scikit-learn and skops to pick up at import time).
APP_VENV := build/app-venv
APP_STAMP := $(APP_VENV)/.installed-$(shell cat pyproject.toml requirements.lock 2>/dev/null | cksum | cut -d' ' -f1)

$(APP_STAMP): pyproject.toml requirements.lock
	@test -x $(APP_VENV)/bin/python || $(PYTHON) -m venv $(APP_VENV)
	$(PYTHON) -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['app']))" > $(APP_VENV)/requirements.txt
	$(APP_VENV)/bin/python -m pip install --quiet -c requirements.lock -r $(APP_VENV)/requirements.txt
	@rm -f $(APP_VENV)/.installed-*
	@touch $@

bench: install $(APP_STAMP)
	BENCH_API_PYTHON=$(APP_VENV)/bin/python $(BIN)/python -m tests.benchmarks.per_kind

# Slow-header, oversized-header and large-body attacks on the API as `make bench` runs it;
# writes its own section of docs/benchmarks.md.
bench-abuse: install $(APP_STAMP)
	BENCH_API_PYTHON=$(APP_VENV)/bin/python $(BIN)/python -m tests.benchmarks.abuse

# Reliability drills on one machine, every process started by the drill (docs/reliability.md):
# each stops, slows and cuts MLflow, PostgreSQL and S3 under Locust load; a backup, drop and
# restore of the registry database; 10 minutes (DRILL_LOAD_MINUTES) near 70 % of capacity.
# `make test` runs a short version of each (tests/drills/test_drills.py).
.PHONY: drill-faults drill-load drill-restore
drill-faults: install
	$(BIN)/python -m tests.drills.faults

DRILL_LOAD_MINUTES ?= 10
drill-load: install
	DRILL_LOAD_MINUTES=$(DRILL_LOAD_MINUTES) $(BIN)/python -m tests.drills.load

drill-restore: install
	$(BIN)/python -m tests.drills.restore

STACK ?= dev
plan: install
	$(BIN)/python -m infra.offline plan --stack $(STACK)

# checkov over the offline plan of every stack (tfplan.json and manifests), from its own
# virtualenv with every dependency pinned; skips only those reviewed in infra/checkov-skips.yaml.
CHECKOV_VENV := build/checkov-venv
$(CHECKOV_VENV)/.installed: infra/checkov-requirements.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r infra/checkov-requirements.txt
	@touch $@

# The alert rules as deployed (rendered with the test parameters) through promtool:
# `check rules` for syntax, `test rules` for the unit tests beside them.
.PHONY: check-alerts
check-alerts: install
	@rm -rf build/alerts
	$(BIN)/python -m infra.platform.monitoring.rules render build/alerts > /dev/null
	promtool check rules build/alerts/*.rules.yaml
	promtool test rules build/alerts/*.test.yaml

.PHONY: check-infra
check-infra: install $(CHECKOV_VENV)/.installed
	@for stack in dev staging prod; do \
	    $(BIN)/python -m infra.offline plan --stack $$stack > /dev/null || exit 1; done
	$(BIN)/python -m infra.policy build/plan/dev/resources.json \
	    build/plan/staging/resources.json build/plan/prod/resources.json
	$(BIN)/python -m infra.offline.checkov_gate --checkov $(CHECKOV_VENV)/bin/checkov dev staging prod

# actionlint and zizmor over .github/workflows/, from their own pinned virtualenv; zizmor
# offline (no GitHub API) and failing at medium severity and above.
WORKFLOW_TOOLS := build/workflow-tools
$(WORKFLOW_TOOLS)/.installed: .github/workflow-tools.txt
	@test -x $(WORKFLOW_TOOLS)/bin/python || $(PYTHON) -m venv $(WORKFLOW_TOOLS)
	$(WORKFLOW_TOOLS)/bin/python -m pip install --quiet -r .github/workflow-tools.txt
	@touch $@

.PHONY: check-workflows
check-workflows: $(WORKFLOW_TOOLS)/.installed
	$(WORKFLOW_TOOLS)/bin/actionlint -color=false .github/workflows/*.yml
	$(WORKFLOW_TOOLS)/bin/zizmor --offline --min-severity medium .github/workflows/

# The training DAG through a real Airflow, from its own pinned virtualenv: it imports, runs
# the six steps in order and every task uses the configured image. `make test` builds the
# virtualenv and pytest runs the same check (tests/training/dags/test_dag_integrity.py).
AIRFLOW_VENV := build/airflow-venv
$(AIRFLOW_VENV)/.installed: training/dags/airflow-requirements.txt
	@test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet -r training/dags/airflow-requirements.txt
	@touch $@

.PHONY: airflow-venv check-dags
airflow-venv: $(AIRFLOW_VENV)/.installed

check-dags: $(AIRFLOW_VENV)/.installed
	$(AIRFLOW_VENV)/bin/python tests/training/dags/check_dag.py

A ?= dev
B ?= prod
plan-diff: install
	$(BIN)/python -m infra.offline diff $(A) $(B)

train: install
	$(BIN)/python -m training run

serve: install
	$(BIN)/python -m training example-request --out $(MLSYS_HOME)/example-request.json
	@# A local demo key: only its hash goes into the key file; the key itself stays in a 0600 file.
	@test -s $(MLSYS_HOME)/demo-key || $(BIN)/python -m app.keys create --id demo \
	    --scopes predict,admin --append $(MLSYS_HOME)/api-keys --key-out $(MLSYS_HOME)/demo-key
	@echo
	@echo "Prediction API: http://$(HOST):$(PORT)   (docs at http://$(HOST):$(PORT)/docs)"
	@echo "Try it from another terminal:"
	@echo "  curl -s -X POST http://$(HOST):$(PORT)/v1/predict \\"
	@echo "       -H \"Authorization: Bearer \$$(cat $(MLSYS_HOME)/demo-key)\" \\"
	@echo "       -H 'Content-Type: application/json' -d @$(MLSYS_HOME)/example-request.json"
	@echo "Next: docs/local-lifecycle.md, the MLflow UI with"
	@echo "  $(BIN)/mlflow ui --backend-store-uri sqlite:///$(MLSYS_HOME)/mlflow.db"
	@echo "Stop with Ctrl-C."
	@echo
	MLSYS_API_HOST=$(HOST) MLSYS_API_PORT=$(PORT) MLSYS_API_API_KEYS_FILE=$(MLSYS_HOME)/api-keys \
	    $(BIN)/python -m app

demo: train serve

clean:
	rm -rf $(VENV) .mlsys build .pytest_cache .mypy_cache .ruff_cache
