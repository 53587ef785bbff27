"""pytest hooks for `scenario` test modules: ordered steps on one stack, each a test of its own.

After a step fails, the module's later steps are skipped with the failed step's name, rather than
run on a state no step meant to leave. A conftest imports both hooks to use them.
"""

from __future__ import annotations

import pytest

_FAILED_STEP = pytest.StashKey[dict[str, str]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    report = yield
    if report.failed and item.get_closest_marker("scenario") is not None:
        failed = item.session.stash.setdefault(_FAILED_STEP, {})
        failed.setdefault(item.module.__name__, item.name)  # type: ignore[attr-defined]
    return report


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("scenario") is None:
        return
    failed = item.session.stash.get(_FAILED_STEP, {}).get(item.module.__name__)  # type: ignore[attr-defined]
    if failed is not None:
        pytest.skip(f"an earlier step of this scenario failed: {failed}")
