"""The entry script as Azure ML ships it: `model_service/` uploaded alone, loaded by azmlinfsrv's
own loader (by file path) in a fresh interpreter, with `run()` handed the raw Flask request."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE_DIR = Path(__file__).resolve().parents[2] / "model_service"

# Runs in a directory holding only a copy of model_service/, with nothing of the repo importable.
_PROGRAM = """
import importlib.util, json, sys
from pathlib import Path
from flask import Request
from werkzeug.test import EnvironBuilder
from azureml_inference_server_http.server.user_script import UserScript

app_root = sys.argv[1]
names = sorted(p.stem for p in Path(app_root, "model_service").glob("*.py") if p.stem != "__init__")
installed = [name for name in names if importlib.util.find_spec(name) is not None]
script = UserScript("model_service/score.py")
script.load_script(app_root)
script.invoke_init()

def post(body, content_type):
    environ = EnvironBuilder(method="POST", path="/score", data=body, content_type=content_type)
    return script.invoke_run(Request(environ.get_environ()), timeout_ms=60_000).output

ok = post(bytes(2 * 784), "application/octet-stream")
bad = post(b'{"data": [1]}', "application/json")
loaded = sorted(
    name for name, module in sys.modules.items()
    if (getattr(module, "__file__", None) or "").startswith(app_root)
)
print(json.dumps({
    "installed": installed,
    "parser": type(script.input_parser).__name__,
    "ok": [ok.status_code, json.loads(ok.get_data())],
    "bad": [bad.status_code, json.loads(bad.get_data())["message"]],
    "loaded": loaded,
}))
"""


@pytest.mark.slow
def test_model_service_uploaded_alone_loads_in_the_servers_loader_and_takes_raw_requests(
    tmp_path: Path, trained_model_dir: Path
) -> None:
    app_root = tmp_path / "upload"
    shutil.copytree(SOURCE_DIR, app_root / "model_service", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update({"AZUREML_MODEL_DIR": str(trained_model_dir), "SCORE_WARMUP_BATCHES": "1"})

    done = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(app_root)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Appended to sys.path, the directory's modules must not share a name with anything installed.
    assert result["installed"] == []
    # @rawhttp on score.run: the server hands run() the Flask request, not a parsed JSON string.
    assert result["parser"] == "RawRequestInput"
    assert result["ok"] == [200, [result["ok"][1][0]] * 2] and 0 <= result["ok"][1][0] <= 9
    assert result["bad"][0] == 400 and "data[0] is the number 1" in result["bad"][1]
    # Every scoring module came from the uploaded copy, imported once by its plain name.
    assert {"scorer", "scoring_errors", "json_decoding", "dense_forward"} <= set(result["loaded"])
    assert not any(name.startswith("model_service") for name in result["loaded"])
