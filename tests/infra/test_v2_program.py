"""The azure-v2 stack under mocks: every resource and its key properties, the dependency order
(extension → compute → endpoint → deployment → traffic), secrets, and blue/green as the program
renders it from what the (fake) endpoint serves.

Azure is faked by `harness.program.AzureMocks` (ARM-shaped ids; online endpoint reads answer
"not found", i.e. a first run); `ServingMocks` answers them with a live endpoint instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

from config import ConfigError
from deployment.hashing import tree_sha256
from harness.program import (
    ARM_DEPLOYMENT,
    BLOB,
    CLUSTER,
    CODE_VERSION,
    COMPUTE,
    DETACHMENT_TYPE,
    DEVICE_PLUGIN,
    ENDPOINT,
    ENVIRONMENT_VERSION,
    EXTENSION,
    FAKE_ENDPOINT_KEYS,
    FAKE_SUBSCRIPTION,
    FAKE_WORKSPACE_GUID,
    INSTANCE_TYPE,
    MODEL_DEPLOYMENT_TYPE,
    MODEL_VERSION,
    NAMESPACE,
    ONLINE_DEPLOYMENT,
    PROJECT_ROOT,
    TRAFFIC_DRAIN_TYPE,
    AzureMocks,
    ProgramRun,
    Registration,
    run_program,
    stack_config,
)
from v2.rollout import SPEC_TAG

ML = "azure-native:machinelearningservices"  # the module of the functions the mocks answer
# The registered types, by this file's short names for them.
CODE, MODEL, ENVIRONMENT = CODE_VERSION, MODEL_VERSION, ENVIRONMENT_VERSION
DEPLOYMENT, TRAFFIC = ONLINE_DEPLOYMENT, ARM_DEPLOYMENT


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = tmp_path_factory.mktemp("model")
    (model / "saved_model.pb").write_bytes(b"graph")
    (model / "variables").mkdir()
    (model / "variables" / "variables.index").write_bytes(b"index")
    return model


def v2_config(model_dir: Path, **overrides: Any) -> dict[str, Any]:
    config = stack_config("dev-v2")
    config["aml-gpu-inference:model"] = {"name": "mnist-dnn", "dir": str(model_dir)}
    for key, value in overrides.items():
        config[f"aml-gpu-inference:{key}"] = value
    return config


# The stack file updates in place on its 3 GPUs; blue/green needs a pool that holds both colours.
BLUE_GREEN = {
    "cluster": {"vmSize": "Standard_NC4as_T4_v3", "nodeCount": 6},
    "rollout": {"strategy": "blueGreen", "trafficSteps": [10, 100]},
}


def blue_green_config(model_dir: Path, **overrides: Any) -> dict[str, Any]:
    return v2_config(model_dir, **{**BLUE_GREEN, **overrides})


class ServingMocks(AzureMocks):
    """An endpoint that serves already: `traffic` and the spec tag of each existing colour."""

    def __init__(self, traffic: dict[str, int], specs: dict[str, str]) -> None:
        self.traffic, self.specs = traffic, specs

    def call(self, args):  # type: ignore[no-untyped-def]
        if args.token == f"{ML}:getOnlineEndpoint":
            return {
                "name": args.args["endpointName"],
                "properties": {"authMode": "Key", "traffic": self.traffic},
            }
        if args.token == f"{ML}:getOnlineDeployment":
            colour = args.args["deploymentName"]
            if colour not in self.specs:
                return {}, [("", 'Status=404 Code="ResourceNotFound"')]
            return {"name": colour, "tags": {SPEC_TAG: self.specs[colour]}, "properties": {}}
        return super().call(args)


@pytest.fixture(scope="module")
def first(model_dir: Path) -> ProgramRun:
    return run_program(v2_config(model_dir), stack="dev-v2")


@pytest.fixture(scope="module")
def spec(first: ProgramRun) -> str:
    return first.one(DEPLOYMENT).inputs["tags"][SPEC_TAG]


def unwrap(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


def by_name(run: ProgramRun, type_: str) -> dict[str, Registration]:
    return {r.name: r for r in run.of_type(type_)}


# --- what the stack declares -----------------------------------------------------------------------


def test_the_v2_stack_declares_its_own_cluster_and_no_v1_parts(first: ProgramRun):
    for type_ in (CLUSTER, EXTENSION, NAMESPACE, INSTANCE_TYPE, DEVICE_PLUGIN, COMPUTE, CODE, MODEL):
        first.one(type_)
    first.one(ENVIRONMENT), first.one(ENDPOINT), first.one(DEPLOYMENT)
    assert first.of_type(MODEL_DEPLOYMENT_TYPE) == []  # no dynamic provider on v2
    assert first.one(COMPUTE).inputs["properties"]["computeType"] == "Kubernetes"  # no v1 AKS attach
    assert first.one(CLUSTER).inputs["agentPoolProfiles"][0]["vmSize"] == "Standard_NC4as_T4_v3"


def test_the_extension_is_azureml_with_the_pinned_settings_for_this_cluster(first: ProgramRun):
    cluster, extension = first.one(CLUSTER), first.one(EXTENSION)
    inputs = extension.inputs
    assert inputs["extensionType"] == "Microsoft.AzureML.Kubernetes"
    assert inputs["scope"] == {"cluster": {"releaseNamespace": "azureml"}}
    assert inputs["identity"] == {"type": "SystemAssigned"}
    assert (inputs["clusterRp"], inputs["clusterResourceName"]) == (
        "Microsoft.ContainerService",
        "managedClusters",
    )
    assert inputs["clusterName"] == cluster.outputs["name"]
    settings = inputs["configurationSettings"]
    assert settings["clusterId"] == settings["cluster_name"] == cluster.id
    assert settings["enableInference"] == "True" and settings["allowInsecureConnections"] == "True"
    assert settings["inferenceRouterHA"] == "True"  # 3 nodes
    assert settings["location"] == settings["jobSchedulerLocation"] == "eastus"
    assert "configurationProtectedSettings" not in inputs or not inputs["configurationProtectedSettings"]


def test_the_compute_is_kubernetes_on_this_cluster_in_the_namespace(first: ProgramRun):
    cluster, compute = first.one(CLUSTER), first.one(COMPUTE)
    properties = compute.inputs["properties"]
    assert properties["resourceId"] == cluster.id
    # Nothing a routine change touches: an attached Kubernetes compute can't be updated.
    assert properties["properties"] == {"namespace": "amlgpu-online"}
    assert "tags" not in compute.inputs
    assert first.one(NAMESPACE).inputs["metadata"]["name"] == "amlgpu-online"


def test_the_instance_type_is_the_how_tos_2_cpu_4_gb_1_gpu_on_the_gpu_pool(first: ProgramRun):
    instance_type = first.one(INSTANCE_TYPE).inputs
    assert instance_type["metadata"]["name"] == "gpu1-cpu2-mem4"
    assert instance_type["spec"]["nodeSelector"] == {"agentpool": "gpupool"}
    assert instance_type["spec"]["resources"]["limits"] == {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": 1}


def test_assets_are_uploaded_and_versioned_by_content(first: ProgramRun, model_dir: Path):
    container = f"azureml-blobstore-{FAKE_WORKSPACE_GUID}"
    blobs = [r.inputs for r in first.of_type(BLOB)]
    assert {b["containerName"] for b in blobs} == {container}
    assert {b["accountName"] for b in blobs} == {"stfake"}
    code, model = first.one(CODE).inputs, first.one(MODEL).inputs
    model_blobs = sorted(b["blobName"] for b in blobs if b["blobName"].startswith("models/"))
    version = model["version"]
    assert model_blobs == [
        f"models/mnist-dnn/{version}/model/saved_model.pb",
        f"models/mnist-dnn/{version}/model/variables/variables.index",
    ]
    assert model["properties"]["modelUri"] == (
        f"azureml://subscriptions/{FAKE_SUBSCRIPTION}/resourcegroups/{first.one(COMPUTE).inputs['resourceGroupName']}"
        f"/workspaces/{first.one(COMPUTE).inputs['workspaceName']}/datastores/workspaceblobstore"
        f"/paths/models/mnist-dnn/{version}/model"
    )
    assert any(b["blobName"] == f"code/aks-dnn-mnist-code/{code['version']}/score.py" for b in blobs)
    assert code["properties"]["codeUri"] == (
        f"https://stfake.blob.core.windows.net/{container}/code/aks-dnn-mnist-code/{code['version']}"
    )
    environment = first.one(ENVIRONMENT).inputs
    assert (
        environment["properties"]["condaFile"]
        == (PROJECT_ROOT / "model_service" / "environment.yml").read_text()
    )
    assert environment["properties"]["image"].startswith("mcr.microsoft.com/azureml/")
    # Each version depends on its uploads, so it never points at a missing blob.
    code_blobs = {r.urn for r in first.of_type(BLOB) if r.inputs["blobName"].startswith("code/")}
    assert code_blobs <= set(first.one(CODE).dependencies)


def test_a_changed_model_makes_a_new_model_version_and_a_new_spec(
    first: ProgramRun, tmp_path: Path, spec: str
):
    changed = tmp_path / "model"
    changed.mkdir()
    (changed / "saved_model.pb").write_bytes(b"other graph")
    run = run_program(v2_config(changed), stack="dev-v2")
    assert run.one(MODEL).inputs["version"] != first.one(MODEL).inputs["version"]
    assert run.one(DEPLOYMENT).inputs["tags"][SPEC_TAG] != spec


def test_the_endpoint_uses_key_auth_on_the_kubernetes_compute(first: ProgramRun):
    endpoint = first.one(ENDPOINT)
    assert endpoint.inputs["properties"]["authMode"] == "Key"
    assert endpoint.inputs["properties"]["compute"] == first.one(COMPUTE).id
    assert "traffic" not in endpoint.inputs["properties"]  # nothing serves before the first run
    assert endpoint.ignore_changes == ()  # never a stale traffic map from state
    assert endpoint.inputs["tags"]["owner"] == "ml-platform"


def test_every_endpoint_put_carries_the_traffic_that_serves_now(model_dir: Path, spec: str):
    # A tag bump on a serving endpoint PUTs it: without `traffic` the PUT would reset it to 0%.
    serving = ServingMocks({"blue": 90, "green": 10, "gone": 0}, {"blue": spec, "green": "older"})
    run = run_program(
        blue_green_config(model_dir, tags={"owner": "ml-platform", "expires-on": "2027-01-31"}),
        stack="dev-v2",
        mocks=serving,
    )
    assert run.one(ENDPOINT).inputs["properties"]["traffic"] == {"blue": 90, "green": 10}


def test_the_deployment_is_pinned_to_the_instance_type_and_replicas(first: ProgramRun):
    deployment = first.one(DEPLOYMENT)
    properties = deployment.inputs["properties"]
    assert deployment.name == "online-blue" and deployment.inputs["deploymentName"] == "blue"
    assert deployment.inputs["sku"] == {"name": "Default", "capacity": 3}
    assert properties["endpointComputeType"] == "Kubernetes"
    assert properties["instanceType"] == "gpu1-cpu2-mem4"
    assert properties["scaleSettings"] == {"scaleType": "Default"}
    # v2's default request timeout is 5 s: it must be the v1 scoring timeout.
    assert properties["requestSettings"]["requestTimeout"] == "PT60S"
    # As many requests at once as the inference server has workers (docs/scoring.md, Workers).
    assert properties["requestSettings"]["maxConcurrentRequestsPerInstance"] == 1
    assert properties["environmentVariables"]["WORKER_COUNT"] == "1"  # 4 GB hold one GPU worker
    assert properties["codeConfiguration"] == {"codeId": first.one(CODE).id, "scoringScript": "score.py"}
    assert properties["model"] == first.one(MODEL).id
    assert properties["environmentId"] == first.one(ENVIRONMENT).id
    # Liveness waits out the slowest start; readiness asks early, so a loaded replica serves soon.
    assert properties["livenessProbe"]["initialDelay"] == "PT120S"
    assert properties["livenessProbe"]["failureThreshold"] == 30
    assert properties["readinessProbe"]["initialDelay"] == "PT10S"
    assert properties["readinessProbe"]["period"] == "PT5S"


def test_dependency_order_extension_compute_endpoint_deployment_traffic(model_dir: Path):
    first = run_program(blue_green_config(model_dir), stack="dev-v2")
    steps = by_name(first, TRAFFIC)
    chain = [
        first.one(f"{ML}:Workspace"),  # the cluster goes first on destroy, then the workspace
        first.one(CLUSTER),
        first.one(EXTENSION),
        first.one(INSTANCE_TYPE),
        first.one(COMPUTE),
        first.one(ENDPOINT),
        first.one(DEPLOYMENT),
        steps["online-traffic-10"],
        steps["online-traffic"],
    ]
    for later, earlier in zip(chain[1:], chain, strict=False):
        assert first.depends_transitively(later, earlier), f"{later.name} does not wait for {earlier.name}"
        assert not first.depends_transitively(earlier, later), f"{earlier.name} waits for {later.name}"


def test_the_first_run_puts_all_traffic_on_blue(first: ProgramRun):
    steps = by_name(first, TRAFFIC)
    final = steps["online-traffic"].inputs["properties"]["template"]["resources"][0]
    assert final["properties"]["traffic"] == {"blue": 100}
    assert final["name"].endswith("/aks-dnn-mnist-" + final["name"].rsplit("-", 1)[1])
    assert list(steps) == ["online-traffic"]  # in place: no intermediate steps
    assert first.outputs["live_colour"].value == "" and first.outputs["serving_colour"].value == "blue"


def test_keys_are_exported_only_as_secrets(first: ProgramRun):
    for name, key in (("primary_key", "primaryKey"), ("secondary_key", "secondaryKey")):
        assert first.outputs[name].secret and first.outputs[name].value == FAKE_ENDPOINT_KEYS[key]
    assert first.outputs["kubeconfig"].secret
    assert not first.outputs["scoring_uri"].secret
    assert first.outputs["scoring_uri"].value.endswith("/score")
    for registration in first.registrations:
        text = repr({k: unwrap(v) for k, v in registration.inputs.items()})
        assert FAKE_ENDPOINT_KEYS["primaryKey"] not in text, registration.name


def test_tls_sends_the_cname_and_the_certificate_only_as_protected_secret_settings(model_dir: Path):
    certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    key = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"
    config = v2_config(
        model_dir,
        cluster={"vmSize": "Standard_NC4as_T4_v3", "nodeCount": 3, "ssl": {"cname": "ml.example.com"}},
        sslCertificate=certificate,
        sslKey=key,
    )
    run = run_program(config, stack="dev-v2", secret_keys=["sslCertificate", "sslKey"])
    extension = run.one(EXTENSION).inputs
    assert extension["configurationSettings"]["sslCname"] == "ml.example.com"
    assert "allowInsecureConnections" not in extension["configurationSettings"]
    protected = extension["configurationProtectedSettings"]
    assert rpc.is_rpc_secret(protected)
    assert set(unwrap(protected)) == {"scoringFe.sslCert", "scoringFe.sslKey"}
    assert certificate not in repr(extension["configurationSettings"])


def test_token_auth_makes_an_aml_token_endpoint_without_keys(model_dir: Path):
    service = {"authEnabled": False, "tokenAuthEnabled": True}
    run = run_program(v2_config(model_dir, service=service), stack="dev-v2")
    assert run.one(ENDPOINT).inputs["properties"]["authMode"] == "AMLToken"
    assert run.outputs["primary_key"].secret and run.outputs["primary_key"].value == ""


# --- blue/green --------------------------------------------------------------------------------------


def test_an_unchanged_stack_keeps_blue_and_moves_no_traffic(model_dir: Path, spec: str):
    run = run_program(
        blue_green_config(model_dir), stack="dev-v2", mocks=ServingMocks({"blue": 100}, {"blue": spec})
    )
    assert list(by_name(run, DEPLOYMENT)) == ["online-blue"]
    steps = by_name(run, TRAFFIC)
    assert steps["online-traffic"].inputs["properties"]["template"]["resources"][0]["properties"][
        "traffic"
    ] == {"blue": 100}
    assert steps["online-traffic-10"].ignore_changes == ("properties",)
    assert (run.outputs["live_colour"].value, run.outputs["serving_colour"].value) == ("blue", "blue")


def test_a_change_creates_green_shifts_traffic_then_leaves_blue_to_be_deleted(model_dir: Path):
    run = run_program(
        blue_green_config(model_dir), stack="dev-v2", mocks=ServingMocks({"blue": 100}, {"blue": "old"})
    )
    # create-new: only green is declared; blue, no longer declared, is deleted by the engine last.
    assert list(by_name(run, DEPLOYMENT)) == ["online-green"]
    green = run.one(DEPLOYMENT)
    steps = by_name(run, TRAFFIC)
    shift, final = steps["online-traffic-10"], steps["online-traffic"]
    traffic = [
        s.inputs["properties"]["template"]["resources"][0]["properties"]["traffic"] for s in (shift, final)
    ]
    # shift: 10% to green beside blue, then all of it; each step after green and after the previous.
    assert traffic == [{"green": 10, "blue": 90}, {"green": 100}]
    assert shift.ignore_changes == () and final.ignore_changes == ()
    assert run.depends_transitively(shift, green) and run.depends_transitively(final, shift)
    assert (run.outputs["live_colour"].value, run.outputs["serving_colour"].value) == ("blue", "green")


def test_a_stack_serving_green_rolls_the_next_change_out_to_blue(model_dir: Path):
    run = run_program(
        blue_green_config(model_dir), stack="dev-v2", mocks=ServingMocks({"green": 100}, {"green": "old"})
    )
    assert list(by_name(run, DEPLOYMENT)) == ["online-blue"]
    assert run.outputs["serving_colour"].value == "blue"


# --- in place (the stack file's strategy on exactly 3 GPUs) -----------------------------------------


def test_in_place_a_change_updates_the_live_colour_and_declares_no_second_one(model_dir: Path, spec: str):
    run = run_program(
        v2_config(model_dir), stack="dev-v2", mocks=ServingMocks({"green": 100}, {"green": "old"})
    )
    (deployment,) = run.of_type(DEPLOYMENT)
    assert deployment.name == "online-green" and deployment.inputs["tags"][SPEC_TAG] == spec
    assert deployment.inputs["sku"]["capacity"] == 3  # never more than the 3 GPUs hold
    steps = by_name(run, TRAFFIC)
    assert list(steps) == ["online-traffic"]
    assert steps["online-traffic"].inputs["properties"]["template"]["resources"][0]["properties"][
        "traffic"
    ] == {"green": 100}
    assert (run.outputs["live_colour"].value, run.outputs["serving_colour"].value) == ("green", "green")


def test_in_place_a_leftover_second_colour_is_retired(model_dir: Path, spec: str):
    mocks = ServingMocks({"blue": 100}, {"blue": "old", "green": "older"})
    run = run_program(v2_config(model_dir), stack="dev-v2", mocks=mocks)
    assert list(by_name(run, DEPLOYMENT)) == ["online-blue"]  # green, undeclared, is deleted last


# --- bad configs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"rollout": {"trafficSteps": [50, 10, 100]}},
            "aml-gpu-inference:rollout.trafficSteps = [50, 10, 100]",
        ),
        ({"rollout": {"trafficSteps": [10, 90]}}, "aml-gpu-inference:rollout.trafficSteps = [10, 90]"),
        (
            {"service": {"replicas": 4, "cpuCores": 2, "memoryGb": 4, "gpuCores": 1}},
            "aml-gpu-inference:service.replicas = 4: ≤ 3",
        ),
        (
            {"rollout": {"strategy": "blueGreen"}},
            "aml-gpu-inference:rollout.strategy = 'blueGreen': the blue/green update (both colours at "
            "once) needs 6 GPUs (2 × 3 replicas × 1 GPU), but the pool has 3 × Standard_NC4as_T4_v3 = 3 "
            "GPUs",
        ),
        (
            {"rollout": {"strategy": "inPlace", "trafficSteps": [10, 100]}},
            "aml-gpu-inference:rollout.trafficSteps = [10, 100]: [100] (unset) with rollout.strategy inPlace",
        ),
        ({"rollout": {"strategy": "canary"}}, "aml-gpu-inference:rollout.strategy = 'canary': one of "),
        ({"service": {"cpuCores": 8}}, "aml-gpu-inference:service.cpuCores = 8"),
        ({"service": {"authEnabled": False}}, "aml-gpu-inference:service.authEnabled = false"),
        (
            {"service": {"autoscale": {"enabled": True, "maxReplicas": 2}}},
            "aml-gpu-inference:service.autoscale.enabled = true",
        ),
        (
            {"cluster": {"ssl": {"leafDomainLabel": "mnist"}}},
            "aml-gpu-inference:cluster.ssl.leafDomainLabel = 'mnist'",
        ),
        ({"target": "azure-v3"}, "aml-gpu-inference:target = 'azure-v3': one of "),
        (
            {"tags": {"owner": "me"}},
            "aml-gpu-inference:tags.expires-on = null: required on the azure-v2 target",
        ),
        ({"target": "local", "rollout": {"trafficSteps": [100]}}, "aml-gpu-inference:rollout = "),
    ],
)
def test_bad_v2_configs_are_rejected_by_value(model_dir: Path, overrides: dict[str, Any], expected: str):
    with pytest.raises(ConfigError) as raised:
        run_program(v2_config(model_dir, **overrides), stack="dev-v2")
    assert expected in str(raised.value)


def test_the_deployment_runs_with_the_scoring_settings_and_a_change_rolls_out_a_new_colour(
    model_dir: Path, first: ProgramRun, spec: str
):
    assert first.one(DEPLOYMENT).inputs["properties"]["environmentVariables"] == {
        "SCORE_MAX_BATCH": "1024",
        "SCORE_MAX_BODY_BYTES": str(32 * 1024**2),
        "SCORE_WARMUP_BATCHES": "1,8,256,1024",
        "SCORE_TF_THREADS": "1",
        "SCORE_FORWARD": "auto",
        "SCORE_GPU_MIN_BATCH": "64",
        "SCORE_REQUIRE_GPU": "true",  # 1 GPU per replica: a replica without one fails its start
        "WORKER_COUNT": "1",
    }

    changed = run_program(
        blue_green_config(model_dir, scoring={"maxBatch": 64}),
        stack="dev-v2",
        mocks=ServingMocks(traffic={"blue": 100}, specs={"blue": spec}),
    )

    green = by_name(changed, DEPLOYMENT)["online-green"]
    assert green.inputs["properties"]["environmentVariables"]["SCORE_MAX_BATCH"] == "64"
    assert green.inputs["properties"]["environmentVariables"]["SCORE_WARMUP_BATCHES"] == "1,8,64"
    assert green.inputs["tags"][SPEC_TAG] != spec


# --- immutable versions and computes that can't be updated ------------------------------------------


def test_the_model_version_is_a_positive_integer_stable_for_its_content(first: ProgramRun, model_dir: Path):
    version = first.one(MODEL).inputs["version"]
    assert version.isdigit() and 1 <= int(version) < 2**31
    again = run_program(v2_config(model_dir), stack="dev-v2")
    assert again.one(MODEL).inputs["version"] == version
    assert again.one(MODEL).inputs["properties"]["properties"]["amlgpu-content-sha256"] == tree_sha256(
        model_dir
    )


def test_a_tag_bump_changes_no_version_nor_the_compute(first: ProgramRun, model_dir: Path):
    bumped = run_program(
        v2_config(model_dir, tags={"owner": "ml-platform", "expires-on": "2027-01-31"}), stack="dev-v2"
    )
    for type_ in (MODEL, CODE, ENVIRONMENT, COMPUTE):
        assert bumped.one(type_).inputs == first.one(type_).inputs, type_
        assert "tags" not in bumped.one(type_).inputs.get("properties", {}), type_


def test_a_new_base_image_makes_a_new_environment_version(model_dir: Path, monkeypatch: pytest.MonkeyPatch):
    import v2.assets as assets

    before = assets.asset_versions(
        model_dir, PROJECT_ROOT / "model_service", PROJECT_ROOT / "model_service/environment.yml"
    )
    monkeypatch.setattr(
        assets, "GPU_BASE_IMAGE", "mcr.microsoft.com/azureml/openmpi5.0-cuda12.5-ubuntu22.04:20260101.v1"
    )
    after = assets.asset_versions(
        model_dir, PROJECT_ROOT / "model_service", PROJECT_ROOT / "model_service/environment.yml"
    )
    assert after.environment != before.environment
    assert (after.model, after.code) == (before.model, before.code)


def _leaf_paths(value: object, prefix: str = "") -> set[str]:
    if isinstance(value, dict) and value:
        return {p for k, v in value.items() for p in _leaf_paths(v, f"{prefix}.{k}" if prefix else k)}
    return {prefix}


def test_the_compute_is_replaced_on_what_it_sends_and_detached_by_its_own_step(first: ProgramRun):
    compute = first.one(COMPUTE)
    # Azure can't update an attached compute: every value it sends replaces it, delete first.
    sent = _leaf_paths(
        {
            k: v
            for k, v in compute.inputs.items()
            if k not in ("computeName", "resourceGroupName", "workspaceName")
        }
    )
    covered = lambda path, by: any(path == p or path.startswith(p + ".") for p in by)  # noqa: E731
    assert all(covered(path, compute.replace_on_changes) for path in sent), sent
    assert not any(covered(path, compute.ignore_changes) for path in sent)
    assert compute.delete_before_replace and compute.retain_on_delete
    detachment = first.one(DETACHMENT_TYPE)
    assert detachment.inputs["compute_id"] == compute.id
    assert detachment.inputs.get("legacy_router_kubeconfig") is None  # no v1 router on v2
    # The endpoint (and so its deployments) goes before the detach; a new compute replaces it.
    assert first.depends_transitively(first.one(ENDPOINT), detachment)
    assert first.depends_transitively(first.one(DEPLOYMENT), detachment)
    assert first.one(ENDPOINT).replace_on_changes == ("properties.compute",)
    assert first.one(ENDPOINT).delete_before_replace


def test_a_vm_size_change_reaches_everything_on_the_cluster(first: ProgramRun):
    # The engine replaces, delete first, what depends on a replaced resource's changed output:
    # so each of these must take the cluster's identity from it, and replace on it.
    cluster = first.one(CLUSTER)
    assert "agentPoolProfiles[*].vmSize" in cluster.replace_on_changes and cluster.delete_before_replace
    compute = first.one(COMPUTE)
    assert cluster.urn in compute.property_dependencies["properties"]
    endpoint = first.one(ENDPOINT)
    assert compute.urn in endpoint.property_dependencies["properties"]
    assert endpoint.urn in first.one(DEPLOYMENT).property_dependencies["endpointName"]
    assert cluster.urn in first.one(EXTENSION).property_dependencies["clusterName"]


def test_a_stack_tag_change_alone_does_not_put_the_live_deployment(first: ProgramRun):
    """A PUT may roll the pods (and need a GPU to spare): only the spec tag is diffed."""
    deployment = first.one(DEPLOYMENT)
    assert set(deployment.inputs["tags"]) == {"owner", "expires-on", SPEC_TAG}
    assert sorted(deployment.ignore_changes) == ['tags["expires-on"]', 'tags["owner"]']


def test_destroy_drains_the_traffic_before_any_deployment_or_step_is_deleted(first: ProgramRun):
    drain = first.one(TRAFFIC_DRAIN_TYPE)
    assert drain.inputs["api_version"] == "2025-12-01"
    # The engine deletes in reverse dependency order: what the drain waits for goes after it.
    for waited in (first.one(DEPLOYMENT), first.one(ENDPOINT), *first.of_type(TRAFFIC)):
        assert first.depends_transitively(drain, waited), waited.name
