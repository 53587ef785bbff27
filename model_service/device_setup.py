"""Where and how wide the forward runs: thread pools sized per worker, GPU memory growth.

`tf_config` is `tf.config`, passed in so tests can show a machine with GPUs.
"""

from __future__ import annotations

import logging
from typing import Any

import threadpoolctl

# Routed through the inference server's own log handlers (its logger is "azmlinfsrv").
logger = logging.getLogger("azmlinfsrv.scorer")


def configure_threads(tf_config: Any, threads: int) -> None:
    """Size TensorFlow's thread pools and numpy's BLAS pool (0: their defaults, as wide as the
    machine). TensorFlow's must be sized before it starts them."""
    if threads == 0:
        return
    threadpoolctl.threadpool_limits(threads, user_api="blas")  # stays in force for the process
    try:
        tf_config.threading.set_intra_op_parallelism_threads(threads)
        tf_config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError as error:  # the pools already exist (TensorFlow was used before load())
        logger.warning("could not size TensorFlow's thread pools to %d: %s", threads, error)


def configure_devices(tf_config: Any) -> str:
    """Turn on memory growth for every visible GPU; return the device to run on ("/GPU:0" or "/CPU:0").

    Memory growth keeps TensorFlow from reserving all GPU memory up front in each worker process.
    """
    gpus = tf_config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf_config.experimental.set_memory_growth(gpu, True)
        except RuntimeError as error:  # the GPU was initialised before this call
            logger.warning("could not turn on memory growth for %s: %s", gpu, error)
    return "/GPU:0" if gpus else "/CPU:0"
