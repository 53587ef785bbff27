"""Azure resource names derived from the stack: valid for each resource type, unique per stack.

Globally unique names (storage account, key vault, container registry) and the workspace name
end in the stack's name suffix: `nameSuffix` from config, else `default_name_suffix`, a hash of
the deployer's subscription, the project and the stack. So a stack converges on the same names
on every run, and every team's `dev` stack (each in its own subscription) gets its own names.
Changing the suffix gives fresh names, which is how a destroyed stack is re-created while Azure
still holds its soft-deleted workspace and key vault under the old names (docs/azure.md).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_NON_ALNUM = re.compile(r"[^a-z0-9]")
_NON_DASHED = re.compile(r"[^a-z0-9]+")  # dashes too: runs become one dash


def default_name_suffix(project: str, stack: str, subscription_id: str) -> str:
    """Six lowercase hex digits, the same on every run of one stack in one subscription."""
    seed = f"{subscription_id.strip().lower()}/{project}/{stack}"
    return hashlib.sha256(seed.encode()).hexdigest()[:6]


def _alnum(text: str) -> str:
    return _NON_ALNUM.sub("", text.lower())


def _dashed(text: str) -> str:
    return _NON_DASHED.sub("-", text.lower()).strip("-")


def _fit(stem: str, suffix: str, limit: int, separator: str = "") -> str:
    """`<stem><separator><suffix>` within `limit` characters, cutting the stem, never the suffix."""
    room = limit - len(suffix) - len(separator)
    return f"{stem[:room].rstrip('-')}{separator}{suffix}"


@dataclass(frozen=True)
class StackNames:
    """Every Azure name the program uses for one stack."""

    resource_group: str  # 1–90
    storage_account: str  # 3–24 lowercase letters and digits, globally unique
    key_vault: str  # 3–24 letters, digits, dashes; starts with a letter; globally unique
    container_registry: str  # 5–50 letters and digits, globally unique
    log_analytics: str  # 4–63
    app_insights: str  # 1–255
    workspace: str  # 3–33
    cluster: str  # 1–63
    dns_prefix: str  # 1–54, letters digits dashes, starts and ends alphanumeric
    compute: str  # 2–16 letters digits dashes, starts with a letter; unique in the workspace


def stack_names(prefix: str, stack: str, suffix: str) -> StackNames:
    """Names for `prefix` (2–8 lowercase alphanumerics, a letter first) and any stack name."""
    dashed = _dashed(f"{prefix}-{stack}") or prefix
    compact = _alnum(f"{prefix}{stack}")
    return StackNames(
        resource_group=_fit(f"rg-{dashed}", suffix, 90, "-"),
        storage_account=_fit(f"st{compact}", suffix, 24),
        key_vault=_fit(f"kv-{dashed}", suffix, 24, "-"),
        container_registry=_fit(f"cr{compact}", suffix, 50),
        log_analytics=_fit(f"log-{dashed}", suffix, 63, "-"),
        app_insights=_fit(f"appi-{dashed}", suffix, 255, "-"),
        workspace=_fit(f"mlw-{dashed}", suffix, 33, "-"),
        cluster=_fit(f"aks-{dashed}", suffix, 63, "-"),
        dns_prefix=_fit(dashed, suffix, 54, "-"),
        compute=_fit("gpu", suffix, 16, "-"),
    )
