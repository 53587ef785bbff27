"""The GPU capacity plan (rules/capacity.py) from the stack config, its refusals at preview, its
log lines, and the vCPU quota read over real HTTP from a local stand-in for Azure's token and
Compute usages endpoints (Azure itself is unreachable here)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from capacity_report import capacity_lines, quota_verdict
from config import load_stack_config
from config.capacity import pool_of, stack_capacity_plan
from config.reader import ConfigError
from config.types import ClusterConfig
from harness.program import run_program, stack_config
from quota import QuotaError, read_family_quota
from rules.capacity import BLUE_GREEN, IN_PLACE, Pool, plan_capacity

TAGS = {"owner": "ml-platform", "expires-on": "2026-12-31"}
T4 = Pool("Standard_NC4as_T4_v3", node_count=3, gpus_per_node=1, vcpus_per_node=4, quota_family="fam")
CREDENTIALS = {
    "ARM_CLIENT_ID": "client",
    "ARM_CLIENT_SECRET": "s3cret-value",
    "ARM_TENANT_ID": "tenant",
    "ARM_SUBSCRIPTION_ID": "sub",
}


def v2(**sections: Any) -> dict[str, Any]:
    return {"target": "azure-v2", "tags": TAGS, **sections}


def problems(source: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(source, stack="dev-v2")
    return [str(problem) for problem in caught.value.problems]


# --- the plan ----------------------------------------------------------------------------------------


def test_blue_green_on_the_how_tos_3_gpus_needs_6_and_in_place_needs_3():
    blue_green = plan_capacity(T4, replicas=3, gpu_cores=1, target="azure-v2", strategy=BLUE_GREEN)
    in_place = plan_capacity(T4, replicas=3, gpu_cores=1, target="azure-v2", strategy=IN_PLACE)
    assert [(phase.name, phase.gpus) for phase in blue_green.phases] == [
        ("steady state", 3),
        ("blue/green update (both colours at once)", 6),
    ]
    assert [phase.key for phase in blue_green.shortfalls] == ["rollout.strategy"]
    assert in_place.shortfalls == () and in_place.peak_gpus == 3
    assert "serves 2 of 3 replicas while each rolls" in in_place.phases[1].note


def test_a_pool_of_6_gpus_holds_blue_green():
    six = Pool("Standard_NC4as_T4_v3", 6, 1, 4, "fam")
    assert (
        plan_capacity(six, replicas=3, gpu_cores=1, target="azure-v2", strategy=BLUE_GREEN).shortfalls == ()
    )


def test_autoscale_maximums_are_counted_and_a_spare_gpu_lets_the_rolling_update_surge():
    plan = plan_capacity(
        Pool("Standard_NC64as_T4_v3", 2, 4, 64, "fam"),
        replicas=2,
        gpu_cores=1,
        target="azure",
        autoscale_max_replicas=6,
    )
    assert (
        plan.replicas == 6
        and plan.phases[0].gpus == 6
        and plan.phases[0].key == "service.autoscale.maxReplicas"
    )
    assert plan.shortfalls == ()
    assert "a surge pod beside the 6" in plan.phases[1].note
    too_many = plan_capacity(T4, replicas=2, gpu_cores=1, target="azure", autoscale_max_replicas=4)
    assert [phase.gpus for phase in too_many.shortfalls] == [4, 4]


def test_one_replica_rolling_on_a_full_pool_says_nothing_serves_while_it_rolls():
    one = Pool("Standard_NC4as_T4_v3", 1, 1, 4, "fam")
    plan = plan_capacity(one, replicas=1, gpu_cores=1, target="azure")
    assert plan.shortfalls == ()
    assert "no replica serves while it rolls" in plan.phases[1].note


@pytest.mark.parametrize(("surge", "vcpus"), [(1, 16), (2, 20), (3, 24)])
def test_node_upgrade_surge_nodes_are_counted_in_the_quota(surge: int, vcpus: int):
    cfg = load_stack_config(
        v2(cluster={"upgradeMaxSurge": surge}, rollout={"strategy": "inPlace"}), stack="dev-v2"
    )
    plan = stack_capacity_plan(cfg)
    assert plan is not None and plan.pool.quota_vcpus == vcpus
    assert plan.pool.quota_family == "standardNCASv3_T4Family"
    assert (
        f"+{surge} surge node(s); vCPU quota needed for standardNCASv3_T4Family: {vcpus}" in plan.describe()
    )


def test_the_pool_comes_from_the_cluster_config():
    pool = pool_of(ClusterConfig(vm_size="Standard_NC48ads_A100_v4", node_count=2, upgrade_max_surge=2))
    assert (pool.gpus, pool.vcpus_per_node, pool.quota_vcpus) == (4, 48, 192)


# --- refusals at config time (preview) ---------------------------------------------------------------


def test_the_how_tos_config_on_v2_with_blue_green_fails_naming_the_keys_and_the_ways_out():
    (problem,) = problems(v2())  # blueGreen is the default strategy
    assert problem == (
        "aml-gpu-inference:rollout.strategy = 'blueGreen': the blue/green update (both colours at once) "
        "needs 6 GPUs (2 × 3 replicas × 1 GPU), but the pool has 3 × Standard_NC4as_T4_v3 = 3 GPUs: the "
        "new pods would stay Pending (Insufficient nvidia.com/gpu). Ways out: rollout.strategy inPlace "
        "(updates in place: 3 GPUs); or cluster.nodeCount ≥ 6 (the 6 GPUs on Standard_NC4as_T4_v3); or "
        "service.replicas ≤ 1"
    )


def test_in_place_passes_on_3_gpus_and_blue_green_on_6():
    assert load_stack_config(v2(rollout={"strategy": "inPlace"}), stack="dev-v2").online.strategy == IN_PLACE
    six = load_stack_config(v2(cluster={"nodeCount": 6}, rollout={"trafficSteps": [10, 100]}), stack="dev-v2")
    assert six.online.strategy == BLUE_GREEN


def test_the_repos_v2_stack_file_passes_and_its_blue_green_variant_does_not():
    config = stack_config("dev-v2")
    assert load_stack_config(config, stack="dev-v2").online.strategy == IN_PLACE
    config["aml-gpu-inference:rollout"] = {"strategy": "blueGreen"}
    with pytest.raises(ConfigError, match=r"rollout\.strategy = 'blueGreen'"):
        load_stack_config(config, stack="dev-v2")


def test_a_bad_surge_or_strategy_names_the_key_and_the_allowed_values():
    assert problems(v2(cluster={"upgradeMaxSurge": 0}, rollout={"strategy": "inPlace"})) == [
        "aml-gpu-inference:cluster.upgradeMaxSurge = 0: a whole number ≥ 1 and ≤ 100"
    ]
    assert problems(v2(rollout={"strategy": "rolling"})) == [
        "aml-gpu-inference:rollout.strategy = 'rolling': one of blueGreen, inPlace"
    ]


# --- the program ---------------------------------------------------------------------------------------


def test_preview_refuses_blue_green_before_anything_is_declared(model_dir: Path):
    config = stack_config("dev-v2")
    config["aml-gpu-inference:model"] = {"dir": str(model_dir)}
    config["aml-gpu-inference:rollout"] = {"strategy": "blueGreen"}
    with pytest.raises(ConfigError, match="needs 6 GPUs"):
        run_program(config, stack="dev-v2", preview=True)


@pytest.mark.parametrize("stack", ["dev", "dev-v2"])
def test_preview_logs_the_plan_and_that_the_quota_was_not_checked(
    model_dir: Path, stack: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    for name in CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    config = stack_config(stack)
    config["aml-gpu-inference:model"] = {"dir": str(model_dir)}
    with caplog.at_level(logging.INFO):
        run_program(config, stack=stack, preview=True)
    text = caplog.text
    assert "capacity plan: pool 3 × Standard_NC4as_T4_v3 = 3 GPUs; 3 replicas × 1 GPU" in text
    assert "rolling update: 3 GPUs, fits; no GPU for a surge pod: serves 2 of 3 replicas" in text
    assert "vCPU quota needed for standardNCASv3_T4Family: 16" in text
    assert "vCPU quota of standardNCASv3_T4Family in eastus: not checked (no ARM_CLIENT_ID" in text


def test_the_gpu_pool_sets_its_upgrade_surge(model_dir: Path):
    config = stack_config("dev")
    config["aml-gpu-inference:model"] = {"dir": str(model_dir)}
    run = run_program(config, stack="dev")
    (cluster,) = run.of_type("azure-native:containerservice:ManagedCluster")
    assert cluster.inputs["agentPoolProfiles"][0]["upgradeSettings"] == {"maxSurge": "1"}
    config["aml-gpu-inference:cluster"] = {**config["aml-gpu-inference:cluster"], "upgradeMaxSurge": 2}
    run = run_program(config, stack="dev")
    (cluster,) = run.of_type("azure-native:containerservice:ManagedCluster")
    assert cluster.inputs["agentPoolProfiles"][0]["upgradeSettings"] == {"maxSurge": "2"}


# --- the quota, over HTTP -------------------------------------------------------------------------------


class FakeAzure(BaseHTTPRequestHandler):
    """Azure AD's client-credentials token and Compute usages in two pages (a stand-in: the real
    endpoints are unreachable here)."""

    pages: ClassVar[list[dict[str, Any]]] = []
    status: ClassVar[int] = 200
    seen: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.seen.append(f"POST {self.path} {body}")
        self._json(200, {"access_token": "tok", "token_type": "Bearer"})

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path} {self.headers['Authorization']}")
        if self.status != 200:
            self._json(self.status, {"error": {"code": "AuthorizationFailed"}})
            return
        page = 1 if "page=2" in self.path else 0
        self._json(200, self.pages[page])

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def azure() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAzure)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    FakeAzure.status, FakeAzure.seen = 200, []
    FakeAzure.pages = [
        {
            "value": [{"name": {"value": "standardDSv3Family"}, "currentValue": 8, "limit": 100}],
            "nextLink": f"{base}/subscriptions/sub/usages?page=2",
        },
        {"value": [{"name": {"value": "standardNCASv3_T4Family"}, "currentValue": 4, "limit": 24}]},
    ]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()


def reader(base: str):
    return lambda environ, location, family: read_family_quota(
        environ, location, family, arm=base, login=base
    )


def test_the_quota_is_found_on_the_second_page_by_family_name_case_insensitively(azure: str):
    quota = read_family_quota(CREDENTIALS, "eastus", "STANDARDNCASV3_T4FAMILY", arm=azure, login=azure)
    assert quota is not None and (quota.used, quota.limit, quota.free) == (4, 24, 20)
    token, first, second = FakeAzure.seen
    assert token.startswith("POST /tenant/oauth2/v2.0/token ") and "grant_type=client_credentials" in token
    assert first.startswith(
        "GET /subscriptions/sub/providers/Microsoft.Compute/locations/eastus/usages?api-version="
    )
    assert first.endswith("Bearer tok") and second.startswith("GET /subscriptions/sub/usages?page=2")


def test_a_quota_below_the_pool_fails_naming_the_numbers(azure: str):
    pool = Pool("Standard_NC4as_T4_v3", 6, 1, 4, "standardNCASv3_T4Family", upgrade_max_surge=1)
    plan = plan_capacity(pool, replicas=3, gpu_cores=1, target="azure")
    with pytest.raises(ConfigError) as caught:
        quota_verdict(plan, "eastus", CREDENTIALS, reader(azure))
    assert str(caught.value.problems[0]) == (
        "aml-gpu-inference:cluster.nodeCount = 6: the pool needs 28 vCPUs of standardNCASv3_T4Family in "
        "eastus ((6 nodes + 1 upgrade surge) × 4), but the subscription's quota is 24 (4 in use): request "
        "more quota for the family, or fewer or smaller nodes"
    )
    assert "s3cret-value" not in str(caught.value)


def test_a_quota_that_holds_the_pool_is_reported_as_fitting(azure: str):
    plan = plan_capacity(
        Pool("Standard_NC4as_T4_v3", 3, 1, 4, "standardNCASv3_T4Family"),
        replicas=3,
        gpu_cores=1,
        target="azure",
    )
    verdict = quota_verdict(plan, "eastus", CREDENTIALS, reader(azure))
    assert (verdict.level, verdict.message) == (
        "info",
        "vCPU quota of standardNCASv3_T4Family in eastus: limit 24, in use 4, the pool needs 16: fits",
    )


def test_an_unknown_family_or_a_refused_read_is_a_warning_that_nothing_was_checked(azure: str):
    plan = plan_capacity(T4, replicas=3, gpu_cores=1, target="azure")  # family "fam": listed nowhere
    verdict = quota_verdict(plan, "eastus", CREDENTIALS, reader(azure))
    assert (verdict.level, verdict.message) == (
        "warn",
        "vCPU quota of fam in eastus: not checked (the region lists no such family)",
    )
    FakeAzure.status = 403
    with pytest.raises(QuotaError, match="the Compute usages read failed: HTTP 403"):
        read_family_quota(CREDENTIALS, "eastus", "fam", arm=azure, login=azure)
    refused = quota_verdict(plan, "eastus", CREDENTIALS, reader(azure))
    assert (
        refused.level == "warn" and "not checked (the Compute usages read failed: HTTP 403" in refused.message
    )
    assert "s3cret-value" not in refused.message


def test_no_lines_for_the_local_target(model_dir: Path):
    cfg = load_stack_config({"target": "local", "model": {"dir": str(model_dir)}}, stack="local")
    assert capacity_lines(cfg, {}) == []
