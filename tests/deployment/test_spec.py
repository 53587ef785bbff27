"""DeploymentSpec: content hashes and the diff rules."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from specs import build_spec

from deployment.hashing import tree_files, tree_sha256
from deployment.settings import Autoscale, ScoringSettings, ServiceSettings
from deployment.spec import DeploymentSpec, canonical, diff_inputs


def _tree(root: Path, files: dict[str, bytes]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return root


FILES = {"saved_model.pb": b"graph", "variables/variables.index": b"idx", "metadata.json": b"{}"}


def test_a_copy_elsewhere_with_other_mtimes_has_the_same_hash(tmp_path: Path):
    original = _tree(tmp_path / "a", FILES)
    copy = tmp_path / "elsewhere" / "b"
    shutil.copytree(original, copy)
    for _, path in tree_files(copy):
        os.utime(path, (1_000_000, 1_000_000))
    assert tree_sha256(copy) == tree_sha256(original)


def test_listing_order_does_not_matter(tmp_path: Path):
    forward = _tree(tmp_path / "forward", FILES)
    backward = _tree(tmp_path / "backward", dict(reversed(list(FILES.items()))))
    assert tree_sha256(forward) == tree_sha256(backward)


@settings(max_examples=30, deadline=None)
@given(position=st.integers(min_value=0, max_value=4), bit=st.integers(min_value=0, max_value=7))
def test_any_changed_byte_changes_the_hash(tmp_path_factory: pytest.TempPathFactory, position: int, bit: int):
    root = _tree(tmp_path_factory.mktemp("tree"), FILES)
    before = tree_sha256(root)
    target = root / "saved_model.pb"
    content = bytearray(target.read_bytes())
    content[position] ^= 1 << bit
    target.write_bytes(bytes(content))
    assert tree_sha256(root) != before


def test_renaming_adding_or_removing_a_file_changes_the_hash(tmp_path: Path):
    root = _tree(tmp_path / "t", FILES)
    hashes = {tree_sha256(root)}
    (root / "metadata.json").rename(root / "meta.json")
    hashes.add(tree_sha256(root))
    (root / "extra").write_bytes(b"")
    hashes.add(tree_sha256(root))
    (root / "extra").unlink()
    (root / "meta.json").unlink()
    hashes.add(tree_sha256(root))
    assert len(hashes) == 4


def test_a_file_moved_between_directories_changes_the_hash(tmp_path: Path):
    one = _tree(tmp_path / "one", {"a/b": b"x"})
    two = _tree(tmp_path / "two", {"a": b"", "b": b"x"})
    assert tree_sha256(one) != tree_sha256(two)


def test_caches_are_not_content(tmp_path: Path):
    root = _tree(tmp_path / "src", {"score.py": b"def init(): pass\n"})
    before = tree_sha256(root)
    _tree(root, {"__pycache__/score.cpython-311.pyc": b"\0", ".pytest_cache/v": b"x", "x.pyc": b"\0"})
    assert tree_sha256(root) == before


def test_an_empty_or_missing_directory_is_an_error(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="contains no files"):
        tree_sha256(tmp_path / "empty")
    with pytest.raises(NotADirectoryError, match="missing"):
        tree_sha256(tmp_path / "missing")


# -- the diff rules ---------------------------------------------------------------------------

HASH = "a" * 64


def _spec_inputs(**changes: Any) -> dict[str, Any]:
    spec = build_spec(
        target={"python": None, "state_dir": None, "workers": None},
        model_hash=HASH,
        source_hash=HASH,
        environment_hash=HASH,
        scoring=ScoringSettings(),
        tags={"owner": "team"},
    )
    inputs = spec.to_inputs()
    inputs.update(changes)
    return inputs


DIFF_TABLE = [
    ({}, (), ()),
    ({"model_dir": "/moved/artifacts/model", "source_dir": "/moved/model_service"}, (), ()),
    ({"environment_file": "/moved/environment.yml"}, (), ()),
    ({"tags": {"owner": "someone else"}}, (), ()),
    ({"service_name": "other-name"}, ("service_name",), ()),
    ({"backend": "azureml"}, ("backend",), ()),
    ({"target": {"state_dir": "/elsewhere"}}, ("target",), ()),
    ({"model_hash": "b" * 64}, (), ("model_hash",)),
    ({"source_hash": "b" * 64}, (), ("source_hash",)),
    ({"environment_hash": "b" * 64}, (), ("environment_hash",)),
    ({"settings": ServiceSettings(replicas=2).to_dict()}, (), ("settings",)),
    ({"settings": ServiceSettings(autoscale=Autoscale(enabled=True)).to_dict()}, (), ("settings",)),
    ({"settings": ServiceSettings(auth="token").to_dict()}, (), ("settings",)),
    ({"model_hash": "b" * 64, "target": {"workers": 2}}, ("target",), ("model_hash",)),
    ({"scoring": ScoringSettings(max_batch=2).to_dict()}, (), ("scoring",)),
    ({"scoring": ScoringSettings(forward="tensorflow").to_dict()}, (), ("scoring",)),
    ({"scoring": ScoringSettings(warmup_batches=(1,)).to_dict()}, (), ("scoring",)),
    ({"scoring": None}, (), ("scoring",)),  # a state from before the scoring settings were inputs
]


@pytest.mark.parametrize(("changes", "replaces", "updates"), DIFF_TABLE)
def test_diff_rules(changes: dict[str, Any], replaces: tuple[str, ...], updates: tuple[str, ...]):
    result = diff_inputs(_spec_inputs(), _spec_inputs(**changes))
    assert (result.replaces, result.updates) == (replaces, updates)


def test_numbers_that_came_back_through_protobuf_as_floats_are_no_change():
    old = canonical(_spec_inputs(target={"workers": 2}))
    floated = _spec_inputs(target={"workers": 2.0})
    floated["settings"] = {
        k: float(v) if isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in floated["settings"].items()
    }
    assert not diff_inputs(old, floated).has_changes


def test_scoring_settings_that_came_back_through_protobuf_are_no_change():
    floated = _spec_inputs()
    floated["scoring"] = {
        k: [float(x) for x in v] if isinstance(v, list) else float(v) if isinstance(v, int) else v
        for k, v in floated["scoring"].items()
    }
    assert not diff_inputs(_spec_inputs(), floated).has_changes
    assert DeploymentSpec.from_inputs(floated).scoring == ScoringSettings()


def test_an_unknown_target_during_preview_is_a_replacement():
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    result = diff_inputs(_spec_inputs(), _spec_inputs(target={"workspace_name": unknown}))
    assert result.replaces == ("target",)


def test_the_spec_round_trips_through_its_inputs():
    inputs = _spec_inputs()
    spec = DeploymentSpec.from_inputs(inputs)
    assert canonical(spec.to_inputs()) == canonical(inputs)
    assert spec.model_version == HASH[:12]


def test_settings_from_state_refuse_an_auth_mode_that_is_none():
    """`check` refuses it first; a hand-edited state is named, not carried as a lying type."""
    data = {**ServiceSettings().to_dict(), "auth": "password"}
    with pytest.raises(
        ValueError, match=r"settings.auth: 'password' is not allowed: one of key, token, none"
    ):
        ServiceSettings.from_dict(data)


def test_none_means_the_workers_and_the_scorers_default_sizes():
    service = ServiceSettings(max_concurrent_requests_per_replica=None)
    assert (
        service.concurrent_requests
        == service.inference_workers
        == service.to_dict()["max_concurrent_requests_per_replica"]
    )
    scoring = ScoringSettings(max_batch=8, warmup_batches=None)
    assert scoring.warmup_sizes == tuple(scoring.to_dict()["warmup_batches"])
