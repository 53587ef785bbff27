"""A stack's config as the estimate reads it, without running the program: from
`Pulumi.<stack>.yaml` (`make cost`, the PR comment, which also reads the base branch's file) or
from the Automation API's `get_all_config` (the cost guard). Secret values are never decrypted
here: a `secure:` value stands in as a placeholder (no price depends on a secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from config import ConfigError, load_stack_config
from config.cluster import SECRET_KEYS
from config.types import PROJECT_ROOT

from .estimate import CostEstimate, estimate_stack
from .prices import PriceBook

SECRET_PLACEHOLDER = "[secret]"


class StackFileError(ValueError):
    """The stack file is missing or not a stack file."""


def read_stack_file(text: str, where: str) -> tuple[dict[str, Any], frozenset[str]]:
    """(config values by key, the keys whose values are secure) of a `Pulumi.<stack>.yaml` text."""
    import yaml  # PyYAML comes with the program's environment (pulumi depends on it)

    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise StackFileError(f"{where}: not YAML ({e})") from e
    config = data.get("config") if isinstance(data, dict) else None
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise StackFileError(f"{where}: `config` must be a mapping of keys to values")
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key], secrets = SECRET_PLACEHOLDER, secrets | {key}
        else:
            values[key] = value
    return values, frozenset(secrets)


def estimate_from_values(
    values: Mapping[str, Any],
    *,
    stack: str,
    prices: PriceBook,
    now: datetime | None = None,
    secret_keys: frozenset[str] = frozenset(),
    project_root: Path = PROJECT_ROOT,
) -> CostEstimate | None:
    """The estimate of a stack from its config values; raises `ConfigError` for a bad config.

    Values from the Automation API hold the secret keys' values (never printed); they count as
    set with --secret, as they were.
    """
    secret_keys = secret_keys | {key for key in values if key.rpartition(":")[2] in SECRET_KEYS}
    cfg = load_stack_config(values, stack=stack, project_root=project_root, secret_keys=secret_keys)
    return estimate_stack(cfg, prices, now)


def estimate_from_file(
    path: Path,
    *,
    stack: str,
    prices: PriceBook,
    now: datetime | None = None,
    project_root: Path = PROJECT_ROOT,
) -> CostEstimate | None:
    if not path.is_file():
        raise StackFileError(f"{path}: no such stack file (make cost STACK=<name> reads Pulumi.<name>.yaml)")
    values, secrets = read_stack_file(path.read_text(), str(path))
    return estimate_from_values(
        values, stack=stack, prices=prices, now=now, secret_keys=secrets, project_root=project_root
    )


__all__ = ["ConfigError", "StackFileError", "estimate_from_file", "estimate_from_values", "read_stack_file"]
