"""`model-service-auth`: the v1 model service never runs without caller authentication."""

from __future__ import annotations

import pytest

from policy.aml_policies import MODEL_DEPLOYMENT, model_service_auth_violations


@pytest.mark.parametrize("auth", ["key", "token"])
def test_key_or_token_auth_passes(auth: str):
    assert model_service_auth_violations(MODEL_DEPLOYMENT, {"settings": {"auth": auth}}) == []


@pytest.mark.parametrize("auth", ["none", None, "Key"])
def test_anything_else_is_a_violation_naming_the_setting_and_the_allowed_values(auth):
    (message,) = model_service_auth_violations(
        MODEL_DEPLOYMENT, {"service_name": "svc", "settings": {"auth": auth}}
    )
    assert f"settings.auth {auth!r}" in message and "allowed: key, token" in message
    assert "service.authEnabled" in message


def test_other_resources_are_not_its_business():
    assert model_service_auth_violations("azure-native:storage:StorageAccount", {}) == []
