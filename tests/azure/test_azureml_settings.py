"""Our settings → azureml-core arguments, each checked by azureml-core's OWN validation.

The update table: for every settings change, what `settings_update_arguments` sends must pass
the real `AksWebservice._validate_update` (tests/fakes/sdk_update_rules.py) on a service running
the old settings, and must carry exactly the change.
"""

from __future__ import annotations

import dataclasses

import pytest
from azure_cases import DEV_SETTINGS
from azureml.exceptions import WebserviceException
from fakes.sdk_update_rules import running_service, validate_update

from deployment.azureml.settings import settings_update_arguments
from deployment.settings import Autoscale

AUTOSCALED = dataclasses.replace(DEV_SETTINGS, autoscale=Autoscale(True, 1, 3, 60))
AUTOSCALE_ON = {
    "autoscale_enabled": True,
    "autoscale_min_replicas": 1,
    "autoscale_max_replicas": 3,
    "autoscale_target_utilization": 60,
}

UPDATES = [
    ("replicas", DEV_SETTINGS, dataclasses.replace(DEV_SETTINGS, replicas=2), {"num_replicas": 2}),
    ("memory", DEV_SETTINGS, dataclasses.replace(DEV_SETTINGS, memory_gb=8.0), {"memory_gb": 8.0}),
    ("cpu", DEV_SETTINGS, dataclasses.replace(DEV_SETTINGS, cpu_cores=1.5), {"cpu_cores": 1.5}),
    ("gpu", DEV_SETTINGS, dataclasses.replace(DEV_SETTINGS, gpu_cores=2), {"gpu_cores": 2}),
    (
        "timeout",
        DEV_SETTINGS,
        dataclasses.replace(DEV_SETTINGS, scoring_timeout_ms=5000),
        {"scoring_timeout_ms": 5000},
    ),
    (
        "concurrency",
        DEV_SETTINGS,
        dataclasses.replace(DEV_SETTINGS, max_concurrent_requests_per_replica=4),
        {"replica_max_concurrent_requests": 4},
    ),
    (
        "key to token",
        DEV_SETTINGS,
        dataclasses.replace(DEV_SETTINGS, auth="token"),
        {"auth_enabled": False, "token_auth_enabled": True},
    ),
    (
        "token to key",
        dataclasses.replace(DEV_SETTINGS, auth="token"),
        DEV_SETTINGS,
        {"auth_enabled": True, "token_auth_enabled": False},
    ),
    (
        "key to none",
        DEV_SETTINGS,
        dataclasses.replace(DEV_SETTINGS, auth="none"),
        {"auth_enabled": False, "token_auth_enabled": False},
    ),
    ("autoscale on", DEV_SETTINGS, AUTOSCALED, AUTOSCALE_ON),
    (
        "autoscale max",
        AUTOSCALED,
        dataclasses.replace(DEV_SETTINGS, autoscale=Autoscale(True, 1, 5, 60)),
        {**AUTOSCALE_ON, "autoscale_max_replicas": 5},
    ),
    (
        "autoscale min",
        AUTOSCALED,
        dataclasses.replace(DEV_SETTINGS, autoscale=Autoscale(True, 2, 3, 60)),
        {**AUTOSCALE_ON, "autoscale_min_replicas": 2},
    ),
    (
        "autoscale target",
        AUTOSCALED,
        dataclasses.replace(DEV_SETTINGS, autoscale=Autoscale(True, 1, 3, 80)),
        {**AUTOSCALE_ON, "autoscale_target_utilization": 80},
    ),
    ("autoscale off", AUTOSCALED, DEV_SETTINGS, {"autoscale_enabled": False, "num_replicas": 3}),
    (
        "replicas while autoscaled",
        AUTOSCALED,
        dataclasses.replace(AUTOSCALED, replicas=7),
        {},  # replicas are the autoscaler's while it is on
    ),
    ("nothing", DEV_SETTINGS, DEV_SETTINGS, {}),
]


@pytest.mark.parametrize(
    ("old", "new", "expected"), [case[1:] for case in UPDATES], ids=[c[0] for c in UPDATES]
)
def test_each_update_sends_the_change_and_passes_the_sdks_own_validation(old, new, expected):
    arguments = settings_update_arguments(old, new)

    assert arguments == expected
    if arguments:
        validate_update(running_service(old), arguments)  # raises WebserviceException if refused


def test_the_sdk_validation_refuses_what_todays_update_used_to_send():
    # The rule the update table guards: an autoscale value without autoscale_enabled=True.
    with pytest.raises(WebserviceException, match="without enabling autoscaling"):
        validate_update(running_service(AUTOSCALED), {"autoscale_max_replicas": 5})
