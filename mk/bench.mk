# Benchmarks (docs/performance.md): figures printed, results in bench/results/.
#
#   make bench              every benchmark below
#   make bench-score        scoring throughput, full matrix (~7 minutes on 2 cores)
#   make bench-score-quick  the reduced matrix (under two minutes)
#   make bench-tools        Debian's `hey` load generator (root; without it the bench uses its own client)
#
# BENCH_ARGS passes extra options, e.g. BENCH_ARGS="--loadgen python" or
# BENCH_ARGS="--ours-env TF_NUM_INTRAOP_THREADS=1".

BENCH_ARGS ?=

.PHONY: bench bench-score bench-score-quick bench-tools

bench: bench-score

# hey is a Debian package; apt needs root (as on this project's machines and CI).
bench-tools:
	@command -v hey >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq hey; }

bench-score: model bench-tools
	$(SPY) bench/score_throughput.py --model-dir $(abspath $(MODEL_DIR)) $(BENCH_ARGS)

bench-score-quick: model bench-tools
	$(SPY) bench/score_throughput.py --quick --model-dir $(abspath $(MODEL_DIR)) $(BENCH_ARGS)
