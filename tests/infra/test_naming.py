"""Azure names derived from the stack: valid per resource type, stable, unique per stack."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from naming import default_name_suffix, stack_names

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


def test_the_default_suffix_differs_between_subscriptions_and_is_stable_within_one():
    one = default_name_suffix("aml-gpu-inference", "dev", "00000000-0000-4000-8000-000000000001")
    other = default_name_suffix("aml-gpu-inference", "dev", "00000000-0000-4000-8000-000000000002")
    assert one != other  # every team's `dev` stack gets its own global names
    assert one == default_name_suffix("aml-gpu-inference", "dev", "00000000-0000-4000-8000-000000000001")
    assert re.fullmatch(r"[a-z0-9]{6}", one)


def test_the_default_suffix_ignores_the_subscription_ids_case():
    lower = default_name_suffix("p", "dev", "abcdef00-0000-4000-8000-000000000001")
    assert lower == default_name_suffix("p", "dev", "ABCDEF00-0000-4000-8000-000000000001")
