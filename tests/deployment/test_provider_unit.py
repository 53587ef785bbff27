"""ModelDeploymentProvider in-process: check failures, diff results, backend choice, pickling."""

from __future__ import annotations

import base64
import pickle
from typing import Any

import dill
import pytest
from pulumi.dynamic.dynamic import serialize_provider
from specs import build_spec

from deployment.backend import LiveDeployment
from deployment.provider import ModelDeploymentProvider, backend_for, live_from_outputs, live_outputs
from deployment.settings import ScoringSettings
from deployment.spec import DeploymentSpec

HASH = "c" * 64
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def _inputs(**changes: Any) -> dict[str, Any]:
    inputs = build_spec(
        model_hash=HASH, source_hash=HASH, environment_hash=HASH, scoring=ScoringSettings()
    ).to_inputs()
    inputs.update(changes)
    return inputs


def _failures(news: dict[str, Any]) -> dict[str, str]:
    result = ModelDeploymentProvider().check({}, news)
    return {failure.property: failure.reason for failure in result.failures}


def test_valid_inputs_pass_check_unchanged():
    news = _inputs()
    result = ModelDeploymentProvider().check({}, news)
    assert result.failures == []
    assert result.inputs == news


CHECK_TABLE = [
    ({"service_name": "ab"}, "service_name", "'ab' is not allowed: 3–32 lowercase letters"),
    ({"service_name": "Upper"}, "service_name", "'Upper' is not allowed"),
    ({"service_name": "x" * 33}, "service_name", "is not allowed"),
    ({"service_name": "ends-with-"}, "service_name", "is not allowed"),
    ({"backend": "gcp"}, "backend", "'gcp' is not allowed: one of local, azureml"),
    ({"model_hash": "abc"}, "model_hash", "a sha256 hex digest"),
    ({"entry_script": "../score.py"}, "entry_script", "relative to the source directory"),
    ({"entry_script": "/abs/score.py"}, "entry_script", "relative to the source directory"),
    ({"model_dir": "relative/model"}, "model_dir", "an absolute path"),
    ({"model_name": ""}, "model_name", "is not allowed"),
]


@pytest.mark.parametrize(("change", "prop", "reason"), CHECK_TABLE)
def test_check_failures_name_the_property_the_value_and_what_is_allowed(change, prop, reason):
    failures = _failures(_inputs(**change))
    assert list(failures) == [prop]
    assert reason in failures[prop]


SETTINGS_TABLE = [
    ("replicas", 0, "settings.replicas", "≥ 1"),
    ("replicas", 1.5, "settings.replicas", "whole number"),
    ("cpu_cores", 0, "settings.cpu_cores", "> 0"),
    ("memory_gb", -1, "settings.memory_gb", "> 0"),
    ("gpu_cores", 0, "settings.gpu_cores", "≥ 1"),  # config never allowed 0; check did
    ("auth", "password", "settings.auth", "one of key, token, none"),
    ("scoring_timeout_ms", 0, "settings.scoring_timeout_ms", "≥ 1"),
    ("max_concurrent_requests_per_replica", "many", "settings.max_concurrent_requests_per_replica", "'many'"),
]


@pytest.mark.parametrize(("key", "value", "prop", "reason"), SETTINGS_TABLE)
def test_check_failures_for_settings(key: str, value: Any, prop: str, reason: str):
    news = _inputs()
    news["settings"] = {**news["settings"], key: value}
    failures = _failures(news)
    assert list(failures) == [prop]
    assert reason in failures[prop]


SCORING_TABLE = [
    ("max_batch", 0, "0 is not allowed: a whole number ≥ 1 and ≤ 65536"),
    ("max_batch", 1.5, "1.5 is not allowed: a whole number ≥ 1 and ≤ 65536"),
    ("max_body_bytes", 1000, "1000 is not allowed: a whole number ≥ 1024 and ≤ 1073741824"),
    ("tf_threads", 300, "300 is not allowed: a whole number ≥ 0 and ≤ 256"),
    ("forward", "gpu", "'gpu' is not allowed: one of auto, tensorflow, routed"),
    (
        "warmup_batches",
        [1, 2048],
        "[1, 2048] is not allowed: a non-empty list of whole numbers, each ≥ 1 and ≤ the maximum batch "
        "(1024)",
    ),
]


@pytest.mark.parametrize(("key", "value", "reason"), SCORING_TABLE)
def test_check_refuses_scoring_settings_outside_the_scorers_ranges(key: str, value: Any, reason: str):
    news = _inputs()
    news["scoring"] = {**news["scoring"], key: value}
    assert _failures(news) == {f"scoring.{key}": reason}


def test_warmup_sizes_are_checked_against_the_batch_limit_sent_with_them():
    news = _inputs(scoring={**ScoringSettings(max_batch=8).to_dict(), "warmup_batches": [1.0, 9.0]})
    assert list(_failures(news)) == ["scoring.warmup_batches"]
    assert "≤ the maximum batch (8)" in _failures(news)["scoring.warmup_batches"]


def test_scoring_settings_absent_are_allowed_and_unknown_keys_are_not():
    news = _inputs()
    del news["scoring"]
    assert _failures(news) == {}
    assert _failures(_inputs(scoring={**ScoringSettings().to_dict(), "workers": 2})) == {
        "scoring.workers": "unknown key; allowed here: max_batch, max_body_bytes, warmup_batches, "
        "tf_threads, forward, require_gpu, gpu_min_batch"
    }
    assert _failures(_inputs(scoring=UNKNOWN)) == {}


def test_target_utilization_is_a_percentage_as_in_the_stack_config():
    news = _inputs()
    news["settings"]["autoscale"] = {**news["settings"]["autoscale"], "target_utilization": 101}
    assert _failures(news) == {
        "settings.autoscale.target_utilization": "101 is not allowed: a whole number ≥ 1 and ≤ 100"
    }


def test_autoscale_bounds_are_checked_together():
    news = _inputs()
    news["settings"]["autoscale"] = {**news["settings"]["autoscale"], "min_replicas": 5, "max_replicas": 2}
    assert "min_replicas 5 is above max_replicas 2" in _failures(news)["settings.autoscale"]


def test_a_missing_key_is_reported_as_required():
    news = _inputs()
    del news["model_hash"]
    assert _failures(news) == {"model_hash": "is required"}


def test_values_not_known_during_preview_are_not_failures():
    assert _failures(_inputs(service_name=UNKNOWN, settings=UNKNOWN)) == {}


def test_diff_replacing_under_the_same_name_deletes_first():
    provider = ModelDeploymentProvider()
    same_name = provider.diff("id", _inputs(), _inputs(target={"state_dir": "/x"}))
    assert (same_name.changes, same_name.replaces, same_name.delete_before_replace) == (
        True,
        ["target"],
        True,
    )
    renamed = provider.diff("id", _inputs(), _inputs(service_name="new-name"))
    assert (renamed.replaces, renamed.delete_before_replace) == (["service_name"], False)
    update = provider.diff("id", _inputs(), _inputs(model_hash="d" * 64))
    assert (update.changes, update.replaces) == (True, [])
    assert provider.diff("id", _inputs(), _inputs(model_dir="/moved")).changes is False


def test_backend_for_an_unknown_backend_is_an_error():
    spec = DeploymentSpec.from_inputs(_inputs())
    object.__setattr__(spec, "backend", "gcp")
    with pytest.raises(ValueError, match="backend: 'gcp' is not allowed"):
        backend_for(spec)


def test_keys_live_only_in_the_key_outputs():
    spec = DeploymentSpec.from_inputs(_inputs())
    live = LiveDeployment("svc", "Healthy", "http://s/score", None, None, "m:1", {"h": 1}, None, ("pk", "sk"))
    outs = live_outputs(spec, _inputs(), live)
    assert (outs["primary_key"], outs["secondary_key"]) == ("pk", "sk")
    without_keys = {k: v for k, v in outs.items() if k not in ("primary_key", "secondary_key")}
    assert "pk" not in repr(without_keys)
    assert live_from_outputs(outs) == live


def test_the_pickled_provider_is_a_reference_to_its_class_and_holds_nothing():
    payload = base64.b64decode(serialize_provider(ModelDeploymentProvider()))
    assert b"deployment.provider" in payload
    assert b"ModelDeploymentProvider" in payload
    restored = dill.loads(payload)
    assert type(restored) is ModelDeploymentProvider
    assert vars(restored) == {}
    assert len(payload) < 200, "the provider's class must pickle by reference, not by value"
    assert pickle.loads(payload).__class__.__module__ == "deployment.provider"
