"""The cost guard end to end with the Pulumi boundary replaced.

`FakeStacks` is a TEST DOUBLE of the guard's `Stacks` boundary (the Automation API): it holds
stacks in memory and records every destroy, so the tests assert exactly which stacks the guard
destroys. The last tests drive the REAL Automation API adapter (`AutomationStacks` over
`pulumi.automation.LocalWorkspace`) against a FAKE `pulumi` executable (tests/gitops/fake_pulumi.py),
because the CLI cannot be installed here.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from cost import PriceBook, load_table
from cost.table import TABLE_PATH
from harness.program import stack_config
from infra.rules.tags import TAGS_KEY
from scripts.cost_guard import (
    Action,
    AutomationStacks,
    ExitCode,
    StackListing,
    format_table,
    main,
    report_json,
    run_guard,
)
from tests.gitops.fake_pulumi import install, read_log

NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)


def tags(owner: str | None = "ana", expires: object = None) -> str:
    value: dict[str, object] = {}
    if owner is not None:
        value["owner"] = owner
    if expires is not None:
        value["expires-on"] = expires
    return json.dumps(value)


@dataclass
class FakeStack:
    tags: str | None
    resources: int | None = 5
    last_up: datetime | None = None


@dataclass
class FakeStacks:
    """Test double of the Automation API boundary: in-memory stacks, recorded destroys."""

    stacks: dict[str, FakeStack]
    fail_destroy: set[str] = field(default_factory=set)
    destroyed: list[str] = field(default_factory=list)
    last_up_asked: list[str] = field(default_factory=list)

    def list_stacks(self) -> list[StackListing]:
        return [StackListing(name, s.resources) for name, s in self.stacks.items()]

    def config(self, stack: str) -> dict[str, str]:
        raw = self.stacks[stack].tags
        return {"aml-gpu-inference:target": "azure", **({TAGS_KEY: raw} if raw is not None else {})}

    def last_up(self, stack: str) -> datetime | None:
        self.last_up_asked.append(stack)
        return self.stacks[stack].last_up

    def destroy(self, stack: str) -> None:
        if stack in self.fail_destroy:
            raise RuntimeError(f"code: 255\n stderr: error: deleting {stack}: the cloud said no")
        self.destroyed.append(stack)
        self.stacks[stack].resources = 0


def a_fleet() -> FakeStacks:
    return FakeStacks(
        {
            "prod": FakeStack(tags(expires="2027-06-30")),
            "staging": FakeStack(tags(expires="2026-11-26")),  # ended yesterday (UTC)
            "demo": FakeStack(tags(expires="2026-11-27")),  # today: alive until midnight UTC
            "spike": FakeStack(tags(expires="2026-11-27T13:59:59Z")),  # a second ago
            "dev": FakeStack(tags(), last_up=datetime(2026, 11, 19, 8, tzinfo=UTC)),  # 19th + 7 = 26th
            "dev-ana": FakeStack(tags(), last_up=datetime(2026, 11, 25, 8, tzinfo=UTC)),  # lives to Dec 2
            "orphan": FakeStack(None),  # no tags at all
            "typo": FakeStack(tags(expires="27/11/2026")),
            "emptied": FakeStack(tags(expires="2026-01-01"), resources=0),
        }
    )


def test_it_destroys_exactly_the_expired_stacks_with_resources():
    fleet = a_fleet()
    report = run_guard(fleet, NOW, dry_run=False)
    assert sorted(fleet.destroyed) == ["dev", "spike", "staging"]
    actions = {d.assessment.stack: d.action for d in report.decisions}
    assert actions == {
        "prod": Action.KEEP,
        "staging": Action.DESTROYED,
        "demo": Action.KEEP,
        "spike": Action.DESTROYED,
        "dev": Action.DESTROYED,
        "dev-ana": Action.KEEP,
        "orphan": Action.REPORT,
        "typo": Action.REPORT,
        "emptied": Action.NOTHING_TO_DESTROY,
    }
    # Missing and malformed expiry: reported, so the scheduled job goes red; nothing destroyed.
    assert report.exit_code is ExitCode.NEEDS_ATTENTION


def test_a_dry_run_destroys_nothing_and_lists_what_it_would():
    fleet = a_fleet()
    report = run_guard(fleet, NOW, dry_run=True)
    assert fleet.destroyed == []
    assert report.to_destroy == ["dev", "spike", "staging"]
    assert {d.assessment.stack for d in report.decisions if d.action is Action.WOULD_DESTROY} == {
        "dev",
        "spike",
        "staging",
    }


def test_the_last_up_is_only_looked_up_for_dev_stacks_without_expiry():
    fleet = a_fleet()
    fleet.stacks["dev-bob"] = FakeStack(tags(expires="2030-01-01"))
    run_guard(fleet, NOW, dry_run=True)
    assert sorted(fleet.last_up_asked) == ["dev", "dev-ana"]


def test_a_clean_fleet_exits_ok():
    fleet = FakeStacks(
        {"prod": FakeStack(tags(expires="2027-01-01")), "old": FakeStack(tags(expires="2026-01-01"))}
    )
    report = run_guard(fleet, NOW, dry_run=False)
    assert fleet.destroyed == ["old"]
    assert report.exit_code is ExitCode.OK


def test_a_failed_destroy_is_reported_the_others_still_run_and_the_exit_code_says_so():
    fleet = a_fleet()
    fleet.fail_destroy = {"spike"}
    report = run_guard(fleet, NOW, dry_run=False)
    assert sorted(fleet.destroyed) == ["dev", "staging"]
    failed = next(d for d in report.decisions if d.assessment.stack == "spike")
    assert failed.action is Action.DESTROY_FAILED
    assert "the cloud said no" in failed.note
    assert report.exit_code is ExitCode.DESTROY_FAILED  # wins over NEEDS_ATTENTION


def test_only_the_named_stack_is_touched_and_its_expiry_is_rechecked():
    fleet = a_fleet()
    report = run_guard(fleet, NOW, dry_run=False, only=["staging"])
    assert fleet.destroyed == ["staging"]
    assert [d.assessment.stack for d in report.decisions] == ["staging"]
    assert report.exit_code is ExitCode.OK
    # A stack that was extended since the plan is kept, even when named.
    fleet.stacks["spike"] = FakeStack(tags(expires="2027-01-01"))
    run_guard(fleet, NOW, dry_run=False, only=["spike"])
    assert fleet.destroyed == ["staging"]


def test_a_named_stack_that_does_not_exist_is_an_error():
    report = run_guard(a_fleet(), NOW, dry_run=True, only=["nope"])
    assert report.unknown_stacks == ("nope",)
    assert report.exit_code is ExitCode.ERROR
    assert "'nope' is not in this project's backend" in format_table(report)


def test_the_table_has_one_row_per_stack_with_owner_deadline_status_and_action():
    report = run_guard(a_fleet(), NOW, dry_run=True)
    lines = format_table(report).splitlines()
    assert "dry run" in lines[0]
    assert lines[1].split() == [
        "STACK",
        "OWNER",
        "EXPIRES",
        "AT",
        "(UTC)",
        "FROM",
        "STATUS",
        "ACTION",
        "COST",
        "SAVES/DAY",
        "NOTE",
    ]
    rows = {line.split()[0]: line for line in lines[2:]}
    assert set(rows) == set(a_fleet().stacks)
    assert "2026-11-27 00:00 UTC" in rows["staging"] and "would destroy" in rows["staging"]
    assert "dev default" in rows["dev"]
    assert "missing-expiry" in rows["orphan"] and "report" in rows["orphan"]
    assert "malformed-expiry" in rows["typo"] and "'27/11/2026'" in rows["typo"]


def test_main_prints_the_table_writes_json_and_returns_the_exit_code(tmp_path):
    fleet = a_fleet()
    out = io.StringIO()
    code = main(["--dry-run", "--json-out", str(tmp_path / "r.json")], stacks=fleet, now=NOW, out=out)
    assert code == ExitCode.NEEDS_ATTENTION
    assert fleet.destroyed == []
    written = json.loads((tmp_path / "r.json").read_text())
    assert written == report_json(
        run_guard(a_fleet(), NOW, dry_run=True, prices=PriceBook(table=load_table()))
    )
    assert written["to_destroy"] == ["dev", "spike", "staging"]
    assert sorted(written["needs_attention"]) == ["orphan", "typo"]
    assert "STACK" in out.getvalue()


def test_main_without_dry_run_destroys(tmp_path):
    fleet = a_fleet()
    code = main(["--stack", "spike"], stacks=fleet, now=NOW, out=io.StringIO())
    assert (code, fleet.destroyed) == (ExitCode.OK, ["spike"])


def test_main_reports_a_boundary_failure_as_exit_1(capsys):
    class Broken(FakeStacks):
        def list_stacks(self) -> list[StackListing]:
            raise RuntimeError("backend unreachable")

    assert main([], stacks=Broken({}), now=NOW, out=io.StringIO()) == ExitCode.ERROR
    assert "backend unreachable" in capsys.readouterr().err


def test_main_refuses_a_bad_lifetime(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--dev-lifetime-days", "0"], stacks=a_fleet(), now=NOW)
    assert exit_info.value.code == ExitCode.USAGE
    assert "--dev-lifetime-days: 0 is not allowed: a whole number ≥ 1" in capsys.readouterr().err


# --- the real Automation API adapter against a fake `pulumi` executable --------------------------


def _summary(kind: str, end: str, result: str = "succeeded") -> dict[str, object]:
    return {
        "kind": kind,
        "startTime": end,
        "endTime": end,
        "message": "",
        "environment": {},
        "config": {},
        "result": result,
    }


@pytest.fixture
def fake_cli(tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A fake `pulumi` with three stacks; returns (its root for PulumiCommand, its argv log)."""
    scenario = {
        "stacks": [
            {"name": "dev", "resourceCount": 14, "lastUpdate": "2026-11-27T05:17:00.000Z"},
            {"name": "prod", "resourceCount": 20},
            {"name": "old", "resourceCount": 9},
        ],
        "config": {
            "dev": {TAGS_KEY: {"value": tags(), "secret": False}},
            "prod": {TAGS_KEY: {"value": tags(expires="2027-06-30"), "secret": False}},
            "old": {
                TAGS_KEY: {"value": tags(expires="2026-11-01"), "secret": False},
                "aml-gpu-inference:sslKey": {"value": "s3cret", "secret": True},
            },
        },
        "history": {
            # Newest first. The nightly refresh must not count as an up.
            "dev": [
                _summary("refresh", "2026-11-27T05:17:00.000Z"),
                _summary("update", "2026-11-18T10:00:00.000Z", result="failed"),
                _summary("update", "2026-11-12T10:00:00.000Z"),
            ]
        },
    }
    log = tmp_path / "pulumi-argv.jsonl"
    for key, value in install(tmp_path / "cli" / "bin", scenario, log).items():
        monkeypatch.setenv(key, value)
    return tmp_path / "cli", log


def _adapter(root: Path) -> AutomationStacks:
    from pulumi.automation import PulumiCommand

    return AutomationStacks(pulumi_command=PulumiCommand(root=str(root)))


def test_the_adapter_lists_reads_config_and_finds_the_last_successful_up(fake_cli):
    root, _ = fake_cli
    stacks = _adapter(root)
    assert stacks.list_stacks() == [StackListing("dev", 14), StackListing("prod", 20), StackListing("old", 9)]
    assert json.loads(stacks.config("prod")[TAGS_KEY]) == {"owner": "ana", "expires-on": "2027-06-30"}
    assert stacks.last_up("dev") == datetime(2026, 11, 12, 10, 0, tzinfo=UTC)


def test_the_guard_over_the_automation_api_destroys_exactly_the_expired_stack(fake_cli):
    root, log = fake_cli
    report = run_guard(_adapter(root), NOW, dry_run=False)
    destroys = [argv for argv in read_log(log) if argv[0] == "destroy"]
    assert [argv[argv.index("--stack") + 1] for argv in destroys] == ["dev", "old"]
    assert all("--yes" in argv for argv in destroys)
    assert report.to_destroy == ["dev", "old"]
    # dev: last successful up 2026-11-12 + 7 days -> expired at 2026-11-20 00:00 UTC.
    dev = next(d for d in report.decisions if d.assessment.stack == "dev")
    assert dev.assessment.deadline == datetime(2026, 11, 20, tzinfo=UTC)
    assert report.exit_code is ExitCode.OK


def test_a_dry_run_over_the_automation_api_issues_no_destroy(fake_cli):
    root, log = fake_cli
    report = run_guard(_adapter(root), NOW, dry_run=True)
    assert report.to_destroy == ["dev", "old"]
    assert not [argv for argv in read_log(log) if argv[0] == "destroy"]


def test_a_failing_destroy_through_the_automation_api_is_reported_and_no_secret_is_printed(fake_cli, capsys):
    root, log = fake_cli
    scenario_file = root / "bin" / "scenario.json"
    scenario = json.loads(scenario_file.read_text())
    scenario["fail_destroy"] = ["old"]
    scenario_file.write_text(json.dumps(scenario))
    out = io.StringIO()
    code = main([], stacks=_adapter(root), now=NOW, out=out)
    assert code == ExitCode.DESTROY_FAILED
    destroyed = [a[a.index("--stack") + 1] for a in read_log(log) if a[0] == "destroy"]
    assert destroyed == ["dev", "old"]  # both tried; old failed
    rows = {line.split()[0]: line for line in out.getvalue().splitlines()[2:] if line.strip()}
    assert "destroy failed" in rows["old"] and "the cloud said no" in rows["old"]
    assert "destroyed" in rows["dev"]
    assert "s3cret" not in out.getvalue() + capsys.readouterr().out


# --- each stack's hourly cost and what destroying an expired one saves per day ---------------------


def _dev_config(expires: str) -> dict[str, str]:
    """The how-to's dev stack config as the Automation API hands it over (objects as JSON text)."""
    config = {
        k: json.dumps(v) if isinstance(v, dict | list) else str(v) for k, v in stack_config("dev").items()
    }
    config[TAGS_KEY] = tags(expires=expires)
    return config


@dataclass
class PricedFleet(FakeStacks):
    configs: dict[str, dict[str, str]] = field(default_factory=dict)

    def config(self, stack: str) -> dict[str, str]:
        return self.configs.get(stack) or super().config(stack)


def _priced_fleet() -> PricedFleet:
    fleet = PricedFleet(
        {"old": FakeStack(tags(expires="2026-11-01")), "prod": FakeStack(tags(expires="2027-06-30"))}
    )
    fleet.configs = {"old": _dev_config("2026-11-01"), "prod": _dev_config("2027-06-30")}
    return fleet


def _table_hourly() -> tuple[Decimal, str]:
    """3 GPU nodes + the registry's daily price spread over 24 h + AKS management, from the table."""
    table = json.loads(TABLE_PATH.read_text())
    t4 = Decimal(table["vm_hourly"]["eastus"]["Standard_NC4as_T4_v3"]["price"])
    registry = Decimal(table["registry_daily"]["Basic"]["price"])
    aks = Decimal(table["aks_management_hourly"]["Free"]["price"])
    return 3 * t4 + registry / 24 + aks, table["vm_hourly"]["eastus"]["Standard_NC4as_T4_v3"]["read_on"]


def test_the_report_lists_each_stacks_hourly_cost_and_what_destroying_an_expired_one_saves():
    hourly, read_on = _table_hourly()
    report = run_guard(_priced_fleet(), NOW, dry_run=True, prices=PriceBook(table=load_table()))
    by_stack = {d.assessment.stack: d for d in report.decisions}
    assert by_stack["old"].cost.hourly == by_stack["prod"].cost.hourly == hourly
    assert by_stack["old"].saves_per_day == hourly * 24
    assert by_stack["prod"].saves_per_day is None  # kept: nothing saved
    text = format_table(report)
    rows = {line.split()[0]: line for line in text.splitlines()[2:]}
    assert f"{hourly:.4f} USD/h" in rows["old"] and f"{hourly * 24:.2f} USD" in rows["old"]
    assert f"{hourly:.4f} USD/h" in rows["prod"]
    assert f"price table of {read_on}" in text  # the source and its date
    stacks = {s["name"]: s for s in report_json(report)["stacks"]}
    assert stacks["old"]["saves_per_day"] == float(hourly * 24)
    assert stacks["prod"]["cost_per_hour"] == float(hourly) and stacks["prod"]["saves_per_day"] is None


def test_a_config_the_estimate_cannot_read_is_an_unknown_cost_never_zero():
    fleet = PricedFleet(a_fleet().stacks)
    fleet.configs = {"staging": {**fleet.config("staging"), "aml-gpu-inference:target": "mars"}}
    report = run_guard(fleet, NOW, dry_run=True, prices=PriceBook(table=load_table()))
    staging = next(d for d in report.decisions if d.assessment.stack == "staging")
    assert staging.action is Action.WOULD_DESTROY  # the cost never changes a decision
    assert staging.cost.hourly is None and staging.cost.text.startswith("unknown (")
    assert staging.saves_per_day is None
    row = next(line for line in format_table(report).splitlines() if line.startswith("staging "))
    assert "unknown" in row and "target" in row  # the key the estimate could not read


def test_the_cost_over_the_automation_api_and_main_prices_from_the_table(fake_cli):
    root, _ = fake_cli
    scenario_file = root / "bin" / "scenario.json"
    scenario = json.loads(scenario_file.read_text())
    scenario["config"]["old"] = {
        key: {"value": v, "secret": False} for key, v in _dev_config("2026-11-01").items()
    }
    scenario_file.write_text(json.dumps(scenario))
    hourly, read_on = _table_hourly()
    out = io.StringIO()
    main(["--dry-run"], stacks=_adapter(root), now=NOW, out=out)  # the table: tests/conftest.py
    rows = {line.split()[0]: line for line in out.getvalue().splitlines()[2:] if line.strip()}
    assert "would destroy" in rows["old"] and f"{hourly * 24:.2f} USD" in rows["old"]
    assert f"price table of {read_on}" in out.getvalue()
