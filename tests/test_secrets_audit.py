"""Secrets audit: no credential, key or kubeconfig in plain text in outputs, the pickled
provider, the provider's logs, or the stack config files.

    every stack (Pulumi.<stack>.yaml), evaluated under mocks with fake Azure credentials in the
      environment: outputs whose name says key/kubeconfig/secret/token/password are secrets;
      no plain output, no resource input that is not a secret, and no `__provider` payload
      (the dill pickle the engine stores in the state) contains a credential value; the service
      keys are secret: the ModelDeployment's secret outputs (azure, local), the endpoint keys'
      exports (azure-v2, which has no dynamic provider)
    the provider through the real provider host, against the fake Azure ML (it issues keys):
      create, read, update, a failed create and delete print neither keys nor credentials
    Pulumi.*.yaml: a secret-looking key holds only a `secure:` value; no value looks like a
      credential (PEM, JWT, connection string, long random token)

Everything Azure here is fake (Azure is unreachable): the fake SDK of tests/fakes/azureml_sdk.py
and the program harness's mocks; the credential values are made up, never real.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fakes.azureml_sdk import STATE_FILE_VARIABLE, FakeAzureMl, write_state_file
from fakes.fake_sdk_provider_host import FAKE_SDK_HOST
from pulumi.runtime import rpc

from harness.program import (
    DETACHMENT_TYPE,
    FAKE_ENDPOINT_KEYS,
    FAKE_KUBECONFIG,
    MODEL_DEPLOYMENT_TYPE,
    TRAFFIC_DRAIN_TYPE,
    ProgramRun,
    run_program,
    stack_config,
)
from harness.provider_host import (
    PROJECT_ROOT,
    ProviderError,
    ProviderHost,
    local_stack_inputs,
    unwrap_secrets,
)

STACK_FILES = sorted(PROJECT_ROOT.glob("Pulumi.*.yaml"))
STACKS = [path.name.split(".")[1] for path in STACK_FILES]
# The v2 target has no dynamic provider: its endpoint keys come from an invoke, not a ModelDeployment.
V2_TARGET = "azure-v2"
KEY_OUTPUTS = ("primary_key", "secondary_key")


PICKLED_CLASSES = {
    MODEL_DEPLOYMENT_TYPE: ("deployment.provider", "ModelDeploymentProvider"),
    DETACHMENT_TYPE: ("deployment.detach_provider", "ComputeDetachmentProvider"),
    TRAFFIC_DRAIN_TYPE: ("deployment.drain_provider", "TrafficDrainProvider"),
}


def _target(stack: str) -> str | None:
    return stack_config(stack).get("aml-gpu-inference:target")


# Made-up credentials, distinctive enough that finding one anywhere can only be a leak.
FAKE_CREDENTIALS = {
    "AZURE_CLIENT_SECRET": "audit-client-secret-3f9a7c1e-not-real",
    "AZURE_CLIENT_ID": "audit-client-id-5b2d",
    "AZURE_TENANT_ID": "audit-tenant-id-8c4e",
    "ARM_CLIENT_SECRET": "audit-arm-secret-71d0-not-real",
    "AZURE_STORAGE_KEY": "audit-storage-key-QUJDREVGRw==",
    "PULUMI_ACCESS_TOKEN": "pul-audit0000000000000000000000000000000000",
    "PULUMI_CONFIG_PASSPHRASE": "audit-passphrase-not-real",
}
# Words that mark a value as a secret by its name (outputs, config keys).
SECRET_NAME = re.compile(
    r"key|kubeconfig|secret|token|password|passphrase|credential|connection.?string|sas", re.I
)
# Values that look like credentials whatever their name.
CREDENTIAL_VALUE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|AccountKey=|SharedAccessSignature|\beyJ[\w-]{10,}\.[\w-]{10,}|"
    r"\b[A-Za-z0-9+/]{40,}={0,2}(?![\w/+])"
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def _leaks(text: str, secrets: dict[str, str] | list[str]) -> list[str]:
    values = secrets.values() if isinstance(secrets, dict) else secrets
    return [value for value in values if value in text]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model directory for the program's config (it hashes the files; it never loads them)."""
    model = tmp_path_factory.mktemp("audit") / "model"
    model.mkdir()
    (model / "saved_model.pb").write_bytes(b"audit: bytes to hash, not a model")
    return model


@pytest.fixture(scope="module")
def runs(model_dir: Path) -> dict[str, ProgramRun]:
    """Every stack evaluated once, with the fake credentials in the environment."""
    evaluated = {}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_CREDENTIALS.items():
            patch.setenv(name, value)
        for stack in STACKS:
            evaluated[stack] = run_program(
                {**stack_config(stack), "model": {"dir": str(model_dir)}}, stack=stack
            )
    return evaluated


# ---------------------------------------------------------------------------------------------
# Stacks under mocks


@pytest.mark.parametrize("stack", STACKS)
def test_every_output_named_like_a_credential_is_a_secret(stack: str, runs: dict[str, ProgramRun]) -> None:
    run = runs[stack]
    assert run.outputs, f"stack {stack} exports nothing"
    plain_named_secret = [
        name for name, out in run.outputs.items() if SECRET_NAME.search(name) and not out.secret
    ]
    assert plain_named_secret == [], f"stack {stack}: outputs exported in plain text: {plain_named_secret}"
    if any(run.of_type("azure-native:containerservice:ManagedCluster")):
        assert run.outputs["kubeconfig"].secret


@pytest.mark.parametrize("stack", STACKS)
def test_no_plain_output_or_plain_input_holds_a_credential_or_the_kubeconfig(
    stack: str, runs: dict[str, ProgramRun]
) -> None:
    run = runs[stack]
    token = re.search(r"token: (\S+)\}", FAKE_KUBECONFIG)
    assert token is not None
    secrets = [
        *FAKE_CREDENTIALS.values(),
        *FAKE_ENDPOINT_KEYS.values(),  # what the mocks' listOnlineEndpointKeys returns (azure-v2)
        token.group(1),
        base64.b64encode(FAKE_KUBECONFIG.encode()).decode(),
    ]
    for name, output in run.outputs.items():
        if not output.secret:
            assert _leaks(json.dumps(output.value, default=str), secrets) == [], f"{stack}: output {name}"
    for registration in run.registrations:
        for prop, value in registration.inputs.items():
            if rpc.is_rpc_secret(value) or prop == "__provider":
                continue
            text = json.dumps(value, default=str)
            assert _leaks(text, secrets) == [], f"{stack}: {registration.type} {registration.name}.{prop}"


@pytest.mark.parametrize("stack", STACKS)
def test_the_service_keys_are_secret(stack: str, runs: dict[str, ProgramRun]) -> None:
    """v1 and local: the ModelDeployment asks the engine to keep its keys secret in the state.
    azure-v2: the keys the endpoint lists are exported, as secrets, and are those keys."""
    run = runs[stack]
    if _target(stack) == V2_TARGET:
        assert run.of_type(MODEL_DEPLOYMENT_TYPE) == []
        exported = {name: run.outputs[name] for name in KEY_OUTPUTS}
        assert all(output.secret for output in exported.values()), f"{stack}: {exported}"
        assert [output.value for output in exported.values()] == [
            FAKE_ENDPOINT_KEYS["primaryKey"],
            FAKE_ENDPOINT_KEYS["secondaryKey"],
        ]
    else:
        deployment = run.one(MODEL_DEPLOYMENT_TYPE)
        assert set(KEY_OUTPUTS) <= set(deployment.additional_secret_outputs)


@pytest.mark.parametrize("stack", STACKS)
def test_the_pickled_provider_holds_no_credential(stack: str, runs: dict[str, ProgramRun]) -> None:
    """`__provider` is base64 of the dill pickle the engine keeps in the state and hands every
    provider host: it must be the class by reference, with nothing of the environment in it.
    Every pickle a stack registers is audited: the model deployment's (not on azure-v2) and, on
    the Azure targets, the compute detachment's; on azure-v2 the traffic drain's."""
    pickled = [reg for reg in runs[stack].registrations if "__provider" in reg.inputs]
    target = _target(stack)
    expected = ([TRAFFIC_DRAIN_TYPE] if target == V2_TARGET else [MODEL_DEPLOYMENT_TYPE]) + (
        [] if target in (None, "local") else [DETACHMENT_TYPE]
    )
    assert sorted(registration.type for registration in pickled) == sorted(expected)
    for registration in pickled:
        payload = base64.b64decode(unwrap_secrets(registration.inputs["__provider"]))
        module, cls = PICKLED_CLASSES[registration.type]
        assert module.encode() in payload and cls.encode() in payload  # by reference
        text = payload.decode("latin-1")
        assert _leaks(text, FAKE_CREDENTIALS) == []
        for name in FAKE_CREDENTIALS:
            assert name not in text, f"the pickled provider names {name}: it captured the environment"
        assert len(payload) < 4096, f"a {len(payload)}-byte pickle captures more than a class reference"


# ---------------------------------------------------------------------------------------------
# The provider's logs, through the real provider host (fake Azure ML: it issues keys)


AZURE_TARGET = {
    "subscription_id": "00000000-0000-4000-8000-000000000001",
    "resource_group": "rg-audit",
    "workspace_name": "mlw-audit",
    "compute_name": "gpu-aks",
}


@pytest.mark.slow
def test_the_provider_never_prints_keys_or_credentials(model_dir: Path, tmp_path: Path) -> None:
    news = local_stack_inputs({"model": {"name": "mnist-dnn", "dir": str(model_dir)}}, stack="dev")
    news["target"] = dict(AZURE_TARGET)
    state_file = write_state_file(tmp_path / "fake-azureml.json", AZURE_TARGET)
    fake = FakeAzureMl(state_file=state_file)
    extra_env = {STATE_FILE_VARIABLE: str(state_file)}
    errors: list[str] = []

    with ProviderHost.start(extra_env={**FAKE_CREDENTIALS, **extra_env}, program=FAKE_SDK_HOST) as host:
        host.configure()
        checked = host.check(news)
        assert checked.failures == []
        id_, outs = host.create(checked.inputs)
        keys = [outs["primary_key"], outs["secondary_key"]]
        assert all(keys), "the fake issues keys: the audit needs them to look for"
        _, outs = host.read(id_, outs)
        scaled = host.check({**news, "settings": {**news["settings"], "replicas": 2}}).inputs
        outs = host.update(id_, outs, scaled)
        host.delete(id_, outs)
        fake.set_scenario(deploy_outcome="Unhealthy", logs="Traceback ...\nRuntimeError: init failed")
        with pytest.raises(ProviderError) as failure:
            host.create(checked.inputs)
        errors.append(failure.value.details)
        stderr = host.stderr_text()

    assert "model deployment" in stderr or "aks-dnn-mnist" in stderr, "no progress was logged to audit"
    assert _leaks(stderr, keys) == [] and _leaks(stderr, FAKE_CREDENTIALS) == []
    for details in errors:
        assert _leaks(details, keys) == [] and _leaks(details, FAKE_CREDENTIALS) == []
    # The keys live only in the secret outputs; the `live` record the state keeps has none.
    assert outs["live"].get("keys") is None
    assert (
        _leaks(json.dumps({k: v for k, v in outs.items() if k not in ("primary_key", "secondary_key")}), keys)
        == []
    )


# ---------------------------------------------------------------------------------------------
# Stack config files


def _config_items(path: Path) -> Iterator[tuple[str, Any]]:
    """(dotted key, value) for every leaf of the config section; a `secure:` mapping is a leaf."""
    document = yaml.safe_load(path.read_text()) or {}

    def walk(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
        if isinstance(value, dict) and set(value) != {"secure"}:
            for key, item in value.items():
                yield from walk(f"{prefix}.{key}" if prefix else str(key), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from walk(f"{prefix}[{index}]", item)
        else:
            yield prefix, value

    yield from walk("", document.get("config") or {})


@pytest.mark.parametrize("path", STACK_FILES, ids=[p.name for p in STACK_FILES])
def test_stack_files_hold_secrets_only_as_secure_values(path: Path) -> None:
    problems = []
    for key, value in _config_items(path):
        secure = isinstance(value, dict) and set(value) == {"secure"}
        leaf = key.rsplit(".", 1)[-1].rpartition(":")[2]
        if SECRET_NAME.search(leaf) and not secure and value not in (None, False, True):
            problems.append(f"{key}: plain value for a secret-named key (use `pulumi config set --secret`)")
        for text in _strings(value if not secure else {}):
            if CREDENTIAL_VALUE.search(text):
                problems.append(f"{key}: a value that looks like a credential: {text[:12]}...")
    assert problems == [], f"{path.name}: " + "; ".join(problems)


def test_the_audit_recognizes_plain_secrets(tmp_path: Path) -> None:
    """The config check itself: a plain secret is found, a `secure:` one is accepted."""
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text(
        "config:\n  aml-gpu-inference:sslKey: '-----BEGIN RSA PRIVATE KEY-----abc'\n"
        "  aml-gpu-inference:storageConnectionString: DefaultEndpointsProtocol=https;AccountKey=abc\n"
        "  aml-gpu-inference:apiToken:\n    secure: v1:AAAABBBBCCCC\n"
    )
    with pytest.raises(AssertionError) as found:
        test_stack_files_hold_secrets_only_as_secure_values(bad)
    assert "sslKey" in str(found.value) and "storageConnectionString" in str(found.value)
    assert "apiToken" not in str(found.value)
