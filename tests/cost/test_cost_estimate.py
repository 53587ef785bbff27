"""The estimate from a stack's config, priced by the shipped table (the API is not asked: these
tests pin the table as the source), checked by arithmetic from the table file itself; the CLI
behind `make cost`; the program's diagnostic and `cost_per_hour` output under mocks."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from config import ConfigError
from cost import describe, load_table, markdown, stack_output, to_json
from cost.__main__ import main
from cost.estimate import AKS_TIER, HOURS_PER_30_DAYS, REGISTRY_TIER
from cost.prices import PriceBook
from cost.stack_file import estimate_from_file, estimate_from_values, read_stack_file
from cost.table import TABLE_PATH
from harness.program import CLUSTER, PROJECT_ROOT, run_program, stack_config

TABLE = json.loads(TABLE_PATH.read_text())
T4 = Decimal(TABLE["vm_hourly"]["eastus"]["Standard_NC4as_T4_v3"]["price"])
REGISTRY_PER_DAY = Decimal(TABLE["registry_daily"]["Basic"]["price"])
AKS_PER_HOUR = Decimal(TABLE["aks_management_hourly"]["Free"]["price"])
NOW = datetime(2026, 12, 29, 12, 0, tzinfo=UTC)


def table_book() -> PriceBook:
    return PriceBook(table=load_table())  # no client: the table only


def dev(**changes: Any) -> dict[str, Any]:
    config = stack_config("dev")
    for key, value in changes.items():
        full = f"aml-gpu-inference:{key}"
        config[full] = {**config.get(full, {}), **value} if isinstance(value, dict) else value
    return config


def estimate(config: dict[str, Any], stack: str = "dev"):
    return estimate_from_values(config, stack=stack, prices=table_book(), now=NOW)


def test_the_how_to_stack_is_three_gpu_nodes_at_the_tables_price_plus_registry_and_aks():
    est = estimate_from_file(PROJECT_ROOT / "Pulumi.dev.yaml", stack="dev", prices=table_book(), now=NOW)
    assert est is not None and est.complete
    pool = est.lines[0]
    assert (pool.item, pool.detail) == ("GPU node pool", "3 × Standard_NC4as_T4_v3")
    assert pool.hourly == 3 * T4
    expected = 3 * T4 + REGISTRY_PER_DAY / 24 + AKS_PER_HOUR
    assert est.hourly == expected
    assert est.hourly_max == 4 * T4 + REGISTRY_PER_DAY / 24 + AKS_PER_HOUR  # one upgrade surge node
    assert est.per_30_days == expected * HOURS_PER_30_DAYS
    # expires-on "2026-12-31" is inclusive: expired from 2027-01-01 00:00 UTC, 60 h after NOW.
    assert est.hours_to_expiry == 60
    assert est.until_expiry == expected * 60


def test_the_text_names_the_table_and_its_date_and_the_unestimated_items():
    est = estimate(dev())
    text = describe(est)
    read_on = TABLE["vm_hourly"]["eastus"]["Standard_NC4as_T4_v3"]["read_on"]
    assert f"price table of {read_on}" in text
    assert f"{(3 * T4):.4f} USD/h" in text
    assert "egress" in text and "Log Analytics ingestion" in text
    assert "other node pools: none" in text
    assert (
        f"until expires-on (2027-01-01 00:00 UTC, 60 h) {(est.hourly * 60).quantize(Decimal('0.01'))}" in text
    )


def test_an_unknown_size_is_reported_unknown_never_free():
    est = estimate(dev(cluster={"vmSize": "Standard_NC8as_T4_v3"}))
    assert not est.complete
    assert est.unknown == ("GPU node pool (3 × Standard_NC8as_T4_v3)",)
    assert "unknown (no price for GPU node pool (3 × Standard_NC8as_T4_v3)" in describe(est)
    assert stack_output(est)["amount"] is None
    assert to_json(est)["hourly"] is None
    assert "unknown" in markdown(est)


def test_the_upgrade_surge_sets_the_high_end_and_autoscale_adds_no_node():
    est = estimate(
        dev(
            cluster={"upgradeMaxSurge": 2},
            service={"replicas": 1, "autoscale": {"enabled": True, "minReplicas": 1, "maxReplicas": 3}},
        )
    )
    pool = est.lines[0]
    assert (pool.quantity, pool.quantity_max) == (3, 5)
    assert pool.hourly_max == 5 * T4
    assert "autoscale maximum (3 replicas × 1 GPU) fits 3 of the 3 nodes" in pool.note


def test_an_adopted_workspace_has_no_registry_line_of_ours():
    existing = {
        "existing": {
            "subscriptionId": "00000000-0000-4000-8000-000000000009",
            "resourceGroup": "rg",
            "name": "shared-ws",
        }
    }
    est = estimate(dev(workspace=existing))
    assert [line.item for line in est.lines] == ["GPU node pool", "AKS cluster management"]
    assert est.hourly == 3 * T4 + AKS_PER_HOUR


def test_the_v2_stack_and_the_local_stack():
    v2 = estimate_from_file(PROJECT_ROOT / "Pulumi.dev-v2.yaml", stack="dev-v2", prices=table_book(), now=NOW)
    assert v2 is not None and v2.target == "azure-v2" and v2.lines[0].hourly == 3 * T4
    assert estimate({"aml-gpu-inference:target": "local"}, stack="local") is None


def test_a_bad_config_is_refused_naming_the_key():
    with pytest.raises(ConfigError, match=r"cluster\.nodeCount"):
        estimate(dev(cluster={"nodeCount": 0}))


def test_secure_values_are_placeholders_and_never_read(tmp_path):
    values, secrets = read_stack_file(
        "config:\n  aml-gpu-inference:sslKey:\n    secure: v1:abc\n  aml-gpu-inference:target: azure\n", "x"
    )
    assert values["aml-gpu-inference:sslKey"] == "[secret]" and secrets == {"aml-gpu-inference:sslKey"}


def test_the_change_in_cost_when_the_pool_changes():
    base, head = estimate(dev()), estimate(dev(cluster={"nodeCount": 4}))
    text = markdown(head, base)
    assert f"+{T4:.4f} USD/h" in text
    assert f"+{(T4 * HOURS_PER_30_DAYS).quantize(Decimal('0.01'))} USD per 30 days" in text
    assert "Change in cost" not in markdown(base, estimate(dev()))  # nothing changed, nothing said


def test_make_cost_cli_prints_the_estimate_and_its_exit_codes(tmp_path):
    out = io.StringIO()
    assert main(["--stack", "dev"], out=out, environ={"AMLGPU_PRICE_SOURCE": "table"}) == 0
    assert "cost estimate of dev (azure, eastus)" in out.getvalue()
    out = io.StringIO()
    assert main(["--stack", "dev", "--json"], out=out, environ={"AMLGPU_PRICE_SOURCE": "table"}) == 0
    assert Decimal(str(json.loads(out.getvalue())["lines"][0]["hourly"])) == 3 * T4
    # The table holds USD only: in EUR without the API every price is unknown, and the exit says so.
    out = io.StringIO()
    assert (
        main(["--stack", "dev", "--currency", "EUR"], out=out, environ={"AMLGPU_PRICE_SOURCE": "table"}) == 3
    )
    assert "unknown" in out.getvalue()
    with pytest.raises(SystemExit) as refused:
        main(["--stack", "dev", "--currency", "eur"], out=io.StringIO(), environ={})
    assert refused.value.code == 2
    assert main(["--stack", "nope"], out=io.StringIO(), environ={"AMLGPU_PRICE_SOURCE": "table"}) == 2


# --- the program under mocks -------------------------------------------------------------------


@pytest.fixture
def program_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("AMLGPU_PRICE_SOURCE", "table")
    (tmp_path / "saved_model.pb").write_bytes(b"graph")
    return dev(model={"name": "mnist-dnn", "dir": str(tmp_path)})


def test_the_program_exports_the_hourly_figure(program_config):
    run = run_program(program_config, stack="dev")
    output = run.outputs["cost_per_hour"].value
    assert output["currency"] == "USD"
    assert Decimal(str(output["amount"])) == round(3 * T4 + REGISTRY_PER_DAY / 24 + AKS_PER_HOUR, 4)
    assert output["unknown"] == [] and "price table of" in output["sources"][0]
    # The tiers the estimate assumes are the ones the program declares.
    registry = run.one("azure-native:containerregistry:Registry")
    assert registry.inputs["sku"]["name"] == REGISTRY_TIER
    sku = run.one(CLUSTER).inputs.get("sku")
    assert sku is None or sku.get("tier", AKS_TIER) == AKS_TIER


def test_the_local_program_has_no_cost_output(tmp_path, monkeypatch):
    monkeypatch.setenv("AMLGPU_PRICE_SOURCE", "table")
    (tmp_path / "saved_model.pb").write_bytes(b"graph")
    run = run_program(
        {"aml-gpu-inference:target": "local", "aml-gpu-inference:model": {"dir": str(tmp_path)}},
        stack="local",
    )
    assert "cost_per_hour" not in run.outputs


def test_an_adopted_cluster_is_not_counted_as_the_stacks_bill():
    cluster_id = (
        "/subscriptions/00000000-0000-4000-8000-000000000001/resourceGroups/rg"
        "/providers/Microsoft.ContainerService/managedClusters/aks-team"
    )
    config = dev()
    config["aml-gpu-inference:cluster"] = {"existing": {"clusterId": cluster_id}}
    est = estimate(config)
    assert [line.item for line in est.lines] == ["container registry"]
    assert est.billed_by_use[0].startswith("the adopted cluster's nodes")
