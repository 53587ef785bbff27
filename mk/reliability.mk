# Reliability: the benchmark-size HTTP fuzz and the load soak of the local target (docs/reliability.md).
# Both print figures and assert nothing; the CI-sized fuzz and the fault and secrets tests run
# with `make test`.
#
#   make fuzz                     >= 10,000 fuzzed requests through a local deployment's scoring URI (FUZZ_CASES)
#   make soak                     the local target at concurrency 32 for 60 s (SOAK_CONCURRENCY, SOAK_SECONDS)
#   make fuzz-tests FUZZ_EXAMPLES=2000   the fuzz tests with more examples per property
#   make hostile-clients          broken and hostile clients against the local scoring URI (also in make test)

FUZZ_CASES ?= 10000
FUZZ_WORKERS ?= 2
SOAK_CONCURRENCY ?= 32
SOAK_SECONDS ?= 60
FUZZ_EXAMPLES ?=

.PHONY: fuzz soak fuzz-tests hostile-clients

fuzz: model
	$(SPY) -m harness.fuzz_http --model-dir $(abspath $(MODEL_DIR)) --cases $(FUZZ_CASES) --workers $(FUZZ_WORKERS)

soak: model $(VENV)/.installed
	$(PY) -m bench.soak --model-dir $(abspath $(MODEL_DIR)) --concurrency $(SOAK_CONCURRENCY) --duration $(SOAK_SECONDS)

fuzz-tests: venvs model
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(SPY) -m pytest tests/scoring/test_fuzz_scorer.py tests/scoring/test_fuzz_http.py

hostile-clients: venvs model
	$(PY) -m pytest tests/deployment/test_scoring_uri_hostile.py
