"""`make gpu-check`: the scoring service measured on one NVIDIA GPU, as one JSON document.

    python -m scripts.gpu_check                 # what `make gpu-check` runs
    python -m scripts.gpu_check --allow-cpu --venv .venv-scoring --no-build --quick   # on a CPU

The steps, one module each:

    detect.py         find an NVIDIA GPU cheaply (nvidia-smi -L, /dev/nvidia0), before anything is built
    environment.py    build .venv-gpu from scripts/gpu_check/requirements-gpu.txt (PyPI only)
    forward_probe.py  in that venv: device report, each batch size's route, predictions against the
                      numpy forward on 10,000 images, forward timings and the measured threshold
    cold_start.py     in that venv, a fresh process: TensorFlow import, device listing, model load, warm-up
    http_load.py      azmlinfsrv serving model_service/score.py, driven with harness/loadgen.py; each
                      worker's RSS (/proc) and GPU memory (nvidia-smi)
    stats.py          percentiles, the threshold from timings (pure)
    report.py         the JSON document and the exit codes
    cli.py            the order of the steps, the options

Everything but forward_probe.py and cold_start.py is standard library only: the check starts
from whatever `python3` the machine has, and builds the environment the rest runs in.
"""
