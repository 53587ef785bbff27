# Two environments, never mixed (see docs/architecture.md, "Environments"):
#   .venv          the program's: pulumi, pulumi-azure-native, azureml-core (requirements*.txt)
#   .venv-scoring  the scoring one: tensorflow, azmlinfsrv (model_service/requirements*.txt)
# Both are created from the pins by the targets below; every other target depends on them.

PYTHON ?= python3
VENV := .venv
SCORING_VENV := .venv-scoring
PY := $(VENV)/bin/python
SPY := $(SCORING_VENV)/bin/python
MODEL_DIR ?= artifacts/model
PORT ?= 5001
# Each worker holds one model: docs/scoring.md says how many fit.
WORKERS ?= 1
STACK ?= dev

.DEFAULT_GOAL := help
.PHONY: help venvs model serve query demo destroy-local test test-program test-scoring lint bench

help:
	@echo "make demo           deploy the model on this machine with pulumi up (local stack), query it"
	@echo "make destroy-local  pulumi destroy the local stack"
	@echo "make cost           the cost estimate of STACK (default dev) from its stack file, without running the program"
	@echo "make test           lint and run the whole test suite (creates both environments, builds the pulumi CLI)"
	@echo "make pulumi-cli     build the pinned pulumi CLI and its Python language host into .tools/bin (needs go)"
	@echo "make serve          azmlinfsrv in the foreground on port \$$PORT (default 5001; it binds 0.0.0.0)"
	@echo "make query          the how-to's sample query against http://127.0.0.1:\$$PORT/score"
	@echo "make bench          the benchmarks (figures printed, results in bench/results/)"
	@echo "make test-infra     config validation, the program under mocks, the policy pack"
	@echo "make bench-program  wall time of evaluating the dev stack under mocks"
	@echo "make gpu-check      on one NVIDIA GPU: builds .venv-gpu from the GPU pins, trains, prints the figures as JSON (exit 3: no GPU)"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(SCORING_VENV)/.installed: model_service/requirements.txt model_tools/requirements.txt
	$(PYTHON) -m venv $(SCORING_VENV)
	$(SPY) -m pip install --quiet --disable-pip-version-check -r model_tools/requirements.txt
	touch $@

# Both at once: each pip install is mostly one core's work (unpacking, byte-compiling), so a fresh
# machine waits for the slower of the two rather than for their sum.
venvs:
	@$(MAKE) --no-print-directory -j2 $(VENV)/.installed $(SCORING_VENV)/.installed

# A real model on a machine with no network: scikit-learn's bundled digits, upscaled to 28x28.
$(MODEL_DIR)/metadata.json: | $(SCORING_VENV)/.installed
	$(SPY) -m model_tools.train --digits --out $(MODEL_DIR)

model: $(MODEL_DIR)/metadata.json

# Not WORKER_PRELOAD: with TensorFlow it hangs the workers.
serve: model
	$(SCORING_VENV)/bin/azmlinfsrv --entry_script model_service/score.py \
		--model_dir $(abspath $(MODEL_DIR)) --port $(PORT) --worker_count $(WORKERS)

query: | $(SCORING_VENV)/.installed
	$(SPY) -m model_tools.client --uri http://127.0.0.1:$(PORT)/score

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q -p no:cacheprovider tests/infra/test_import_rules.py  # docs/architecture.md's import table
	$(PY) -m mypy  # infra/, as pyproject's [tool.mypy] says

# The scoring tests need TensorFlow, the rest needs pulumi and azureml-core: one run per env.
test-scoring: venvs
	$(SPY) -m pytest tests/scoring

# tests/engine drives the real pulumi CLI, built first (mk/engine.mk).
test-program: venvs pulumi-cli
	$(PY) -m pytest tests --ignore=tests/scoring

test: venvs lint test-scoring test-program

include $(wildcard mk/*.mk)
