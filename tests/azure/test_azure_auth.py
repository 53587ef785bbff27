"""Authentication order and its error, against autospecced azureml-core auth classes (FAKE SDK)."""

from __future__ import annotations

import threading
import time

import pytest
from azure_cases import SP_ENVIRON
from fakes.azureml_sdk import FakeAzureMl

from deployment.azure_common.auth import AzureAuthError, resolve_auth

# Where a managed identity is available, the platform says so (App Service, Functions, Container
# Apps, Arc, Cloud Shell: IDENTITY_ENDPOINT; older hosts: MSI_ENDPOINT).
MSI_ENVIRON = {"IDENTITY_ENDPOINT": "http://localhost:42356/msi/token"}


def test_a_complete_service_principal_comes_first(fake: FakeAzureMl):
    auth = resolve_auth(fake.sdk, SP_ENVIRON)

    fake.sdk.ServicePrincipalAuthentication.assert_called_once_with(
        tenant_id="tenant-id-for-tests",
        service_principal_id="client-id-for-tests",
        service_principal_password=SP_ENVIRON["AZURE_CLIENT_SECRET"],
    )
    auth.get_authentication_header.assert_called_once_with()  # the token was proven
    fake.sdk.MsiAuthentication.assert_not_called()
    fake.sdk.AzureCliAuthentication.assert_not_called()


def test_without_a_service_principal_an_advertised_managed_identity_is_next(fake: FakeAzureMl):
    resolve_auth(fake.sdk, MSI_ENVIRON)

    fake.sdk.ServicePrincipalAuthentication.assert_not_called()
    fake.sdk.MsiAuthentication.assert_called_once_with()
    fake.sdk.AzureCliAuthentication.assert_not_called()


def test_a_client_id_without_a_secret_selects_a_user_assigned_identity(fake: FakeAzureMl):
    resolve_auth(fake.sdk, {**MSI_ENVIRON, "AZURE_CLIENT_ID": "uami-client-id"})

    fake.sdk.MsiAuthentication.assert_called_once_with(identity_config={"client_id": "uami-client-id"})


def test_a_failing_principal_falls_through_to_identity_then_cli(fake: FakeAzureMl):
    fake.set_scenario(auth_failures={"service_principal": "AADSTS7000215: Invalid client secret"})
    resolve_auth(fake.sdk, {**SP_ENVIRON, **MSI_ENVIRON})
    fake.sdk.MsiAuthentication.assert_called_once_with()

    fake.set_scenario(
        auth_failures={"service_principal": "AADSTS7000215", "managed_identity": "no IMDS endpoint"}
    )
    resolve_auth(fake.sdk, {**SP_ENVIRON, **MSI_ENVIRON})
    fake.sdk.AzureCliAuthentication.assert_called_once_with()


def test_when_nothing_works_one_error_lists_every_attempt_without_the_secret(fake: FakeAzureMl):
    secret = SP_ENVIRON["AZURE_CLIENT_SECRET"]
    fake.set_scenario(
        auth_failures={
            "service_principal": f"AADSTS7000215: Invalid client secret provided: {secret}",
            "managed_identity": "ManagedIdentityCredential: no IMDS endpoint",
            "azure_cli": "Please run 'az login' to setup account.",
        }
    )

    with pytest.raises(AzureAuthError) as failure:
        resolve_auth(fake.sdk, {**SP_ENVIRON, **MSI_ENVIRON})

    message = str(failure.value)
    assert "service principal" in message and "AADSTS7000215" in message
    assert "managed identity" in message and "no IMDS endpoint" in message
    assert "Azure CLI" in message and "az login" in message
    assert message.index("service principal") < message.index("managed identity") < message.index("Azure CLI")
    assert secret not in message


def test_an_incomplete_principal_is_reported_by_the_variables_it_lacks(fake: FakeAzureMl):
    fake.set_scenario(auth_failures={"managed_identity": "no identity", "azure_cli": "not logged in"})

    with pytest.raises(AzureAuthError) as failure:
        resolve_auth(fake.sdk, {"AZURE_CLIENT_ID": "x", "AZURE_CLIENT_SECRET": "y"})

    assert "AZURE_TENANT_ID not set" in str(failure.value)


def test_the_environment_is_read_only_from_the_mapping_given(fake: FakeAzureMl, monkeypatch):
    for name, value in SP_ENVIRON.items():
        monkeypatch.setenv(name, value)

    resolve_auth(fake.sdk, {})

    fake.sdk.ServicePrincipalAuthentication.assert_not_called()


def test_managed_identity_is_not_tried_where_none_is_advertised(fake: FakeAzureMl):
    # A laptop: the identity probe would wait on an unreachable metadata endpoint.
    fake.set_scenario(auth_failures={"azure_cli": "Please run 'az login' to setup account."})

    with pytest.raises(AzureAuthError) as failure:
        resolve_auth(fake.sdk, {})

    fake.sdk.MsiAuthentication.assert_not_called()
    assert "managed identity: not advertised (IDENTITY_ENDPOINT, MSI_ENDPOINT not set)" in str(failure.value)


@pytest.mark.parametrize("variable", ["IDENTITY_ENDPOINT", "MSI_ENDPOINT"])
def test_an_advertised_identity_endpoint_enables_managed_identity(fake: FakeAzureMl, variable: str):
    resolve_auth(fake.sdk, {variable: "http://169.254.169.254/metadata/identity"})

    fake.sdk.MsiAuthentication.assert_called_once_with()
    fake.sdk.AzureCliAuthentication.assert_not_called()


def test_a_probe_that_hangs_is_abandoned_after_its_timeout_and_the_next_method_tried(fake: FakeAzureMl):
    released = threading.Event()
    fake.hang_auth("managed_identity", released)
    try:
        started = time.monotonic()
        auth = resolve_auth(fake.sdk, MSI_ENVIRON, probe_timeout_s=0.3)
        elapsed = time.monotonic() - started
    finally:
        released.set()

    assert elapsed < 5
    fake.sdk.AzureCliAuthentication.assert_called_once_with()
    assert auth.get_authentication_header.call_count == 1


def test_a_hung_probe_is_named_with_its_timeout_when_nothing_works(fake: FakeAzureMl):
    released = threading.Event()
    fake.hang_auth("managed_identity", released)
    fake.set_scenario(auth_failures={"azure_cli": "Please run 'az login' to setup account."})
    try:
        with pytest.raises(AzureAuthError) as failure:
            resolve_auth(fake.sdk, MSI_ENVIRON, probe_timeout_s=0.3)
    finally:
        released.set()

    assert "managed identity: no token within 0.3 s" in str(failure.value)
