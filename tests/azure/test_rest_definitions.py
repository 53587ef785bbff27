"""What azure-native would PUT and DELETE for the dev (azure v1) and dev-v2 (azure-v2) stacks,
checked against Azure's REST definitions.

The program runs under `harness.program`'s mocks; `harness.rest_definitions` turns each ARM
resource's inputs into the request and checks it against the generated clients' models named in
its `DEFINITIONS` (package, version, api-version, and azure-native's api-version per type).
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
import requests

from deployment.arm.compute_detach import detach_compute
from harness import rest_definitions as rd
from harness.program import (
    CLUSTER,
    COMPUTE,
    DETACHMENT_TYPE,
    ENDPOINT,
    ONLINE_DEPLOYMENT,
    PROJECT_ROOT,
    STORAGE_ACCOUNT,
    ProgramRun,
    run_program,
    stack_config,
)

STACKS = ("dev", "dev-v2")
DEPLOYMENT, STORAGE = ONLINE_DEPLOYMENT, STORAGE_ACCOUNT  # this file's short names


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ProgramRun]:
    model = tmp_path_factory.mktemp("model")
    (model / "saved_model.pb").write_bytes(b"graph")
    result = {}
    for stack in STACKS:
        config = stack_config(stack)
        config["aml-gpu-inference:model"] = {"name": "mnist-dnn", "dir": str(model)}
        result[stack] = run_program(config, stack=stack)
    return result


def arm_registrations(run: ProgramRun) -> list[Any]:
    return [r for r in run.registrations if r.custom and r.type in rd.DEFINITIONS]


# --- provenance ---------------------------------------------------------------------------------


def test_every_resource_the_program_registers_has_a_definition_or_is_no_arm_request(runs):
    for run in runs.values():
        unchecked = {
            r.type
            for r in run.registrations
            if r.custom and r.type not in rd.DEFINITIONS and not r.type.startswith(rd.NOT_ARM_PREFIXES)
        }
        assert unchecked == set(), run.stack


def test_the_definitions_come_from_the_pinned_packages_at_the_stated_api_versions():
    for resource_type, definition in rd.DEFINITIONS.items():
        assert metadata.version(definition.package) == definition.version, resource_type
        _, defs = rd.definitions_for(resource_type)
        builder = rd._attribute(definition, definition.put_builder)
        assert f'"{definition.api_version}"' in rd.inspect.getsource(builder), resource_type
        assert defs.model(definition.body_model).fields, resource_type


def test_azure_natives_api_versions_are_the_ones_its_sdk_states():
    import pulumi_azure_native

    root = Path(pulumi_azure_native.__file__).parent
    for resource_type, definition in rd.DEFINITIONS.items():
        _, module, name = resource_type.split(":")
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
        text = (root / module / f"{snake}.py").read_text()
        stated = re.search(r"Uses Azure REST API version ([0-9a-z-]+)", text)
        assert stated is not None and stated.group(1) == definition.azure_native_api_version, resource_type


# --- the declared requests pass --------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_every_declared_put_body_passes_its_definition(runs, stack):
    faults = {f"{r.type} {r.name}": [str(f) for f in rd.check_put(r)] for r in arm_registrations(runs[stack])}
    assert {name: found for name, found in faults.items() if found} == {}


def test_flattened_inputs_go_back_under_properties(runs):
    storage = rd.put_request(runs["dev"].one(STORAGE))
    assert storage.body["properties"]["allowBlobPublicAccess"] is False
    assert "accountName" not in storage.body and storage.url_parameters["accountName"]
    cluster = rd.put_request(runs["dev-v2"].one(CLUSTER)).body
    assert cluster["properties"]["agentPoolProfiles"][0]["count"] == 3  # an int, as the spec asks


@pytest.mark.parametrize("stack", STACKS)
def test_every_delete_sends_the_required_query_parameters(runs, stack):
    """azure-native's DELETE sends only api-version: what needs more is retained, and its own
    ComputeDetachment sends the DELETE, checked here with the parameters that step really sends."""
    run = runs[stack]
    sent_by_azure_native = {
        r.type: rd.missing_delete_query_parameters(r.type)
        for r in arm_registrations(run)
        if not r.retain_on_delete and rd.missing_delete_query_parameters(r.type)
    }
    assert sent_by_azure_native == {}
    retained = [r for r in arm_registrations(run) if r.retain_on_delete]
    assert [r.type for r in retained] == [COMPUTE]
    for compute in retained:
        (detachment,) = [d for d in run.of_type(DETACHMENT_TYPE) if compute.urn in d.depends_on_urns]
        sent: list[dict[str, str]] = []

        def http(method: str, url: str, *, params: dict[str, str], sent=sent, **_: Any) -> requests.Response:
            sent.append(params)
            response = requests.Response()
            response.status_code = 200
            return response

        assert detach_compute(compute.id, {}, api_version=detachment.inputs["api_version"], http=http)
        (params,) = sent
        for name, allowed in rd.required_delete_query_parameters(COMPUTE).items():
            assert params[name] in allowed, name
        assert params[name] == "Detach"  # never Delete: a detach leaves the cluster to its owner


def test_compute_delete_requires_underlying_resource_action_delete_or_detach():
    assert rd.required_delete_query_parameters(COMPUTE) == {"underlyingResourceAction": ("Delete", "Detach")}
    assert rd.required_delete_query_parameters(ENDPOINT) == {}


# --- the checker catches faults -------------------------------------------------------------------------


def _body(runs, resource_type: str, stack: str = "dev-v2") -> dict[str, Any]:
    body = rd.put_request(runs[stack].one(resource_type)).body
    assert body is not None and rd.check_body(resource_type, body) == []
    return body


def _rules(resource_type: str, body: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f.path, f.rule) for f in rd.check_body(resource_type, body)}


def test_an_unknown_property_fails(runs):
    body = _body(runs, ENDPOINT)
    body["properties"]["trafic"] = {"blue": 100}
    assert _rules(ENDPOINT, body) == {("properties.trafic", "unknown property")}


def test_a_wrong_enum_fails(runs):
    body = _body(runs, ENDPOINT)
    body["properties"]["authMode"] = "Password"
    assert _rules(ENDPOINT, body) == {("properties.authMode", "wrong enum")}


def test_a_wrong_discriminator_fails(runs):
    body = _body(runs, COMPUTE)
    body["properties"]["computeType"] = "Kubernetess"
    assert ("properties.computeType", "wrong enum") in _rules(COMPUTE, body)


def test_a_missing_required_field_fails(runs):
    body = _body(runs, ENDPOINT)
    del body["properties"]["authMode"]
    assert _rules(ENDPOINT, body) == {("properties.authMode", "missing required")}
    body = _body(runs, STORAGE)
    del body["kind"]
    assert _rules(STORAGE, body) == {("kind", "missing required")}


def test_a_wrong_type_fails(runs):
    body = _body(runs, DEPLOYMENT)
    body["sku"]["capacity"] = "three"
    body["properties"]["appInsightsEnabled"] = "false"
    assert _rules(DEPLOYMENT, body) == {
        ("sku.capacity", "wrong type"),
        ("properties.appInsightsEnabled", "wrong type"),
    }


def test_a_read_only_field_sent_fails(runs):
    body = _body(runs, ENDPOINT)
    body["properties"]["scoringUri"] = "http://x.invalid/score"
    assert _rules(ENDPOINT, body) == {("properties.scoringUri", "read-only sent")}


def test_a_template_resource_is_checked_as_the_put_it_is(runs):
    registration = runs["dev-v2"].one("azure-native:resources:Deployment")
    assert rd.check_put(registration) == []
    resource = registration.inputs["properties"]["template"]["resources"][0]
    broken = {**resource, "properties": {k: v for k, v in resource["properties"].items() if k != "authMode"}}
    assert [(f.path, f.rule) for f in rd._check_template_resource(broken, "r")] == [
        ("r.properties.authMode", "missing required")
    ]


def test_the_requirements_pin_each_definitions_package():
    pins = (PROJECT_ROOT / "requirements-dev.txt").read_text()
    for definition in rd.DEFINITIONS.values():
        assert f"{definition.package}=={definition.version}" in pins, definition.package
