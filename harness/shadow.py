"""A shadow of the program's resource graph for the real engine: the same resources, options and
property dependencies, each a dynamic resource that only logs what the engine asks of it.

azure-native's plugin can't run here, so the real engine can't run the Azure stacks; it can run
their shadow. `shadow_spec(run)` turns an evaluation under mocks (harness/program.py) into a
JSON list; `install(infra_dir, spec)` writes a program and its provider into a project's
`infra/` (a sandbox copy, scripts/sandbox_project.py) that declares one `Shadow` per resource:

- its inputs are the real ones (as JSON), each input that depended on another resource depending
  on that resource's shadow, so the engine sees the same property dependencies;
- a resource of the kubernetes provider also depends on what the provider's kubeconfig depends
  on, under `shadow_provider_deps` (the engine replaces what a replaced provider manages);
- `shadow_replace_when`: the top-level inputs whose change replaces it (harness/change_plan's
  rule at top-level granularity: a replace path under the key, or a path parameter; the
  program's dynamic providers are asked through their own `diff`);
- delete_before_replace, retain_on_delete, ignore_changes and the dependencies (`depends_on`
  and the inputs' alike) as the program registered them.

Each create, update and delete appends `{"op", "name"}` to the log file named in the inputs, so a
test reads the order in which the engine ran them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.change_plan import plain, replaces_if_unknown
from harness.program import ProgramRun, Registration

PROVIDER_PREFIX = "pulumi:providers:"

PROGRAM = '''"""The shadow program (harness/shadow.py): one logging dynamic resource per real resource."""
import json
from pathlib import Path

import pulumi

from shadow_provider import Shadow

made = {}
for resource in json.loads(Path("shadow.json").read_text()):
    inputs = dict(resource["inputs"])
    for key, names in resource["deps"].items():
        deps = [made[name] for name in names if name in made]
        if deps:
            value = inputs.get(key)
            inputs[key] = pulumi.Output.all(*[d.id for d in deps]).apply(lambda _ids, v=value: v)
    made[resource["name"]] = Shadow(
        resource["name"],
        inputs,
        opts=pulumi.ResourceOptions(
            delete_before_replace=resource["delete_before_replace"],
            retain_on_delete=resource["retain_on_delete"],
            ignore_changes=resource["ignore_changes"],
            depends_on=[made[name] for name in resource["depends_on"] if name in made],
        ),
    )
'''

PROVIDER = '''"""The shadow resource's provider (harness/shadow.py): logs each operation, changes nothing."""
import json
import uuid

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, Resource, ResourceProvider, UpdateResult

META = ("shadow_name", "shadow_log", "shadow_replace_when")


def _log(props, op):
    with open(props["shadow_log"], "a") as log:
        log.write(json.dumps({"op": op, "name": props["shadow_name"]}) + "\\n")


class ShadowProvider(ResourceProvider):
    def create(self, props):
        _log(props, "create")
        return CreateResult(f"{props['shadow_name']}-{uuid.uuid4().hex[:8]}", props)

    def diff(self, _id, olds, news):
        keys = (set(olds) | set(news)) - {"__provider", *META}
        changed = sorted(k for k in keys if olds.get(k) != news.get(k))
        replace_when = news.get("shadow_replace_when") or olds["shadow_replace_when"]
        replaces = [k for k in changed if k in replace_when]
        return DiffResult(changes=bool(changed), replaces=replaces)

    def update(self, _id, _olds, news):
        _log(news, "update")
        return UpdateResult(news)

    def delete(self, _id, props):
        _log(props, "delete")

    def read(self, id_, props):
        return ReadResult(id_, props)


class Shadow(Resource):
    def __init__(self, name, inputs, opts=None):
        super().__init__(ShadowProvider(), name, inputs, opts)
'''


def shadow_spec(run: ProgramRun, log: Path) -> list[dict[str, Any]]:
    """The shadow of `run`'s custom resources, in registration order (providers folded in)."""
    names = {r.urn: _shadow_name(r) for r in run.registrations}
    providers = {r.urn: r for r in run.registrations if r.type.startswith(PROVIDER_PREFIX)}
    spec = []
    for resource in run.registrations:
        if not resource.custom or resource.urn in providers:
            continue
        deps = {
            key: [names[urn] for urn in urns if urn in names and urn not in providers]
            for key, urns in resource.property_dependencies.items()
        }
        inputs = {k: _json(v) for k, v in plain(resource.inputs).items() if k != "__provider"}
        replace_when = [key for key in inputs if replaces_if_unknown(resource, plain(resource.inputs), {key})]
        provider = providers.get(resource.provider.rsplit("::", 1)[0])
        if provider is not None:
            inputs["shadow_provider_deps"] = provider.name
            deps["shadow_provider_deps"] = sorted(
                {names[u] for us in provider.property_dependencies.values() for u in us}
            )
            replace_when.append("shadow_provider_deps")
        spec.append(
            {
                "name": names[resource.urn],
                "inputs": {
                    **inputs,
                    "shadow_name": names[resource.urn],
                    "shadow_log": str(log),
                    "shadow_replace_when": replace_when,
                },
                "deps": {k: v for k, v in deps.items() if v},
                "depends_on": sorted(
                    {names[u] for u in resource.dependencies if u in names and u not in providers}
                ),
                "delete_before_replace": resource.delete_before_replace,
                "retain_on_delete": resource.retain_on_delete,
                "ignore_changes": list(resource.ignore_changes),
            }
        )
    return spec


def install(infra_dir: Path, spec: list[dict[str, Any]]) -> None:
    """The shadow program in place of a project copy's own (`infra_dir` is that copy's infra/)."""
    (infra_dir / "__main__.py").write_text(PROGRAM)
    (infra_dir / "shadow_provider.py").write_text(PROVIDER)
    (infra_dir / "shadow.json").write_text(json.dumps(spec, indent=1))


def read_log(log: Path) -> list[tuple[str, str]]:
    if not log.exists():
        return []
    return [(entry["op"], entry["name"]) for entry in map(json.loads, log.read_text().splitlines())]


def _shadow_name(resource: Registration) -> str:
    return resource.urn.rsplit("::", 1)[-1]


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
