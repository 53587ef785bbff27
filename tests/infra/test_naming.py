"""Azure names derived from the stack: valid per resource type, stable, unique per stack."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from naming import stack_names

PREFIXES = st.from_regex(r"[a-z][a-z0-9]{1,7}", fullmatch=True)
STACKS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", min_size=1, max_size=80
)
SUFFIXES = st.from_regex(r"[a-z0-9]{4,8}", fullmatch=True)


@given(PREFIXES, STACKS, SUFFIXES)
def test_every_name_fits_its_resource_types_rules(prefix: str, stack: str, suffix: str):
    names = stack_names(prefix, stack, suffix)
    assert re.fullmatch(r"[a-z0-9]{3,24}", names.storage_account), names.storage_account
    assert re.fullmatch(r"[a-z][a-z0-9-]{1,22}[a-z0-9]", names.key_vault) and "--" not in names.key_vault
    assert re.fullmatch(r"[a-z0-9]{5,50}", names.container_registry)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{2,32}", names.workspace) and len(names.workspace) <= 33
    assert re.fullmatch(r"[a-z][a-z0-9-]{0,14}[a-z0-9]", names.compute)
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,52}[a-z0-9]", names.dns_prefix)
    assert len(names.cluster) <= 63 and len(names.resource_group) <= 90
    for name in (names.storage_account, names.key_vault, names.container_registry, names.workspace):
        assert name.endswith(suffix)  # the part that keeps global names unique is never cut


def test_names_are_stable_and_differ_by_suffix():
    assert stack_names("amlgpu", "dev", "43171d") == stack_names("amlgpu", "dev", "43171d")
    assert stack_names("amlgpu", "dev", "43171d").workspace == "mlw-amlgpu-dev-43171d"
    assert stack_names("amlgpu", "dev", "43171d").storage_account == "stamlgpudev43171d"
    assert (
        stack_names("amlgpu", "dev", "a1b2c3").key_vault != stack_names("amlgpu", "dev", "43171d").key_vault
    )
