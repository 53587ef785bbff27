# The infrastructure program (infra/), its policy pack (policy/) and their tests and benchmark.
#
#   make test-infra     config validation, the program under mocks, the policy pack (direct and via its server)
#   make bench-program  wall time of evaluating the dev stack under mocks (goal ≤ 3 s)

.PHONY: test-infra bench-program

test-infra: $(VENV)/.installed
	$(PY) -m pytest tests/infra tests/policy

bench-program: $(VENV)/.installed
	$(PY) bench/program_eval.py

bench: bench-program
