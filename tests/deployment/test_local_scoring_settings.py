"""The stack's `scoring` settings reach a local release for real: LocalBackend (what `pulumi up`
runs on the local stack) deploys the trained model with a batch limit of 2, the entry script
refuses 3 images through the scoring URI naming SCORE_MAX_BATCH, and an update to a limit of 4
switches releases in place behind the same URI."""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from deployment.backend import LiveDeployment
from deployment.local.backend import LocalBackend
from deployment.settings import ScoringSettings
from harness.local_service import local_spec
from harness.provider_host import processes_referencing

pytestmark = pytest.mark.slow


def score(live: LiveDeployment, images: int) -> tuple[int, object]:
    body = json.dumps({"data": [[0.0] * 784] * images}).encode()
    request = urllib.request.Request(live.scoring_uri, body, {"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, no proxy
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_release_runs_with_the_scoring_settings_and_an_update_changes_them(
    trained_model_dir: Path, state_dir: Path
):
    spec = local_spec(
        trained_model_dir, state_dir, name="scoring-settings", workers=1, scoring=ScoringSettings(max_batch=2)
    )
    backend = LocalBackend(spec.local_target())
    live = backend.create(spec, lambda _message: None)
    try:
        status, reply = score(live, 3)
        assert status == 400
        assert "batch of 3 images is over the maximum of 2 (SCORE_MAX_BATCH)" in reply["message"]
        status, digits = score(live, 2)
        assert status == 200 and isinstance(digits, list) and len(digits) == 2
        assert "warmed at batch sizes [1, 2]" in backend.logs(live, 500)  # the defaults a limit of 2 allows

        wider = dataclasses.replace(spec, scoring=ScoringSettings(max_batch=4))
        updated = backend.update(live, spec, wider, lambda _message: None)

        assert updated.scoring_uri == live.scoring_uri
        assert updated.handle["release"]["release_id"] != live.handle["release"]["release_id"]
        status, digits = score(updated, 3)
        assert status == 200 and isinstance(digits, list) and len(digits) == 3
        live = updated
    finally:
        backend.delete(live)
    assert processes_referencing(state_dir) == []
