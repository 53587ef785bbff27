"""The floor plus the work any scorer of this model must do for a 1-image JSON body, and nothing else.

A correct answer needs every number of the body parsed and the first layer's product computed
(784 pixels × 300 units: 0.94 MB of float32 weights, the bulk of the model). This script does
exactly those two steps the cheapest way we measured (simdjson with one reused parser into a
float64 buffer, one float32 cast, one BLAS product) and then answers a constant, as the
`constant` floor does. It checks nothing and skips the model's other layers, so it is not a
scorer: it is how close to the floor any scorer of this model and body format can come on this
machine. Served like the floor (`@rawhttp`, the body read in one call, the same logging.json),
with TensorFlow loaded in `init()` as our scorer's workers have it.

ESSENTIAL_STEPS (default `parse,product`) keeps one step alone, to tell what each costs once served
(bench/floor_budget.py): with `product` alone the product takes a fixed image instead of the body's.
"""

import os
from pathlib import Path

import numpy as np
import simdjson
from azureml_inference_server_http.api.aml_request import rawhttp
from azureml_inference_server_http.api.aml_response import AMLResponse

_CONSTANT = b"[0]"
_PIXELS = 784
_STEPS = ("parse", "product")
_parser = simdjson.Parser()
_first_kernel = None
_parse = _product = True
_fixed_image = np.full((1, _PIXELS), 0.5, np.float32)


def _chosen_steps(text: str) -> tuple[bool, bool]:
    steps = {part.strip() for part in text.split(",") if part.strip()}
    if not steps or steps - set(_STEPS):
        allowed = ", ".join(_STEPS)
        raise ValueError(f"ESSENTIAL_STEPS={text!r}: expected a comma-separated subset of {allowed}")
    return "parse" in steps, "product" in steps


def init() -> None:
    """The steps to run, and the SavedModel's first dense kernel ([784, units]) as float32."""
    global _first_kernel, _parse, _product
    _parse, _product = _chosen_steps(os.environ.get("ESSENTIAL_STEPS", ",".join(_STEPS)))
    import tensorflow as tf  # as our scorer's workers: TensorFlow is loaded in every worker

    root = os.environ.get("AZUREML_MODEL_DIR", ".")
    found = sorted(Path(root).rglob("saved_model.pb"))
    if not found:
        raise FileNotFoundError(f"no saved_model.pb under AZUREML_MODEL_DIR={root!r}")
    model = tf.saved_model.load(str(found[0].parent))
    kernels = [v.numpy() for v in model.variables if len(v.shape) == 2 and v.shape[0] == _PIXELS]
    if not kernels:
        raise ValueError(f"no [{_PIXELS}, n] kernel among the model's variables")
    _first_kernel = np.ascontiguousarray(kernels[0], dtype=np.float32)


@rawhttp
def run(request):
    length = request.content_length
    body = request.get_data() if length is None else request.input_stream.read(length)
    images = _fixed_image
    if _parse:
        document = _parser.parse(body)
        values = np.frombuffer(document["data"].as_buffer(of_type="d"), dtype=np.float64)
        del document  # the parser is reused: no part of the document may outlive the request
        images = values.astype(np.float32).reshape(-1, _PIXELS)
    if _product:
        # The product is computed and dropped: its cost is the point, the answer stays the floor's.
        images @ _first_kernel
    return AMLResponse(_CONSTANT, 200, {"Content-Type": "application/json"})
