# The GPU check (docs/performance.md, "GPU check"): on a machine with one NVIDIA GPU where only
# PyPI is reachable, builds $(GPU_VENV) from scripts/gpu_check/requirements-gpu.txt, trains the model
# and prints one JSON document (also written to $(GPU_CHECK_OUT)); under 8 minutes.
# No prerequisites on purpose: without a GPU it must stop before building anything. The script
# then exits 3 (make reports "Error 3"); scripts/gpu_check/report.py lists every exit code.
#
#   make gpu-check GPU_CHECK_ARGS="--quick"                          a short run on a GPU
#   make gpu-check GPU_CHECK_ARGS="--allow-cpu --no-build" GPU_VENV=.venv-scoring   the same steps on a CPU

GPU_VENV ?= .venv-gpu
GPU_CHECK_OUT ?= artifacts/gpu-check.json
GPU_CHECK_ARGS ?=

.PHONY: gpu-check
gpu-check:
	$(PYTHON) -m scripts.gpu_check --venv $(GPU_VENV) --out $(GPU_CHECK_OUT) $(GPU_CHECK_ARGS)
