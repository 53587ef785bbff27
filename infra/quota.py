"""The region's vCPU quota of one VM family, read from Azure's Compute usages API.

pulumi-azure-native 3.24 has no function for compute usages, so this is one plain REST call with
a service principal's token, taken from the same ARM_* variables azure-native reads. Where they are
not all set (an `az login` session, or no credentials at all) nothing is read and the caller says
the quota was not checked: no guess.

    GET {arm}/subscriptions/{id}/providers/Microsoft.Compute/locations/{region}/usages
        → {"value": [{"name": {"value": family}, "currentValue": used, "limit": limit}, ...],
           "nextLink": ...}
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass

ARM = "https://management.azure.com"
LOGIN = "https://login.microsoftonline.com"
USAGES_API_VERSION = "2024-07-01"
CREDENTIAL_VARIABLES = ("ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "ARM_TENANT_ID", "ARM_SUBSCRIPTION_ID")
TIMEOUT_S = 20.0


class QuotaError(Exception):
    """Azure did not answer the usages read (the message says which call and why)."""


@dataclass(frozen=True)
class FamilyQuota:
    family: str
    used: int
    limit: int

    @property
    def free(self) -> int:
        return max(0, self.limit - self.used)


def missing_credentials(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The ARM_* variables a quota read needs that are not set."""
    return tuple(name for name in CREDENTIAL_VARIABLES if not environ.get(name))


def read_family_quota(
    environ: Mapping[str, str], location: str, family: str, *, arm: str = ARM, login: str = LOGIN
) -> FamilyQuota | None:
    """The family's quota in `location`; None when the region lists no such family."""
    token = _token(environ, login, arm)
    query = urllib.parse.urlencode({"api-version": USAGES_API_VERSION})
    url: str | None = (
        f"{arm}/subscriptions/{environ['ARM_SUBSCRIPTION_ID']}/providers/Microsoft.Compute/"
        f"locations/{urllib.parse.quote(location)}/usages?{query}"
    )
    wanted = family.lower()
    while url:
        page = _get_json(url, {"Authorization": f"Bearer {token}"})
        for usage in page.get("value", []):
            if str(usage.get("name", {}).get("value", "")).lower() == wanted:
                return FamilyQuota(family, int(usage.get("currentValue", 0)), int(usage.get("limit", 0)))
        url = page.get("nextLink")
    return None


def _token(environ: Mapping[str, str], login: str, arm: str) -> str:
    body = urllib.parse.urlencode(
        {
            "grant_type": "client_credentials",
            "client_id": environ["ARM_CLIENT_ID"],
            "client_secret": environ["ARM_CLIENT_SECRET"],
            "scope": f"{ARM}/.default",
        }
    ).encode()
    url = f"{login}/{urllib.parse.quote(environ['ARM_TENANT_ID'])}/oauth2/v2.0/token"
    answer = _request(urllib.request.Request(url, data=body, method="POST"), "the token request")
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise QuotaError("the token request answered without an access_token")
    return token


def _get_json(url: str, headers: Mapping[str, str]) -> dict:
    return _request(urllib.request.Request(url, headers=dict(headers)), "the Compute usages read")


def _request(request: urllib.request.Request, what: str) -> dict:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        # The body names Azure's error code; the request (with its secret) is never repeated.
        detail = error.read()[:300].decode("utf-8", "replace")
        raise QuotaError(f"{what} failed: HTTP {error.code} {detail}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
        raise QuotaError(f"{what} failed: {error}") from None
