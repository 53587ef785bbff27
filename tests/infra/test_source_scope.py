"""model_service/ is the deployment's source; model_tools/ (training, data, the client) is not.

Azure ML uploads model_service/ and the program hashes it into the deployment's inputs, so a file
there that the service never runs would still make `pulumi preview` report an update (on v1 a new
InferenceConfig and an image rebuild). Two checks:

- model_service/ holds the entry script, the modules it imports (followed from score.py, as
  azmlinfsrv loads them: siblings by their plain names) and the files the deployment reads, and
  nothing else;
- the program, evaluated under mocks on a copy of the project, registers exactly the same inputs
  for every resource of every stack after model_tools/ changes (a client and a training file
  edited, a file added), and different ones after the entry script changes: preview compares
  these inputs with the state, so the first edit previews as no change.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import shutil
from pathlib import Path
from typing import Any

import pulumi
import pytest

import config
from harness.program import PROJECT_ROOT, ProgramRun, run_program, stack_config

SOURCE_DIR = PROJECT_ROOT / "model_service"
ENTRY_SCRIPT = "score.py"
# What the deployment reads from model_service/ besides Python: the image's conda file (Azure),
# the local target's pins, azmlinfsrv's logging config (picked up beside the entry script).
DEPLOYMENT_FILES = {"environment.yml", "requirements.txt", "logging.json"}
STACKS = ("local", "dev", "dev-v2")


def _sibling_imports(path: Path, siblings: set[str]) -> set[str]:
    """The sibling modules `path` imports at any depth of its code, by plain name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & siblings


def modules_the_entry_script_runs(source_dir: Path) -> set[str]:
    siblings = {path.stem for path in source_dir.glob("*.py")}
    reached, todo = set(), [Path(ENTRY_SCRIPT).stem]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(_sibling_imports(source_dir / f"{name}.py", siblings))
    return reached


def test_model_service_holds_only_the_entry_script_its_imports_and_the_deployments_files():
    python = {path.stem for path in SOURCE_DIR.glob("*.py")} - {"__init__"}
    assert python - modules_the_entry_script_runs(SOURCE_DIR) == set(), (
        "modules in model_service/ that score.py never imports: they are uploaded and hashed "
        "for nothing (training, data and the client belong in model_tools/)"
    )
    other = {
        path.relative_to(SOURCE_DIR).as_posix()
        for path in SOURCE_DIR.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    assert other == DEPLOYMENT_FILES


def test_the_entry_script_imports_nothing_of_model_tools():
    for path in SOURCE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {
            alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        assert not any(name.split(".")[0] == "model_tools" for name in imported), path.name


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """What the program reads of the project root: model_service/, and model_tools/ beside it."""
    root = tmp_path / "project"
    for name in ("model_service", "model_tools"):
        shutil.copytree(PROJECT_ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "model").mkdir()
    (root / "model" / "saved_model.pb").write_bytes(b"graph")
    return root


def _comparable(value: Any) -> Any:
    """Inputs as preview compares them: an asset by its content, not its object identity."""
    if isinstance(value, pulumi.FileAsset):
        return ("FileAsset", value.path, hashlib.sha256(Path(value.path).read_bytes()).hexdigest())
    if isinstance(value, dict):
        return {key: _comparable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_comparable(item) for item in value]
    return value


def deployment_inputs(run: ProgramRun) -> dict[str, Any]:
    """{URN: inputs} of every resource, and the stack's outputs."""
    inputs = {r.urn: _comparable(r.inputs) for r in run.registrations}
    return {**inputs, "outputs": {name: _comparable(out.value) for name, out in run.outputs.items()}}


def evaluate(root: Path, stack: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The program on `stack` with `root` as the project root (the program reads model_service/
    from there), under mocks."""
    monkeypatch.setattr(config, "load_stack_config", functools.partial(_load_stack_config, project_root=root))
    values = stack_config(stack)
    values["aml-gpu-inference:model"] = {"name": "mnist-dnn", "dir": str(root / "model")}
    return deployment_inputs(run_program(values, stack=stack))


_load_stack_config = config.load_stack_config


@pytest.mark.parametrize("stack", STACKS)
def test_a_change_to_the_client_or_training_changes_no_deployment_input(
    stack: str, project_copy: Path, monkeypatch: pytest.MonkeyPatch
):
    before = evaluate(project_copy, stack, monkeypatch)
    assert any("ModelDeployment" in urn or "CodeVersion" in urn for urn in before), sorted(before)

    tools = project_copy / "model_tools"
    for name in ("client.py", "train.py", "mnist.py"):
        with (tools / name).open("a") as stream:
            stream.write("\n# an edit the service never runs\n")
    (tools / "notes.txt").write_text("a new file beside the client\n")
    assert evaluate(project_copy, stack, monkeypatch) == before

    with (project_copy / "model_service" / ENTRY_SCRIPT).open("a") as stream:
        stream.write("\n# an edit the service runs\n")
    after_entry_script = evaluate(project_copy, stack, monkeypatch)
    changed = sorted(urn for urn in before if after_entry_script.get(urn) != before[urn])
    assert changed, "an edit of the entry script should change the deployment's inputs"
