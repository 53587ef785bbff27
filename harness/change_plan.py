"""What `pulumi up` would do to each resource between two evaluations of the program: a model of
the engine's step generation, for the two-run change tests (azure-native's plugin can't run here).

    plan = change_plan(before, after)        # two ProgramRun's of harness.program
    plan.op(COMPUTE)                         # "same", "update", "replace", "create" or "delete"

The model, and where each part comes from:
- `ignore_changes` paths keep their old value before any diff (the engine's processIgnoreChanges).
- A custom resource's diff is its changed input paths. azure-native replaces when a changed path
  is under one of the resource's `replace_on_changes` or is a URL path parameter of the resource
  (a top-level input ending in `Name`, and an asset's `version`: they name the resource, so a
  new value is another resource); pulumi-kubernetes replaces on `metadata.name` and
  `metadata.namespace`. The program's dynamic providers are asked themselves: their `diff` is
  called on the two input bags.
- Dependent replacement (pulumi's step_generator.go, calculateDependentReplacements): when a
  resource is replaced delete-first, every resource whose input depends on it (its property
  dependencies) is diffed again with those inputs unknown; where that diff replaces, it is
  replaced too, and so on. A provider resource that depends on a replaced resource replaces
  everything it manages (the same function: "if the resource's provider is in the replace set");
  pulumi-kubernetes' DiffConfig replaces its provider when the kubeconfig is unknown.
- Resources only in `after` are created, only in `before` deleted.
- azure-native compares Azure ids with a case-insensitive common prefix; `refreshed()` applies a
  `pulumi refresh` (Read's answer copied into the state's inputs) before the next run.

Not modelled: azure-native's schema-level forceNew properties other than the path parameters
(none of the program's resources relies on one), and a provider's own normalisation of values.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pulumi
from pulumi.runtime import rpc

from harness.program import ProgramRun, Registration

# The dynamic providers' classes, by resource type: the modules the state pickles them from.
DYNAMIC_PROVIDERS = {
    "pulumi-python:dynamic/amlgpu:ModelDeployment": ("deployment.provider", "ModelDeploymentProvider"),
    "pulumi-python:dynamic/amlgpu:ComputeDetachment": (
        "deployment.detach_provider",
        "ComputeDetachmentProvider",
    ),
    "pulumi-python:dynamic/amlgpu:TrafficDrain": ("deployment.drain_provider", "TrafficDrainProvider"),
}
KUBERNETES_REPLACE_ON = ("metadata.name", "metadata.namespace")
KUBERNETES_PROVIDER = "pulumi:providers:kubernetes"
ASSET_VERSION_TYPES = {
    "azure-native:machinelearningservices:CodeVersion",
    "azure-native:machinelearningservices:ModelVersion",
    "azure-native:machinelearningservices:EnvironmentVersion",
}
UNKNOWN = object()  # a value the engine substitutes for an input whose dependency is replaced


@dataclass(frozen=True)
class ChangePlan:
    ops: dict[str, str]  # URN → op
    changed: dict[str, tuple[str, ...]]  # URN → the changed input paths (after ignore_changes)
    before: ProgramRun
    after: ProgramRun

    def op(self, type_: str, name: str | None = None) -> str:
        """The op of the one resource of `type_` (named `name` where several are)."""
        urns = [
            urn for urn in self.ops if _type(urn) == type_ and (name is None or urn.endswith(f"::{name}"))
        ]
        if len(urns) != 1:
            raise AssertionError(f"expected one {type_} {name or ''} in the plan, found {urns}")
        return self.ops[urns[0]]

    def with_op(self, op: str) -> set[str]:
        return {urn for urn, found in self.ops.items() if found == op}


def change_plan(before: ProgramRun, after: ProgramRun) -> ChangePlan:
    old = {r.urn: r for r in before.registrations}
    new = {r.urn: r for r in after.registrations}
    ops: dict[str, str] = {}
    changed: dict[str, tuple[str, ...]] = {}
    for urn, registration in new.items():
        if urn not in old:
            ops[urn] = "create"
            continue
        paths, replaces = diff(old[urn], registration.inputs)
        changed[urn] = paths
        ops[urn] = "replace" if replaces else "update" if paths else "same"
    for urn in old:
        if urn not in new:
            ops[urn] = "delete"
    _dependent_replacements(old, new, ops)
    return ChangePlan(ops, changed, before, after)


def diff(old: Registration, new_inputs: Mapping[str, Any]) -> tuple[tuple[str, ...], bool]:
    """(changed paths, whether the provider replaces) for `old`'s resource given `new_inputs`."""
    olds, news = plain(old.inputs), plain(new_inputs)
    paths = tuple(
        sorted(p for p in _changed_paths(olds, news) if not any(under(p, i) for i in old.ignore_changes))
    )
    if not paths:
        return (), False
    if old.type in DYNAMIC_PROVIDERS:
        result = dynamic_diff(old, olds, news)
        return (paths if result.changes else ()), bool(result.replaces)
    return paths, any(replaces_on(old, path) for path in paths)


def replaces_on(resource: Registration, path: str) -> bool:
    if any(under(path, pattern) for pattern in resource.replace_on_changes):
        return True
    if resource.type.startswith("kubernetes:"):
        return any(under(path, pattern) for pattern in KUBERNETES_REPLACE_ON)
    top = _top(path)
    return resource.type.startswith("azure-native:") and (
        top.endswith("Name") or (top == "version" and resource.type in ASSET_VERSION_TYPES)
    )


def _dependent_replacements(
    old: dict[str, Registration], new: dict[str, Registration], ops: dict[str, str]
) -> None:
    roots = [
        urn for urn, op in ops.items() if op == "replace" and urn in new and old[urn].delete_before_replace
    ]
    replaced = set(roots)
    todo = list(roots)
    while todo:
        root = todo.pop()
        for urn, resource in old.items():  # the last snapshot's graph, as the engine uses
            if urn in replaced or urn not in new or not resource.custom:
                continue
            if _provider_urn(resource.provider) == root:
                hit = True
            else:
                unknown = {
                    key
                    for key, deps in resource.property_dependencies.items()
                    if any(d in replaced for d in deps)
                }
                hit = bool(unknown) and replaces_if_unknown(resource, new[urn].inputs, unknown)
            if hit:
                replaced.add(urn)
                ops[urn] = "replace"
                todo.append(urn)


def replaces_if_unknown(resource: Registration, new_inputs: Mapping[str, Any], unknown: set[str]) -> bool:
    """Whether the resource's provider replaces it when the `unknown` top-level inputs are not
    known yet (the engine's dependent-replacement diff)."""
    inputs = {k: (UNKNOWN if k in unknown else v) for k, v in new_inputs.items()}
    if resource.type == KUBERNETES_PROVIDER:
        # pulumi-kubernetes' DiffConfig: "We can't tell for sure if a computed value has changed,
        # so we make the conservative choice and force a replacement" of an unknown kubeconfig.
        return "kubeconfig" in unknown
    if resource.type in DYNAMIC_PROVIDERS:
        return bool(dynamic_diff(resource, plain(resource.inputs), inputs).replaces)
    kept = [key for key in unknown if not any(under(key, ignored) for ignored in resource.ignore_changes)]
    # An unknown top-level input may differ anywhere beneath it: it replaces where any replace
    # path starts under it, or where it is a path parameter.
    return any(
        replaces_on(resource, key) or any(under(pattern, key) for pattern in resource.replace_on_changes)
        for key in kept
    )


def dynamic_diff(resource: Registration, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Any:
    """The resource's own dynamic provider's `diff`, as the provider host would call it."""
    module, name = DYNAMIC_PROVIDERS[resource.type]
    provider = getattr(importlib.import_module(module), name)()
    strip = {"__provider"}
    return provider.diff(
        resource.id,
        {k: v for k, v in olds.items() if k not in strip},
        {k: v for k, v in news.items() if k not in strip},
    )


def _provider_urn(reference: str) -> str:
    return reference.rsplit("::", 1)[0] if reference.count("::") > 3 else reference


def _type(urn: str) -> str:
    return urn.split("::")[2].split("$")[-1]


def _top(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0]


def plain(value: Any) -> Any:
    """Inputs as comparable values: secrets unwrapped, file assets by path (the engine compares
    an asset's content hash; the program names each asset's file once)."""
    if rpc.is_rpc_secret(value):
        return plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, pulumi.FileAsset):
        return {"asset": str(value.path)}
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _changed_paths(old: Any, new: Any, prefix: str = "") -> set[str]:
    """The leaf paths where `old` and `new` differ, in Pulumi's property path syntax."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        paths: set[str] = set()
        for key in set(old) | set(new):
            if key not in old or key not in new:
                paths.add(_join(prefix, key))
            else:
                paths |= _changed_paths(old[key], new[key], _join(prefix, key))
        return paths
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return {
            p
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for p in _changed_paths(a, b, f"{prefix}[{i}]")
        }
    return set() if _same(old, new) else {prefix}


# azure-native compares the common prefix of Azure ids case-insensitively (pulumi-azure-native#2993):
# Azure answers `resourcegroups` where the program sent `resourceGroups`.
_ARM_ID_PREFIX = re.compile(r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.[^/]+/", re.I)


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, str) and isinstance(new, str):
        a, b = _ARM_ID_PREFIX.match(old), _ARM_ID_PREFIX.match(new)
        if a and b:
            return a.group().lower() == b.group().lower() and old[a.end() :] == new[b.end() :]
    return old == new


def refreshed(run: ProgramRun, type_: str, live_inputs: Mapping[str, Any]) -> ProgramRun:
    """`run`'s state after `pulumi refresh` read the one `type_` resource back from Azure:
    azure-native copies what its Read returns for the resource's input properties into the
    state's inputs, so `live_inputs` (the GET body's input properties) is merged over them."""
    target = next(r for r in run.registrations if r.type == type_)
    merged = _merge(plain(target.inputs), plain(dict(live_inputs)))
    registrations = [replace(r, inputs=merged) if r is target else r for r in run.registrations]
    return replace(run, registrations=registrations)


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        return {**base, **{k: _merge(base.get(k), v) for k, v in over.items()}}
    return over


def _join(prefix: str, key: str) -> str:
    if key.isidentifier():
        return f"{prefix}.{key}" if prefix else key
    return f'{prefix}["{key}"]'


def under(path: str, pattern: str) -> bool:
    """Whether `path` is `pattern` or beneath it; `[*]` and `*` in the pattern match any index/key."""
    regex = re.escape(pattern).replace(r"\[\*\]", r"\[[^\]]*\]").replace(r"\*", r"[^.\[]*")
    return re.match(rf"{regex}(?=$|[.\[])", path) is not None
