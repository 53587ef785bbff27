"""harness/scenario.py on a real pytest run (pytester): after a failed step of a `scenario`
module the later steps are skipped naming it; modules without the marker are not affected."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = "from harness.scenario import pytest_runtest_makereport, pytest_runtest_setup  # noqa: F401\n"
INI = "[pytest]\nmarkers =\n    scenario: ordered steps\n"


def test_a_failed_step_skips_the_rest_of_its_scenario_only(pytester: pytest.Pytester):
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_steps="""
import pytest
pytestmark = pytest.mark.scenario
def test_one(): pass
def test_two(): assert False
def test_three(): pass
""",
        test_plain="""
def test_a(): assert False
def test_b(): pass
""",
    )
    result = pytester.runpytest("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2, skipped=1)
    result.stdout.fnmatch_lines(["*an earlier step of this scenario failed: test_two*"])


def test_a_step_run_alone_is_not_skipped(pytester: pytest.Pytester):
    pytester.makeini(INI)
    pytester.makeconftest(CONFTEST)
    steps = "import pytest\npytestmark = pytest.mark.scenario\n"
    steps += "def test_two(): assert False\ndef test_three(): pass\n"
    pytester.makepyfile(test_steps=steps)
    pytester.runpytest("-k", "three", "-p", "no:cacheprovider").assert_outcomes(passed=1)
