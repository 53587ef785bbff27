"""The stack config: defaults, parsing, and every validation rule with its exact message."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from config import NAMESPACE, ConfigError, Secret, load_stack_config
from deployment.settings import Autoscale, ServiceSettings
from deployment.targets import LocalTarget
from rules.gpu_sizes import GPU_SIZES, RETIRED_GPU_SIZES

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TAGS = {"owner": "ml-platform", "expires-on": "2026-12-31"}
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
PEM_KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def azure(**overrides: Any) -> dict[str, Any]:
    """A valid azure stack's config (the how-to's settings) with top-level keys replaced."""
    values: dict[str, Any] = {"target": "azure", "tags": dict(TAGS)}
    values.update(overrides)
    return values


def problems(source: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(source, stack="dev", secret_keys=secret_keys)
    return [str(problem) for problem in caught.value.problems]


def the_problem(source: dict[str, Any], secret_keys: tuple[str, ...] = ()) -> str:
    found = problems(source, secret_keys)
    assert len(found) == 1, found
    return found[0]


# --- defaults and parsing -----------------------------------------------------------------------


def test_empty_config_is_the_local_target_with_the_how_tos_service_settings():
    cfg = load_stack_config({}, stack="local")
    assert cfg.target == "local"
    assert cfg.service == ServiceSettings(
        replicas=3, cpu_cores=2.0, memory_gb=4.0, gpu_cores=1, autoscale=Autoscale(enabled=False), auth="key"
    )
    assert cfg.service_name == "aks-dnn-mnist"
    assert cfg.model_name == "mnist-dnn"
    assert cfg.model_dir == PROJECT_ROOT / "artifacts" / "model"
    assert cfg.model_dir.is_absolute()
    assert cfg.local_target == LocalTarget()
    assert cfg.tags == {}
    assert cfg.environment_file == PROJECT_ROOT / "model_service" / "requirements.txt"


def test_engine_strings_and_json_objects_parse_like_native_values():
    engine_style = {
        f"{NAMESPACE}:target": "azure",
        f"{NAMESPACE}:tags": '{"owner": "me", "expires-on": "2027-01-31"}',
        f"{NAMESPACE}:service": '{"replicas": "2", "cpuCores": "1.5", "authEnabled": "false", '
        '"tokenAuthEnabled": "true", "autoscale": {"enabled": "false"}}',
        f"{NAMESPACE}:cluster": '{"nodeCount": "2"}',
        "azure-native:location": "westeurope",
        "other-project:key": "ignored",
    }
    cfg = load_stack_config(engine_style, stack="dev")
    assert cfg.target == "azure"
    assert cfg.location == "westeurope"  # from azure-native:location when not set here
    assert cfg.tags == {"owner": "me", "expires-on": "2027-01-31"}
    assert (cfg.service.replicas, cfg.service.cpu_cores, cfg.service.auth) == (2, 1.5, "token")
    assert cfg.cluster.node_count == 2
    assert cfg.local_target is None
    assert cfg.environment_file == PROJECT_ROOT / "model_service" / "environment.yml"


def test_local_target_keys_resolve_paths_against_the_project_root(tmp_path: Path):
    cfg = load_stack_config(
        {"local": {"python": ".venv-scoring/bin/python", "stateDir": str(tmp_path), "workers": 2}},
        stack="local",
    )
    assert cfg.local_target == LocalTarget(
        python=str(PROJECT_ROOT / ".venv-scoring" / "bin" / "python"), state_dir=str(tmp_path), workers=2
    )


def test_vm_size_is_matched_case_insensitively_and_stored_canonically():
    cfg = load_stack_config(azure(cluster={"vmSize": "standard_nc4AS_t4_v3"}), stack="dev")
    assert cfg.cluster.vm_size == "Standard_NC4as_T4_v3"


def test_name_suffix_is_what_config_sets_else_left_to_the_program():
    # The default needs the deployer's subscription: naming.default_name_suffix, in the program.
    assert load_stack_config(azure(), stack="dev").name_suffix is None
    assert load_stack_config(azure(nameSuffix="a1b2c3"), stack="dev").name_suffix == "a1b2c3"


def test_adopting_a_workspace():
    existing = {
        "subscriptionId": "00000000-0000-4000-8000-00000000000a",
        "resourceGroup": "rg-ml",
        "name": "mlw",
    }
    cfg = load_stack_config(azure(workspace={"existing": existing}), stack="dev")
    assert cfg.existing_workspace is not None
    assert (cfg.existing_workspace.resource_group, cfg.existing_workspace.name) == ("rg-ml", "mlw")


def test_ssl_certificate_and_key_come_only_from_secret_config_and_never_show():
    source = azure(sslCertificate=PEM_CERT, sslKey=PEM_KEY, cluster={"ssl": {"cname": "ml.example.com"}})
    cfg = load_stack_config(source, stack="dev", secret_keys=(f"{NAMESPACE}:sslCertificate", "sslKey"))
    assert cfg.cluster.ssl is not None
    assert isinstance(cfg.cluster.ssl.key, Secret)
    assert cfg.cluster.ssl.key.reveal() == PEM_KEY
    assert "PRIVATE KEY" not in repr(cfg)


# --- each rule, its exact message ---------------------------------------------------------------


def test_retired_vm_size_is_rejected_with_its_replacement():
    assert the_problem(azure(cluster={"vmSize": "Standard_NC6"})) == (
        "aml-gpu-inference:cluster.vmSize = 'Standard_NC6': "
        "retired by Azure; use Standard_NC4as_T4_v3 (same GPUs per VM)"
    )
    assert the_problem(azure(cluster={"vmSize": "Standard_NC6s_v3"})) == (
        "aml-gpu-inference:cluster.vmSize = 'Standard_NC6s_v3': "
        "retired by Azure; use Standard_NC24ads_A100_v4 (same GPUs per VM)"
    )


@pytest.mark.parametrize("retired", list(RETIRED_GPU_SIZES))
def test_every_retired_size_is_refused_with_a_replacement_that_config_accepts(retired: str):
    message = the_problem(azure(cluster={"vmSize": retired.lower()}, service={"replicas": 1}))
    replacement = message.partition("retired by Azure; use ")[2].partition(" ")[0]
    cfg = load_stack_config(azure(cluster={"vmSize": replacement}, service={"replicas": 1}), stack="dev")
    assert cfg.cluster.vm_size == replacement


def test_unknown_vm_size_lists_the_current_gpu_sizes():
    message = the_problem(azure(cluster={"vmSize": "Standard_D4s_v5"}))
    assert message == (
        "aml-gpu-inference:cluster.vmSize = 'Standard_D4s_v5': one of the current GPU sizes: "
        + ", ".join(GPU_SIZES)
    )
    for size in (
        "Standard_NC4as_T4_v3",
        "Standard_NC64as_T4_v3",
        "Standard_NC96ads_A100_v4",
        "Standard_NC80adis_H100_v5",
    ):
        assert size in message


def test_replicas_times_gpus_beyond_the_pool_is_rejected():
    message = the_problem(azure(cluster={"nodeCount": 2}, service={"replicas": 3}))
    assert message == (
        "aml-gpu-inference:service.replicas = 3: ≤ 2: 3 × 1 GPU = 3 GPUs, but the pool has "
        "2 × Standard_NC4as_T4_v3 = 2 GPUs (AKS pods can't share a GPU)"
    )


def test_with_autoscale_the_maximum_replicas_must_fit_the_pool():
    service = {"autoscale": {"enabled": True, "minReplicas": 1, "maxReplicas": 4}}
    assert the_problem(azure(service=service)) == (
        "aml-gpu-inference:service.autoscale.maxReplicas = 4: ≤ 3: 4 × 1 GPU = 4 GPUs, but the pool has "
        "3 × Standard_NC4as_T4_v3 = 3 GPUs (AKS pods can't share a GPU)"
    )
    # Fits on a pool with more GPUs per node: 2 nodes × 4 GPUs.
    cfg = load_stack_config(
        azure(service=service, cluster={"vmSize": "Standard_NC64as_T4_v3", "nodeCount": 2}), stack="d"
    )
    assert cfg.service.autoscale.max_replicas == 4


def test_a_replica_must_fit_on_one_node():
    assert problems(azure(service={"gpuCores": 2, "replicas": 1, "cpuCores": 8, "memoryGb": 64})) == [
        "aml-gpu-inference:service.gpuCores = 2: ≤ 1: a Standard_NC4as_T4_v3 node has 1",
        "aml-gpu-inference:service.cpuCores = 8.0: ≤ 3.86: a Standard_NC4as_T4_v3 node has 4 vCPUs, "
        "3.86 of them allocatable to pods",
        "aml-gpu-inference:service.memoryGb = 64.0: ≤ 23.94: a Standard_NC4as_T4_v3 node has 28 GiB, "
        "23.94 allocatable to pods",
    ]


def test_fast_prod_needs_three_nodes_and_twelve_vcpus():
    assert problems(azure(cluster={"purpose": "FastProd", "nodeCount": 2}, service={"replicas": 2})) == [
        "aml-gpu-inference:cluster.nodeCount = 2: ≥ 3 with purpose FastProd",
        "aml-gpu-inference:cluster.vmSize = 'Standard_NC4as_T4_v3': FastProd needs ≥ 12 vCPUs in total; "
        "2 × Standard_NC4as_T4_v3 has 8",
    ]
    # 3 × 4 vCPUs is exactly enough.
    assert (
        load_stack_config(azure(cluster={"purpose": "FastProd"}), stack="dev").cluster.purpose == "FastProd"
    )


def test_service_name_rule():
    for bad in ("ab", "A-service", "my_service", "-leading", "trailing-", "x" * 33, "9starts-with-digit"):
        assert the_problem(azure(service={"name": bad})) == (
            f"aml-gpu-inference:service.name = {bad!r}: 3–32 lowercase letters, digits and dashes, "
            "starting with a letter and not ending with a dash"
        )
    for good in ("abc", "aks-dnn-mnist", "a" * 32, "svc-2"):
        assert load_stack_config(azure(service={"name": good}), stack="dev").service_name == good


def test_key_auth_and_token_auth_both_on():
    assert the_problem(azure(service={"authEnabled": True, "tokenAuthEnabled": True})) == (
        "aml-gpu-inference:service.tokenAuthEnabled = true: "
        "not together with service.authEnabled = true: choose key auth or token auth"
    )


def test_autoscale_min_greater_than_max():
    service = {"autoscale": {"enabled": True, "minReplicas": 3, "maxReplicas": 2}}
    assert the_problem(azure(service=service)) == (
        "aml-gpu-inference:service.autoscale.minReplicas = 3: ≤ service.autoscale.maxReplicas (2)"
    )


@pytest.mark.parametrize(
    ("key", "value", "allowed"),
    [
        ("replicas", 0, "a whole number ≥ 1"),
        ("replicas", -1, "a whole number ≥ 1"),
        ("replicas", 1.5, "a whole number ≥ 1"),
        ("gpuCores", 0, "a whole number ≥ 1"),
        ("cpuCores", 0, "a number > 0"),
        ("cpuCores", -0.5, "a number > 0"),
        ("memoryGb", 0, "a number > 0"),
        ("scoringTimeoutMs", 0, "a whole number ≥ 1"),
        ("maxConcurrentRequestsPerReplica", 0, "a whole number ≥ 1"),
    ],
)
def test_zero_or_negative_resources(key: str, value: Any, allowed: str):
    shown = str(float(value)) if isinstance(value, float) else str(value)
    assert the_problem(azure(service={key: value})) == f"aml-gpu-inference:service.{key} = {shown}: {allowed}"


def test_required_tags_on_azure_and_their_format():
    assert problems({"target": "azure"}) == [
        "aml-gpu-inference:tags.owner = null: required on the azure target: a non-empty string",
        "aml-gpu-inference:tags.expires-on = null: required on the azure target: a non-empty string",
    ]
    for bad, this_is in (
        ("31/12/2026", "neither"),
        ("2026-02-30", "not a calendar date (day is out of range for month)"),
        ("2026-12-24T18:00:00", "a timestamp with no UTC offset, so its instant is ambiguous"),
    ):
        assert the_problem(azure(tags={"owner": "me", "expires-on": bad})) == (
            f"aml-gpu-inference:tags.expires-on = {bad!r}: "
            f"a date YYYY-MM-DD (inclusive, UTC) or an ISO 8601 timestamp with an offset; this is {this_is}"
        )


@pytest.mark.parametrize("expires_on", ["2026-12-24", "2026-12-24T18:00:00+01:00", "2026-12-24T17:00:00Z"])
def test_expires_on_takes_what_the_cost_guard_takes(expires_on: str):
    """Config and the cost guard read one language (rules/tags.py); a timestamp used to fail here."""
    from scripts.expiry import StackFacts, Verdict, assess

    cfg = load_stack_config(azure(tags={"owner": "me", "expires-on": expires_on}), stack="dev")
    assert cfg.tags["expires-on"] == expires_on
    facts = StackFacts("dev", {"owner": "me", "expires-on": expires_on})
    assert assess(facts, datetime(2026, 12, 1, tzinfo=UTC)).verdict is Verdict.ACTIVE


def test_model_name_is_ascii_like_the_providers_check():
    """`\\w` let 'modèle' through config, and the provider's check then refused it."""
    assert the_problem(azure(model={"name": "modèle"})) == (
        "aml-gpu-inference:model.name = 'modèle': "
        "1–255 ASCII letters, digits, - _ and ., starting with a letter or digit"
    )


def test_autoscale_minimum_alone_above_the_default_maximum_is_refused_here_not_in_the_provider():
    assert the_problem(azure(service={"autoscale": {"minReplicas": 2}})) == (
        "aml-gpu-inference:service.autoscale.minReplicas = 2: ≤ service.autoscale.maxReplicas (1)"
    )


def test_unknown_keys_are_reported_with_the_keys_allowed_there():
    assert the_problem(azure(service={"replica": 3})) == (
        "aml-gpu-inference:service.replica = 3: unknown key; allowed here: name, replicas, cpuCores, "
        "memoryGb, gpuCores, scoringTimeoutMs, maxConcurrentRequestsPerReplica, autoscale, authEnabled, "
        "tokenAuthEnabled"
    )


def test_target_choice():
    assert the_problem({"target": "aws"}) == "aml-gpu-inference:target = 'aws': one of azure, azure-v2, local"


def test_ssl_key_in_plain_config_is_rejected_without_showing_it():
    source = azure(sslCertificate=PEM_CERT, sslKey=PEM_KEY, cluster={"ssl": {"cname": "ml.example.com"}})
    found = problems(source, secret_keys=("sslCertificate",))
    assert found == [
        "aml-gpu-inference:sslKey = '[hidden]': "
        "must be secret config: pulumi config set --secret sslKey < file.pem"
    ]
    assert "PRIVATE KEY" not in "".join(found)


def test_leaf_domain_label_and_certificate_are_exclusive():
    source = azure(
        sslCertificate=PEM_CERT,
        sslKey=PEM_KEY,
        cluster={"ssl": {"leafDomainLabel": "mnist", "cname": "ml.example.com"}},
    )
    assert the_problem(source, secret_keys=("sslCertificate", "sslKey")) == (
        "aml-gpu-inference:cluster.ssl.leafDomainLabel = 'mnist': "
        "either a leaf domain label or sslCertificate/sslKey, not both"
    )


# --- all at once --------------------------------------------------------------------------------


def test_all_problems_are_reported_together_in_one_error():
    source = {
        "target": "azure",
        "tags": {"owner": "me", "expires-on": "tomorrow"},
        "cluster": {"vmSize": "Standard_NC6s_v3", "purpose": "Prod"},
        "service": {
            "name": "Bad_Name",
            "replicas": 0,
            "authEnabled": True,
            "tokenAuthEnabled": True,
            "autoscale": {"minReplicas": 5, "maxReplicas": 2},
        },
        "typo": 1,
    }
    with pytest.raises(ConfigError) as caught:
        load_stack_config(source, stack="dev")
    keys = [problem.key for problem in caught.value.problems]
    assert keys == [
        "typo",
        "tags.expires-on",
        "cluster.vmSize",
        "cluster.purpose",
        "service.name",
        "service.replicas",
        "service.tokenAuthEnabled",
        "service.autoscale.minReplicas",
    ]
    message = str(caught.value)
    assert message.startswith(
        "invalid stack config (8 problems):\n  - aml-gpu-inference:typo = 1: unknown key"
    )
    assert "aml-gpu-inference:cluster.purpose = 'Prod': one of DevTest, FastProd" in message


# --- the engine's config source -----------------------------------------------------------------


def test_pulumi_config_source_reads_the_engines_environment(monkeypatch: pytest.MonkeyPatch):
    """The language host passes config as PULUMI_CONFIG (JSON strings) and its secret keys; the
    provider's location reaches the config (the old adapter dropped it), a typo reaches the check."""
    import contextvars
    import json

    from config.pulumi_config import pulumi_config_source

    engine_config = {
        f"{NAMESPACE}:target": "azure",
        f"{NAMESPACE}:tags": json.dumps(TAGS),
        f"{NAMESPACE}:sslKey": PEM_KEY,
        "azure-native:location": "westeurope",
        "other-project:key": "not ours",
    }
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(engine_config))
    monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", json.dumps([f"{NAMESPACE}:sslKey"]))
    values, secret_keys = contextvars.Context().run(pulumi_config_source)
    assert values == {key: value for key, value in engine_config.items() if not key.startswith("other")}
    assert secret_keys == frozenset({f"{NAMESPACE}:sslKey"})
    without_ssl = {key: value for key, value in values.items() if not key.endswith(":sslKey")}
    cfg = load_stack_config(without_ssl, stack="dev")
    assert (cfg.tags, cfg.location) == (TAGS, "westeurope")

    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"{NAMESPACE}:taget": "azure"}))
    values, _ = contextvars.Context().run(pulumi_config_source)
    assert the_problem(values).startswith("aml-gpu-inference:taget = 'azure': unknown key")


def test_pulumi_config_source_reads_config_set_in_process(monkeypatch: pytest.MonkeyPatch):
    """As the mocks set it (pulumi.runtime.set_all_config): not listable, read by the keys we know."""
    import contextvars

    import pulumi

    from config.pulumi_config import pulumi_config_source

    monkeypatch.delenv("PULUMI_CONFIG", raising=False)

    def in_process() -> tuple[dict[str, Any], frozenset[str]]:
        pulumi.runtime.set_all_config(
            {f"{NAMESPACE}:target": "local", f"{NAMESPACE}:sslKey": PEM_KEY}, [f"{NAMESPACE}:sslKey"]
        )
        return pulumi_config_source()

    values, secret_keys = contextvars.Context().run(in_process)
    assert values == {f"{NAMESPACE}:target": "local", f"{NAMESPACE}:sslKey": PEM_KEY}
    assert secret_keys == frozenset({f"{NAMESPACE}:sslKey"})


# --- the stack config and the provider's check: one set of rules -----------------------------------


@pytest.mark.parametrize(
    ("section", "key", "prop", "value"),
    [
        ("service", "replicas", "settings.replicas", 0),
        ("service", "gpuCores", "settings.gpu_cores", 0),  # check allowed 0, config did not
        ("service", "cpuCores", "settings.cpu_cores", 0),
        ("service", "scoringTimeoutMs", "settings.scoring_timeout_ms", 0),
        ("service.autoscale", "targetUtilization", "settings.autoscale.target_utilization", 101),
        ("service", "name", "service_name", "Bad_Name"),
        ("model", "name", "model_name", "modèle"),  # config took Unicode, check did not
    ],
)
def test_config_and_the_providers_check_refuse_the_same_values_in_the_same_words(
    section: str, key: str, prop: str, value: Any
):
    from deployment.validation import validate_inputs

    nested: dict[str, Any] = {key: value}
    for part in reversed(section.split(".")[1:]):
        nested = {part: nested}
    config_problem = the_problem(azure(**{section.split(".")[0]: nested}))
    allowed = config_problem.split(": ", 1)[1]

    inputs: dict[str, Any] = {"settings": {**ServiceSettings().to_dict()}}
    if prop.startswith("settings.autoscale."):
        inputs["settings"]["autoscale"][prop.rpartition(".")[2]] = value
    elif prop.startswith("settings."):
        inputs["settings"][prop.rpartition(".")[2]] = value
    else:
        inputs[prop] = value
    reasons = dict(validate_inputs(inputs))
    assert reasons[prop].endswith(f"is not allowed: {allowed}"), (reasons[prop], allowed)
