"""The import table of docs/architecture.md ("What may import what"), enforced on infra/.

Each module of infra/ belongs to one layer (LAYERS, first match wins); a layer names the modules
of ours it may import and the third-party packages it may use (the stdlib is always allowed).
A module no layer claims fails, so a new file is placed in the table when it is added.
"""

from __future__ import annotations

import ast
import fnmatch
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"
OURS = {
    path.stem if path.is_file() else path.name
    for path in INFRA.iterdir()
    if (path.suffix == ".py" and path.stem != "__main__") or (path / "__init__.py").exists()
}
CONFIG = ("config", "config.*", "rules", "rules.*", "deployment.settings", "deployment.targets")
COMPONENT_HELPERS = ("config", "config.types", "naming", "aliases", "rules", "rules.*")
# What the v2 assets and the provider share: the content hash and the image's environment.
SHARED_WITH_THE_PROVIDER = ("deployment.hashing", "deployment.azure_common.environment")
AZURE_SDKS = ("pulumi", "pulumi_azure_native", "pulumi_kubernetes")
# What a backend may use of deployment/'s core: the protocol, the spec and its value types.
DEPLOYMENT_CORE = (
    "deployment.backend",
    "deployment.spec",
    "deployment.settings",
    "deployment.targets",
    "deployment.hashing",
)


@dataclass(frozen=True)
class Layer:
    modules: tuple[str, ...]  # paths under infra/, fnmatch patterns
    ours: tuple[str, ...]  # modules of ours it may import, fnmatch patterns on dotted names
    packages: tuple[str, ...] = ()  # third-party top-level packages it may use


LAYERS: dict[str, Layer] = {
    "rules/ (the stdlib only)": Layer(("rules/*.py",), ("rules", "rules.*")),
    "the engine's config as a mapping": Layer(
        ("config/pulumi_config.py",), ("config.stack", "config.reader"), ("pulumi",)
    ),
    "config/": Layer(("config/*.py",), CONFIG),
    # deployment/'s subpackages first: "deployment/*.py" below matches them too (fnmatch's `*`).
    "the local backend (deployment/local/)": Layer(
        ("deployment/local/*.py",),
        (*DEPLOYMENT_CORE, "deployment.local", "deployment.local.*"),
        ("azureml_inference_server_http", "gunicorn"),  # release_launcher.py, in the scoring env
    ),
    "the Azure ML backend (deployment/azureml/)": Layer(
        ("deployment/azureml/*.py",),
        (*DEPLOYMENT_CORE, "deployment.azureml.*", "deployment.azure_common.*"),
    ),
    "the ARM steps (deployment/arm/)": Layer(
        ("deployment/arm/*.py",),
        ("deployment.arm.*", "deployment.azure_common.auth", "deployment.azureml.sdk"),
        ("requests", "yaml"),
    ),
    "what the Azure targets share (deployment/azure_common/)": Layer(
        ("deployment/azure_common/*.py",), ("deployment.settings", "rules", "rules.*")
    ),
    "the provider, its resource and what every backend shares (deployment/)": Layer(
        ("deployment/*.py",),
        ("deployment", "deployment.*", "rules", "rules.*"),
        ("pulumi",),
    ),
    "reads of live Azure at preview": Layer(
        ("adopted_pool.py", "cluster_replacement.py"), CONFIG, ("pulumi", "pulumi_azure_native")
    ),
    "capacity_report.py, quota.py": Layer(("capacity_report.py", "quota.py"), (*CONFIG, "quota")),
    "cost/": Layer(("cost/*.py",), (*CONFIG, "cost", "cost.*"), ("yaml",)),
    "the dynamic resources' declarations (the detach and drain steps)": Layer(
        ("compute_detachment.py", "v2/traffic_drain.py"),
        ("deployment.arm.compute_detach", "deployment.detach_provider", "deployment.drain_provider"),
        AZURE_SDKS,
    ),
    "v1 and shared components": Layer(
        (
            "workspace.py",
            "gpu_aks.py",
            "v1/gpu_cluster.py",
            "v1/aks_attach.py",
            "adopted_cluster.py",
            "aliases.py",
        ),
        (*COMPONENT_HELPERS, "gpu_aks", "v1.aks_attach", "compute_detachment", "adopted_pool"),
        AZURE_SDKS,
    ),
    "the targets' wiring (what __main__.py dispatches to)": Layer(
        ("azure_base.py", "service_deployment.py", "v1/target.py", "v1/__init__.py", "v2/target.py"),
        tuple(f"{name}*" for name in sorted(OURS)),
        AZURE_SDKS,
    ),
    "naming.py": Layer(("naming.py",), ()),
    "v2/": Layer(
        ("v2/*.py",),
        (
            *COMPONENT_HELPERS,
            *SHARED_WITH_THE_PROVIDER,
            "v2",
            "v2.*",
            "gpu_aks",
            "compute_detachment",
            "adopted_cluster",
            "workspace",
        ),
        AZURE_SDKS,
    ),
    "__main__.py (wires config and components)": Layer(
        ("__main__.py",), tuple(f"{name}*" for name in sorted(OURS)), ("pulumi", "pulumi_azure_native")
    ),
}
# azureml-core only where the SDK is used, and there lazily (the program never imports it).
AZUREML_ONLY_IN = ("deployment/azureml/*.py", "deployment/arm/compute_detach.py")


def _layer_of(relative: str) -> str | None:
    for name, layer in LAYERS.items():
        if any(fnmatch.fnmatch(relative, pattern) for pattern in layer.modules):
            return name
    return None


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(dotted module, at module level) for every absolute import."""
    tree = ast.parse(path.read_text())
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top_level) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, id(node) in top_level))
    return found


MODULES = sorted(str(path.relative_to(INFRA)) for path in INFRA.rglob("*.py"))


@pytest.mark.parametrize("relative", MODULES)
def test_every_import_is_one_the_table_allows(relative: str):
    layer_name = _layer_of(relative)
    assert layer_name is not None, f"{relative}: no layer of the import table claims it (add it to LAYERS)"
    layer = LAYERS[layer_name]
    refused = []
    for module, at_top in _imports(INFRA / relative):
        root = module.split(".")[0]
        if root in OURS:
            if not any(fnmatch.fnmatch(module, pattern) for pattern in layer.ours):
                refused.append(module)
        elif root == "azureml":
            if at_top or not any(fnmatch.fnmatch(relative, p) for p in AZUREML_ONLY_IN):
                refused.append(f"{module} (azureml-core only lazily, in {', '.join(AZUREML_ONLY_IN)})")
        elif root not in sys.stdlib_module_names and root != "__future__" and root not in layer.packages:
            refused.append(module)
    assert refused == [], f"{relative} ({layer_name}) may not import {refused}"


def test_the_checker_refuses_what_the_table_forbids(tmp_path: Path):
    """A config module importing a component, and a rule importing pulumi, are caught."""
    config_like = tmp_path / "x.py"
    config_like.write_text("import pulumi\nfrom workspace import MlWorkspace\n")
    layer = LAYERS[_layer_of("config/x.py") or ""]
    imports = [module for module, _ in _imports(config_like)]
    assert [m for m in imports if not any(fnmatch.fnmatch(m, p) for p in layer.ours)] == [
        "pulumi",
        "workspace",
    ]
    assert "pulumi" not in layer.packages


def test_each_config_module_imports_first():
    """No import cycle in the config package: each of its modules loads when it is the first one
    imported (as when a component that needs only `config.types` is the first to import config)."""
    modules = sorted(
        "config" if path.stem == "__init__" else f"config.{path.stem}"
        for path in (INFRA / "config").glob("*.py")
    )
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'config' or m.startswith('config.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=INFRA, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
