# Benchmarks (docs/performance.md): figures printed, results in bench/results/.
#
#   make bench              every benchmark below
#   make bench-score        scoring throughput, full matrix (~15 minutes on 2 cores)
#   make bench-score-quick  the reduced matrix (under two minutes)
#   make bench-provider     no-op diff, local create to healthy (and where the seconds go), an
#                           update under a scoring client (failed requests, latency added)
#   make bench-tools        Debian's `wrk` load generator (root); `--loadgen auto` picks wrk, else
#                           harness/loadgen.py
#
# BENCH_ARGS passes extra options, e.g. BENCH_ARGS="--loadgen python --rounds 5".

BENCH_ARGS ?=

.PHONY: bench bench-score bench-score-quick bench-tools bench-provider

bench: bench-score bench-provider

# wrk is a Debian package; apt needs root (as on this project's machines and CI).
# wrk (C, epoll) costs about a fifth of Go's hey's client CPU per request (docs/performance.md).
bench-tools:
	@missing=""; \
	for tool in wrk; do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then apt-get update -qq && apt-get install -y -qq $$missing; fi

bench-score: model bench-tools
	$(SPY) bench/score_throughput.py --model-dir $(abspath $(MODEL_DIR)) $(BENCH_ARGS)

bench-score-quick: model bench-tools
	$(SPY) bench/score_throughput.py --quick --model-dir $(abspath $(MODEL_DIR)) $(BENCH_ARGS)

bench-provider: model $(VENV)/.installed
	$(PY) bench/provider_ops.py --model-dir $(abspath $(MODEL_DIR))
