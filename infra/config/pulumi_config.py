"""The engine's config for this program, as the mapping `load_stack_config` reads.

Public SDK API only (`pulumi.runtime.get_config`, `is_config_secret`, `get_config_env`,
`get_config_secret_keys_env`). The keys come from the engine's config bag (so a typo reaches the
unknown-key check) and from the keys this program knows (config set in-process, as under
`pulumi.runtime.set_all_config` in tests, is readable but not listable).
"""

from __future__ import annotations

from typing import Any

from pulumi import runtime

from config.reader import NAMESPACE
from config.stack import ALLOWED_KEYS, LOCATION_FALLBACK_KEY


def pulumi_config_source() -> tuple[dict[str, Any], frozenset[str]]:
    """(values by full key, the keys set with --secret) for this namespace and the location fallback."""
    prefix = f"{NAMESPACE}:"
    candidates = {key for key in runtime.get_config_env() if key.startswith(prefix)}
    candidates |= {prefix + key for key in ALLOWED_KEYS[""]}
    candidates.add(LOCATION_FALLBACK_KEY)
    values = {key: value for key in sorted(candidates) if (value := runtime.get_config(key)) is not None}
    secret_env = set(runtime.get_config_secret_keys_env())
    secrets = frozenset(key for key in values if runtime.is_config_secret(key) or key in secret_env)
    return values, secrets
