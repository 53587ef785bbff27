"""The azure-v2 parts that are plain functions: the AzureML extension's settings (pinned against
Microsoft's installers), the instance type, the blue/green plan and the traffic template."""

from __future__ import annotations

import pytest

from rules.values import TRAFFIC_STEPS
from v2.kubernetes_compute import extension_settings, instance_type_spec
from v2.online_endpoint import traffic_template
from v2.rollout import LiveState, is_not_found, plan_rollout
from v2.target import endpoint_name

CLUSTER_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-x"

# The keys Microsoft's installers send, read from their sources:
# - Azure/AML-Kubernetes files/deployextension.json: variables.baseSettings and inferenceBase
#   (plus `allowInsecureConnections`, which it sends always, "False" with TLS);
# - azure-cli-extensions src/k8s-extension/.../partner_extensions/AzureMLKubernetes.py, Create():
#   cluster_name, domain (<location>.cloudapp.azure.com), location, jobSchedulerLocation,
#   cluster_name_friendly, servicebus.enabled, relayserver.enabled and nginxIngress.enabled (AKS
#   defaults false/false/true), clusterId and prometheus...cluster_name (dereferenced from
#   cluster_name), inferenceRouterHA false and clusterPurpose DevTest below 3 nodes.
ARM_TEMPLATE_BASE_KEYS = {
    "enableTraining",
    "enableInference",
    "clusterPurpose",
    "cluster_name",
    "domain",
    "jobSchedulerLocation",
    "cluster_name_friendly",
    "clusterId",
    "prometheus.prometheusSpec.externalLabels.cluster_name",
    "servicebus.enabled",
    "relayserver.enabled",
    "nginxIngress.enabled",
    "installNvidiaDevicePlugin",
    "installPromOp",
    "installVolcano",
    "installDcgmExporter",
}
CLI_KEYS = {"location", "inferenceRouterServiceType", "inferenceRouterHA", "allowInsecureConnections"}


def settings(**overrides):
    arguments = {
        "cluster_id": CLUSTER_ID,
        "cluster_name": "aks-x",
        "location": "eastus",
        "node_count": 3,
        "cluster_purpose": "DevTest",
        "internal_load_balancer": False,
        "ssl_cname": None,
    }
    return extension_settings(**{**arguments, **overrides})


def test_the_extension_settings_are_pinned_for_the_dev_v2_stack():
    assert settings() == {
        "enableTraining": "False",
        "enableInference": "True",
        "inferenceRouterServiceType": "LoadBalancer",
        "inferenceRouterHA": "True",
        "allowInsecureConnections": "True",
        "installNvidiaDevicePlugin": "False",
        "installPromOp": "True",
        "installVolcano": "False",
        "installDcgmExporter": "False",
        "clusterPurpose": "DevTest",
        "cluster_name": CLUSTER_ID,
        "clusterId": CLUSTER_ID,
        "prometheus.prometheusSpec.externalLabels.cluster_name": CLUSTER_ID,
        "cluster_name_friendly": "aks-x",
        "domain": "eastus.cloudapp.azure.com",
        "location": "eastus",
        "jobSchedulerLocation": "eastus",
        "servicebus.enabled": "false",
        "relayserver.enabled": "false",
        "nginxIngress.enabled": "true",
    }


def test_the_extension_sends_every_key_the_installers_send():
    assert set(settings()) >= ARM_TEMPLATE_BASE_KEYS | CLI_KEYS
    assert all(isinstance(value, str) for value in settings().values())


def test_router_ha_is_off_below_three_nodes_as_the_cli_does():
    assert settings(node_count=2)["inferenceRouterHA"] == "False"
    assert settings(node_count=3)["inferenceRouterHA"] == "True"


def test_insecure_connections_only_without_tls():
    with_tls = settings(ssl_cname="ml.example.com")
    assert "allowInsecureConnections" not in with_tls
    assert with_tls["sslCname"] == "ml.example.com"


def test_an_internal_load_balancer_uses_azures_provider():
    internal = settings(internal_load_balancer=True)
    assert internal["internalLoadBalancerProvider"] == "azure"
    assert internal["scoringFe.serviceType.internalLoadBalancer"] == "True"
    assert "internalLoadBalancerProvider" not in settings()


def test_the_instance_type_has_requests_equal_limits_and_the_gpu_in_limits():
    spec = instance_type_spec(2, 4, 1)
    assert spec.name == "gpu1-cpu2-mem4"
    assert spec.manifest_spec() == {
        "nodeSelector": {"agentpool": "gpupool"},
        "resources": {
            "requests": {"cpu": "2", "memory": "4Gi"},
            "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": 1},
        },
    }
    assert instance_type_spec(0.5, 1.5, 2).name == "gpu2-cpu0p5-mem1p5"


# --- blue/green ----------------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [(100,), (10, 100), [1, 50, 99, 100]])
def test_good_traffic_steps_are_accepted(steps):
    assert not TRAFFIC_STEPS.refuses(steps)


def test_the_first_run_creates_blue_with_all_traffic():
    rollout = plan_rollout(None, "spec-a", (10, 100))
    assert (rollout.live, rollout.target, rollout.creates, rollout.retired) == (None, "blue", True, ())
    assert rollout.traffic_steps == ({"blue": 100},)
    assert not rollout.rolling


def test_an_unchanged_spec_keeps_the_live_colour_and_moves_nothing():
    live = LiveState({"blue": 100}, {"blue": "spec-a"})
    rollout = plan_rollout(live, "spec-a", (10, 100))
    assert (rollout.target, rollout.creates, rollout.retired) == ("blue", False, ())
    assert rollout.traffic_steps == ({"blue": 100},)


def test_a_changed_spec_creates_the_other_colour_shifts_in_steps_and_retires_the_old():
    live = LiveState({"blue": 100}, {"blue": "spec-a"})
    rollout = plan_rollout(live, "spec-b", (10, 50, 100))
    assert (rollout.live, rollout.target, rollout.creates) == ("blue", "green", True)
    assert rollout.traffic_steps == ({"green": 10, "blue": 90}, {"green": 50, "blue": 50}, {"green": 100})
    assert rollout.retired == ("blue",)
    assert rollout.describe() == (
        "live colour: blue; creating green; traffic to green: 10 → 50 → 100%; then blue is deleted"
    )


def test_green_live_rolls_back_to_blue():
    rollout = plan_rollout(LiveState({"green": 100}, {"green": "spec-b"}), "spec-c", (100,))
    assert (rollout.target, rollout.creates, rollout.retired) == ("blue", True, ("green",))
    assert rollout.traffic_steps == ({"blue": 100},)


def test_an_interrupted_rollout_continues_to_the_colour_that_has_the_desired_spec():
    live = LiveState({"blue": 90, "green": 10}, {"blue": "spec-a", "green": "spec-b"})
    rollout = plan_rollout(live, "spec-b", (10, 100))
    assert (rollout.live, rollout.target, rollout.creates, rollout.retired) == (
        "blue",
        "green",
        False,
        ("blue",),
    )
    assert rollout.traffic_steps[-1] == {"green": 100}


def test_a_failed_new_colour_is_retried_in_place_while_the_old_keeps_serving():
    # green failed last run (it exists, no traffic); blue still serves.
    live = LiveState({"blue": 100}, {"blue": "spec-a", "green": "spec-b"})
    rollout = plan_rollout(live, "spec-b", (100,))
    assert (rollout.live, rollout.target, rollout.creates) == ("blue", "green", False)


def test_a_leftover_colour_without_traffic_is_retired_when_the_live_one_stays():
    live = LiveState({"blue": 100}, {"blue": "spec-a", "green": "spec-old"})
    rollout = plan_rollout(live, "spec-a", (100,))
    assert (rollout.target, rollout.retired) == ("blue", ("green",))


@pytest.mark.parametrize(
    "steps", [(), (50,), (100, 100), (50, 10, 100), (0, 100), (10.5, 100), (True, 100), (10, 110)]
)
def test_bad_traffic_steps_are_rejected(steps):
    assert TRAFFIC_STEPS.refuses(steps)
    with pytest.raises(ValueError, match="traffic steps"):
        plan_rollout(None, "spec", steps)


def test_the_traffic_template_puts_the_whole_endpoint_with_the_traffic_map():
    template = traffic_template(
        workspace="mlw",
        endpoint="ep",
        location="eastus",
        auth_mode="Key",
        compute_id="/c",
        tags={"owner": "me"},
        traffic={"green": 10, "blue": 90},
    )
    (endpoint,) = template["resources"]
    assert endpoint["type"] == "Microsoft.MachineLearningServices/workspaces/onlineEndpoints"
    assert endpoint["name"] == "mlw/ep"
    assert endpoint["properties"]["traffic"] == {"green": 10, "blue": 90}
    assert endpoint["properties"]["authMode"] == "Key"
    assert endpoint["properties"]["compute"] == "/c"
    assert endpoint["tags"] == {"owner": "me"}


def test_endpoint_names_fit_azures_limit_and_end_in_the_stack_suffix():
    assert endpoint_name("aks-dnn-mnist", "ab12cd") == "aks-dnn-mnist-ab12cd"
    long = endpoint_name("a" * 32, "abcdefgh")
    assert len(long) == 32 and long.endswith("-abcdefgh")


@pytest.mark.parametrize(
    ("message", "missing"),
    [
        ('invoke failed: Status=404 Code="ResourceNotFound" Message="..."', True),
        ("RESPONSE 404: 404 Not Found ERROR CODE: ResourceGroupNotFound", True),
        ('Code="ParentResourceNotFound"', True),
        ('Status=403 Code="AuthorizationFailed" scope /subscriptions/0404-4040/x', False),
        ("connection refused", False),
    ],
)
def test_only_azures_not_found_means_nothing_is_deployed_yet(message, missing):
    assert is_not_found(Exception(message)) is missing
