"""DeploymentSpec: the canonical description of what is deployed, and the diff rules.

The program builds the provider's inputs with `DeploymentSpec.to_inputs()` (content hashes
included, so `pulumi preview` sees content changes); the provider rebuilds the spec with
`from_inputs()` from the property bag the engine hands back (through protobuf, where ints
become floats). `diff_inputs` compares what is deployed, never where the files are: the
absolute paths travel along so a backend can read the content, but moving the checkout is
no change.

Diff rules (docs/architecture.md):
    replace         service_name, backend, target (workspace, compute, local interpreter...)
    update in place model_hash, source_hash, environment_hash, settings, scoring
    nothing else    paths, tags, entry script location on disk, outputs
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from deployment.settings import ScoringSettings, ServiceSettings
from deployment.targets import AzureTarget, LocalTarget

# The tag naming the stack that owns a deployment ("<project>/<stack>"): a backend that finds a
# service of the same name tells an interrupted create of this stack from someone else's service.
OWNER_TAG = "amlgpu-owner"
REPLACE_KEYS: tuple[str, ...] = ("service_name", "backend", "target")
UPDATE_KEYS: tuple[str, ...] = ("model_hash", "source_hash", "environment_hash", "settings", "scoring")
BACKENDS: tuple[str, ...] = (LocalTarget.backend, AzureTarget.backend)
MODEL_VERSION_LENGTH = 12


@dataclass(frozen=True)
class DeploymentSpec:
    """What one ModelDeployment deploys. Hashes are sha256 hex of the content (hashing.py)."""

    service_name: str
    backend: str  # "local" | "azureml"
    target: Mapping[str, Any]  # the target dataclass's fields, e.g. {"python": None, ...}
    model_name: str
    model_hash: str
    source_hash: str
    environment_hash: str
    settings: ServiceSettings
    # The entry script's SCORE_* settings. None: not set (a state written before they were
    # inputs), so the server runs without those variables, on the scorer's defaults.
    scoring: ScoringSettings | None = None
    entry_script: str = "score.py"  # relative to the source directory
    # Where the content is on this machine: read by backends, never compared.
    model_dir: str = ""
    source_dir: str = ""
    environment_file: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def owner(self) -> str | None:
        return (self.tags or {}).get(OWNER_TAG)

    @property
    def model_version(self) -> str:
        """Content-derived: the same model bytes always give the same version."""
        return self.model_hash[:MODEL_VERSION_LENGTH]

    def local_target(self) -> LocalTarget:
        return LocalTarget(**_known_fields(LocalTarget, self.target))

    def to_inputs(self) -> dict[str, Any]:
        """The provider's input property bag (plain values; target fields may be Outputs)."""
        scoring = {} if self.scoring is None else {"scoring": self.scoring.to_dict()}
        return {
            "service_name": self.service_name,
            "backend": self.backend,
            "target": dict(self.target),
            "model_name": self.model_name,
            "model_hash": self.model_hash,
            "source_hash": self.source_hash,
            "environment_hash": self.environment_hash,
            "settings": self.settings.to_dict(),
            **scoring,
            "entry_script": self.entry_script,
            "model_dir": self.model_dir,
            "source_dir": self.source_dir,
            "environment_file": self.environment_file,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_inputs(cls, props: Mapping[str, Any]) -> DeploymentSpec:
        """Rebuild from a (validated) property bag; numbers are normalized after protobuf."""
        return cls(
            service_name=str(props["service_name"]),
            backend=str(props["backend"]),
            target=canonical(dict(props.get("target") or {})),
            model_name=str(props["model_name"]),
            model_hash=str(props["model_hash"]),
            source_hash=str(props["source_hash"]),
            environment_hash=str(props["environment_hash"]),
            settings=ServiceSettings.from_dict(props["settings"]),
            scoring=None if props.get("scoring") is None else ScoringSettings.from_dict(props["scoring"]),
            entry_script=str(props.get("entry_script") or cls.entry_script),
            model_dir=str(props.get("model_dir") or ""),
            source_dir=str(props.get("source_dir") or ""),
            environment_file=str(props.get("environment_file") or ""),
            tags={str(k): str(v) for k, v in dict(props.get("tags") or {}).items()},
        )


def target_fields(target: LocalTarget | AzureTarget) -> dict[str, Any]:
    """The target's fields as a plain mapping (values may still be pulumi Outputs)."""
    return {f.name: getattr(target, f.name) for f in fields(target)}


def _known_fields(cls: type, values: Mapping[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {key: value for key, value in values.items() if key in names}


def canonical(value: Any) -> Any:
    """A comparable form: dicts with sorted keys and without None values (the engine drops
    them), integral floats as ints (protobuf makes every number a float), tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): canonical(value[k]) for k in sorted(value, key=str) if value[k] is not None}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass(frozen=True)
class SpecDiff:
    """The keys that changed, split by consequence (each tuple in rule order)."""

    replaces: tuple[str, ...] = ()
    updates: tuple[str, ...] = ()

    @property
    def changed(self) -> tuple[str, ...]:
        return self.replaces + self.updates

    @property
    def has_changes(self) -> bool:
        return bool(self.replaces or self.updates)


def diff_inputs(olds: Mapping[str, Any], news: Mapping[str, Any]) -> SpecDiff:
    """Apply the diff rules to two property bags (old state, new inputs).

    A value that is not known yet (a preview before its dependency exists) differs from any
    old value, so an unknown target previews as a replacement, as Pulumi expects.
    """

    def differs(key: str) -> bool:
        return canonical(olds.get(key)) != canonical(news.get(key))

    return SpecDiff(
        replaces=tuple(key for key in REPLACE_KEYS if differs(key)),
        updates=tuple(key for key in UPDATE_KEYS if differs(key)),
    )
