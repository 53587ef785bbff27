"""Azure credentials for azureml-core, resolved at call time and never stored.

Order (the first that yields a token wins):
    1. service principal   AZURE_CLIENT_ID + AZURE_TENANT_ID + AZURE_CLIENT_SECRET
                           (the variables the azure-native provider reads too)
    2. managed identity    MsiAuthentication (a user-assigned identity when AZURE_CLIENT_ID
                           is set without a secret), only where the host advertises one
                           (IDENTITY_ENDPOINT or MSI_ENDPOINT): elsewhere, e.g. on a laptop,
                           its metadata request waits on an address nothing answers
    3. Azure CLI login     AzureCliAuthentication (`az login`)

Each candidate is probed with `get_authentication_header()`, which fetches an ARM token, so a
candidate that cannot authenticate is skipped here, with its reason, rather than failing later
in the middle of a deployment. Each probe gets `probe_timeout_s`: the SDK sets no timeout of its
own, so a probe that hangs is abandoned (its thread left to finish) and the next one tried. If
none works, `AzureAuthError` lists every attempt.

The environment is read through the mapping passed in (tests hand in a dict). The secret is
passed straight to the SDK object and never logged, stored or put into an error message.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

SERVICE_PRINCIPAL_VARIABLES: tuple[str, ...] = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET")
MANAGED_IDENTITY_VARIABLES: tuple[str, ...] = ("IDENTITY_ENDPOINT", "MSI_ENDPOINT")
PROBE_TIMEOUT_S = 20.0  # a token normally comes within a few seconds; `az` itself may take ~10


class AuthSdk(Protocol):
    """The three azureml-core authentication classes (the real module or a test double)."""

    # Read-only members (properties): a frozen dataclass or a module satisfies them.
    @property
    def ServicePrincipalAuthentication(self) -> Callable[..., Any]: ...
    @property
    def MsiAuthentication(self) -> Callable[..., Any]: ...
    @property
    def AzureCliAuthentication(self) -> Callable[..., Any]: ...


class AzureAuthError(Exception):
    """No credential worked; the message lists each method tried and why it failed."""


@dataclass(frozen=True)
class Attempt:
    method: str
    reason: str  # why it was skipped or failed; never contains the secret


def resolve_auth(sdk: AuthSdk, environ: Mapping[str, str], probe_timeout_s: float = PROBE_TIMEOUT_S) -> Any:
    """The first azureml-core authentication object that can obtain a token within
    `probe_timeout_s`.

    Raises `AzureAuthError` naming every method tried and why each failed.
    """
    attempts: list[Attempt] = []
    for method, build in _candidates(sdk, environ):
        try:
            auth = build()
            _probe(auth, probe_timeout_s)  # fetches a token: proves the credential works
        except _Skip as skip:
            attempts.append(Attempt(method, str(skip)))
            continue
        except Exception as error:
            attempts.append(Attempt(method, _describe(error, environ)))
            continue
        return auth
    raise AzureAuthError(_summary(attempts))


class _Skip(Exception):
    """A candidate that does not apply (its settings are absent), or did not answer in time."""


def _probe(auth: Any, timeout_s: float) -> None:
    outcome: dict[str, BaseException] = {}

    def fetch() -> None:
        try:
            auth.get_authentication_header()
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=fetch, name="azure-auth-probe", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise _Skip(f"no token within {timeout_s:g} s")
    if "error" in outcome:
        raise outcome["error"]


def _candidates(sdk: AuthSdk, environ: Mapping[str, str]) -> list[tuple[str, Callable[[], Any]]]:
    def service_principal() -> Any:
        present = [name for name in SERVICE_PRINCIPAL_VARIABLES if environ.get(name)]
        if len(present) != len(SERVICE_PRINCIPAL_VARIABLES):
            missing = [name for name in SERVICE_PRINCIPAL_VARIABLES if name not in present]
            raise _Skip(f"not configured: {', '.join(missing)} not set")
        return sdk.ServicePrincipalAuthentication(
            tenant_id=environ["AZURE_TENANT_ID"],
            service_principal_id=environ["AZURE_CLIENT_ID"],
            service_principal_password=environ["AZURE_CLIENT_SECRET"],
        )

    def managed_identity() -> Any:
        if not any(environ.get(name) for name in MANAGED_IDENTITY_VARIABLES):
            raise _Skip(f"not advertised ({', '.join(MANAGED_IDENTITY_VARIABLES)} not set)")
        client_id = environ.get("AZURE_CLIENT_ID")
        if client_id and not environ.get("AZURE_CLIENT_SECRET"):
            # A client id without a secret names a user-assigned identity.
            return sdk.MsiAuthentication(identity_config={"client_id": client_id})
        return sdk.MsiAuthentication()

    def azure_cli() -> Any:
        return sdk.AzureCliAuthentication()

    return [
        ("service principal (AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET)", service_principal),
        ("managed identity", managed_identity),
        ("Azure CLI login (az login)", azure_cli),
    ]


def _describe(error: Exception, environ: Mapping[str, str]) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    secret = environ.get("AZURE_CLIENT_SECRET")
    if secret:
        text = text.replace(secret, "***")  # an SDK error could echo what it was given
    first_line = text.splitlines()[0] if text else type(error).__name__
    return first_line[:300]


def _summary(attempts: list[Attempt]) -> str:
    lines = ["no Azure credential worked; tried, in order:"]
    lines += [f"  - {attempt.method}: {attempt.reason}" for attempt in attempts]
    lines.append(
        "Set AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET for a service principal, "
        "run where a managed identity is advertised (IDENTITY_ENDPOINT or MSI_ENDPOINT), or run `az login`."
    )
    return "\n".join(lines)
