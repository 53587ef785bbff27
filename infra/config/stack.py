"""The stack config: `Pulumi.<stack>.yaml` → a frozen, typed, validated `StackConfig`.

The source is passed in as a mapping (`load_stack_config(source, ...)`), so tests hand in a dict
and the program hands in `config.pulumi_config.pulumi_config_source()`. Keys may carry the namespace
(`aml-gpu-inference:target`) or not (`target`); keys of other namespaces are ignored; object values
may be JSON text (as the engine passes them) or dicts. Every key, its default and its allowed
values: docs/configuration.md. Validation runs before any resource is registered and reports every
problem at once (`ConfigError`, see config/reader.py).

The parts of the `config` package, one job each (`config/__init__.py` re-exports what the
program and the components import from here):
    stack.py             this module: the top-level keys, `load_stack_config`
    types.py             the dataclasses; their field defaults are the config's defaults
    reader.py            the reader funnel `read(key, cast, rule)`, casts, Problem/ConfigError
    cluster.py           the `cluster` section and the service-fits-the-pool rules
    existing_cluster.py  `cluster.existing`: a cluster or compute the stack adopts
    service.py           the `service` and `local` sections
    scoring.py           the `scoring` section (the entry script's settings, every target)
    online.py            the `rollout` section of target azure-v2
    capacity.py          the GPU capacity plan: the steady state and every transition fit the pool
    pulumi_config.py     the engine's config as a mapping (the program's adapter)
    rules/ (infra/rules) the value rules shared with the provider, the policy pack and the cost guard

To add a key: a field (with its default) on the dataclass, a `key: (field, cast, rule)` row in the
section's FIELDS table (the allowed keys follow from it), a rule in rules/ if other layers check
it too, and a line in docs/configuration.md. To add a section: a config/<section>.py with its
FIELDS, KEYS and read_<section>(reader), wired below.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from config import capacity, cluster, existing_cluster, online, scoring, service
from config.reader import (
    ConfigError,
    Reader,
    choices,
    nest,
    path_under,
    report_unknown_keys,
    text,
)
from config.types import (
    PROJECT_ROOT,
    ExistingWorkspace,
    StackConfig,
    Target,
)
from rules import values
from rules.checks import one_of
from rules.tags import (
    EXPIRES_TAG,
    REQUIRED_TAGS,
    TAG_NAME,
    TAG_VALUE_MAX_LENGTH,
    ExpiryError,
    parse_expires_on,
)

WORKSPACE_FIELDS = {
    "subscriptionId": ("subscription_id", text, values.SUBSCRIPTION_ID),
    "resourceGroup": ("resource_group", text, values.RESOURCE_GROUP),
    "name": ("name", text, values.WORKSPACE_NAME),
}
# Keys (and nested keys) this program reads; anything else is a typo and reported as one.
ALLOWED_KEYS: dict[str, tuple[str, ...]] = {
    "": (
        "target",
        "location",
        "namePrefix",
        "nameSuffix",
        "tags",
        "workspace",
        "cluster",
        "service",
        "model",
        "local",
        *scoring.KEYS,
        *online.KEYS,
        *cluster.SECRET_KEYS,
    ),
    "workspace": ("existing",),
    "workspace.existing": tuple(WORKSPACE_FIELDS),
    "model": ("name", "dir"),
    **cluster.KEYS,
    **existing_cluster.KEYS,
    **service.KEYS,
    **scoring.KEYS,
    **online.KEYS,
}
# The provider's default location, used when this project's `location` is not set.
LOCATION_FALLBACK_KEY = "azure-native:location"


def load_stack_config(
    source: Mapping[str, Any],
    *,
    stack: str,
    project_root: Path = PROJECT_ROOT,
    secret_keys: Iterable[str] = (),
) -> StackConfig:
    """Build and validate the stack config; `ConfigError` lists every problem at once.

    `source` maps config keys (with or without the `aml-gpu-inference:` namespace) to values;
    `secret_keys` names the keys that were set with `--secret` (either spelling).
    """
    reader = nest(source)
    report_unknown_keys(reader, ALLOWED_KEYS)
    secrets = frozenset(key.rpartition(":")[2] for key in secret_keys)

    target = reader.read("target", text, one_of(choices(Target)))
    if reader.raw("location") is None and isinstance(source.get(LOCATION_FALLBACK_KEY), str):
        reader.values = {**reader.values, "location": source[LOCATION_FALLBACK_KEY]}
    fields: dict[str, Any] = {
        "target": target,
        "location": reader.read("location", text, values.LOCATION),
        "name_prefix": reader.read("namePrefix", text, values.NAME_PREFIX),
        "name_suffix": reader.read("nameSuffix", text, values.NAME_SUFFIX),
        "tags": _tags(reader, target or StackConfig.target),
        "existing_workspace": _existing_workspace(reader),
        "cluster": cluster.read_cluster(
            reader,
            secrets,
            existing_cluster.read_existing_cluster(
                reader, target, workspace_adopted=reader.raw("workspace.existing") is not None
            ),
        ),
        "service_name": reader.read("service.name", text, values.SERVICE_NAME),
        "service": service.read_service(reader),
        "scoring": scoring.read_scoring(reader),
        "model_name": reader.read("model.name", text, values.MODEL_NAME),
        "model_dir": reader.read("model.dir", path_under(project_root)),
    }
    given = {name: value for name, value in fields.items() if value is not None}
    cfg = StackConfig(stack=stack, project_root=project_root, **given)
    if not cfg.model_dir.is_absolute():  # the default, relative to the project
        cfg = replace(cfg, model_dir=project_root / cfg.model_dir)
    if cfg.target == "local":
        cfg = replace(cfg, local_target=service.read_local_target(reader, project_root))
    # An adopted cluster's pool is checked once it is read from Azure (adopted_pool.py).
    adopting = reader.raw("cluster.existing") is not None
    if cfg.target == "azure" and fields["service"] and fields["cluster"] and not adopting:
        capacity.check_pool(reader, cfg)
    cfg = replace(cfg, online=online.read_online(reader, cfg.target))
    if cfg.online is not None and fields["service"] and fields["cluster"]:
        online.check_online_target(reader, cfg, check_the_pool=not adopting)
    if reader.problems:
        raise ConfigError(reader.problems)
    return cfg


def _tags(reader: Reader, target: str) -> dict[str, str]:
    raw = reader.raw("tags")
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        reader.fail("tags", raw, "an object with string values, including " + ", ".join(REQUIRED_TAGS))
        return {}
    tags: dict[str, str] = {}
    for name, value in raw.items():
        key = f"tags.{name}"
        if isinstance(value, date):  # YAML reads an unquoted 2026-12-31 as a date
            value = value.isoformat()
        if TAG_NAME.refuses(name):
            reader.fail(key, value, TAG_NAME.allowed)
        elif not isinstance(value, str) or len(value) > TAG_VALUE_MAX_LENGTH:
            reader.fail(key, value, f"a string of at most {TAG_VALUE_MAX_LENGTH} characters")
        else:
            tags[name] = value
    if target != "local":
        for name in REQUIRED_TAGS:
            if name not in raw or (name in tags and not tags[name].strip()):
                reader.fail(
                    f"tags.{name}", raw.get(name), f"required on the {target} target: a non-empty string"
                )
    if EXPIRES_TAG in tags:
        try:
            parse_expires_on(tags[EXPIRES_TAG])
        except ExpiryError as e:
            reader.fail(f"tags.{EXPIRES_TAG}", e.value, e.allowed)
            tags.pop(EXPIRES_TAG)
    return tags


def _existing_workspace(reader: Reader) -> ExistingWorkspace | None:
    if reader.raw("workspace.existing") is None:
        return None
    fields = reader.section("workspace.existing", WORKSPACE_FIELDS)
    for key in WORKSPACE_FIELDS:
        full = f"workspace.existing.{key}"
        if reader.raw(full) is None:
            reader.fail(full, None, "required when adopting an existing workspace")
    return ExistingWorkspace(**fields) if len(fields) == len(WORKSPACE_FIELDS) else None
