"""The REST requests azure-native would send for what the program declares, checked against
Azure's own definitions.

    run = run_program(stack_config("dev-v2"), stack="dev-v2")
    put = put_request(run.one(ONLINE_ENDPOINT))       # URL parameters, api-version, JSON body
    check_body(put.resource_type, put.body)           # [] or the faults, each with its JSON path
    required_delete_query_parameters(COMPUTE)         # {"underlyingResourceAction": ("Delete", "Detach")}

The definitions are the models and request builders of Microsoft's generated Python clients,
generated from the same REST specs (azure-rest-api-specs) that azure-native is generated from:
`DEFINITIONS` names, per resource type, the package, its version, the api-version module used and
the api-version azure-native 3.24.0 calls. Two generator styles are read: msrest models
(`_attribute_map` with REST keys, dotted for `x-ms-client-flatten`; `_validation` with required and
readonly; `_subtype_map` for discriminators) and TypeSpec models (`rest_field(name=..., visibility=...)`
with non-Optional annotations for required fields, `__mapping__` for discriminators).

How azure-native builds a PUT (pulumi-azure-native's provider, `resources.SdkShapeConverter` and
the default CRUD client): the resource's URL parameters (resourceGroupName, workspaceName, name,
...) are taken from the inputs into the path; every other input goes into the body under its REST
name; inputs the SDK flattened (x-ms-client-flatten, e.g. `keyVault` of a workspace or
`allowBlobPublicAccess` of a storage account) go back under the `properties` object they came
from; numbers are sent as the schema's type (the engine carries every number as a float). DELETE
sends only `api-version` as a query parameter.

Enum values are compared case-insensitively (the generated enums are, and ARM mostly is); an enum
the spec marks extensible (modelAsString) is still checked against its known values: a value
outside them is reported, for a reviewer to accept explicitly.
"""

from __future__ import annotations

import enum
import importlib
import importlib.util
import inspect
import re
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulumi.runtime import rpc

# --- provenance: one place ----------------------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    """Where one resource type's REST definition comes from."""

    package: str  # the PyPI distribution
    version: str  # its pinned version (requirements-dev.txt)
    module: str  # the api-version module inside it (its models and operations)
    api_version: str  # the api-version of that module
    azure_native_api_version: str  # the one azure-native 3.24.0 calls ("Uses Azure REST API version")
    body_model: str  # the model of the PUT body
    put_builder: str  # the request builder of the PUT (its URL template names the path parameters)
    delete_builder: str  # the request builder of the DELETE (its signature names the query parameters)


_ML = "azure.ai.ml._restclient.arm_ml_service"  # loaded on its own: see `_import`
_ML_PKG, _ML_VER, _ML_API = "azure-ai-ml", "1.35.2", "2025-12-01"


def _ml(model: str, operations: str) -> Definition:
    return Definition(
        _ML_PKG,
        _ML_VER,
        _ML,
        _ML_API,
        "2025-12-01",
        model,
        f"operations._operations.build_{operations}_create_or_update_request",
        f"operations._operations.build_{operations}_delete_request",
    )


# azure-mgmt-machinelearningservices (1.0.1, the newest) is at api-version 2020-08-01 and has no
# online endpoints or asset versions: the current ARM client of Azure ML is the one azure-ai-ml
# ships (arm_ml_service, 2025-12-01). azure-mgmt-storage, -keyvault, -containerregistry and
# -resource are held by azureml-core 1.61 (storage<=24.0.0, keyvault<12, containerregistry<15,
# resource<=24.0.0): the versions it already installs are used, with the closest api-version they
# carry.
DEFINITIONS: dict[str, Definition] = {
    "azure-native:resources:ResourceGroup": Definition(
        "azure-mgmt-resource",
        "24.0.0",
        "azure.mgmt.resource.resources.v2024_07_01",
        "2024-07-01",
        "2024-03-01",
        "ResourceGroup",
        "operations._operations.build_resource_groups_create_or_update_request",
        "operations._operations.build_resource_groups_delete_request",
    ),
    "azure-native:resources:Deployment": Definition(
        "azure-mgmt-resource",
        "24.0.0",
        "azure.mgmt.resource.resources.v2024_07_01",
        "2024-07-01",
        "2024-03-01",
        "Deployment",
        "operations._operations.build_deployments_create_or_update_request",
        "operations._operations.build_deployments_delete_request",
    ),
    "azure-native:storage:StorageAccount": Definition(
        "azure-mgmt-storage",
        "24.0.0",
        "azure.mgmt.storage",
        "2025-06-01",
        "2024-01-01",
        "StorageAccountCreateParameters",
        "operations._storage_accounts_operations.build_create_request",
        "operations._storage_accounts_operations.build_delete_request",
    ),
    "azure-native:containerregistry:Registry": Definition(
        "azure-mgmt-containerregistry",
        "14.0.0",
        "azure.mgmt.containerregistry.v2023_01_01_preview",
        "2023-01-01-preview",
        "2023-01-01-preview",
        "Registry",
        "operations._registries_operations.build_create_request",
        "operations._registries_operations.build_delete_request",
    ),
    "azure-native:operationalinsights:Workspace": Definition(
        "azure-mgmt-loganalytics",
        "13.1.1",
        "azure.mgmt.loganalytics",
        "2025-07-01",
        "2023-09-01",
        "Workspace",
        "operations._workspaces_operations.build_create_or_update_request",
        "operations._workspaces_operations.build_delete_request",
    ),
    "azure-native:keyvault:Vault": Definition(
        "azure-mgmt-keyvault",
        "11.0.0",
        "azure.mgmt.keyvault.v2024_11_01",
        "2024-11-01",
        "2024-11-01",
        "VaultCreateOrUpdateParameters",
        "operations._vaults_operations.build_create_or_update_request",
        "operations._vaults_operations.build_delete_request",
    ),
    "azure-native:applicationinsights:Component": Definition(
        "azure-mgmt-applicationinsights",
        "4.1.0",
        "azure.mgmt.applicationinsights.v2020_02_02",
        "2020-02-02",
        "2020-02-02",
        "ApplicationInsightsComponent",
        "operations._components_operations.build_create_or_update_request",
        "operations._components_operations.build_delete_request",
    ),
    "azure-native:containerservice:ManagedCluster": Definition(
        "azure-mgmt-containerservice",
        "40.1.0",
        "azure.mgmt.containerservice",
        "2025-09-01",
        "2025-09-01",
        "ManagedCluster",
        "operations._managed_clusters_operations.build_create_or_update_request",
        "operations._managed_clusters_operations.build_delete_request",
    ),
    "azure-native:kubernetesconfiguration:Extension": Definition(
        "azure-mgmt-kubernetesconfiguration",
        "3.1.0",
        "azure.mgmt.kubernetesconfiguration.v2023_05_01",
        "2023-05-01",
        "2023-05-01",
        "Extension",
        "operations._extensions_operations.build_create_request",
        "operations._extensions_operations.build_delete_request",
    ),
    "azure-native:machinelearningservices:Workspace": _ml("Workspace", "workspaces"),
    "azure-native:machinelearningservices:Compute": _ml("ComputeResource", "compute"),
    "azure-native:machinelearningservices:CodeVersion": _ml("CodeVersion", "code_versions"),
    "azure-native:machinelearningservices:ModelVersion": _ml("ModelVersion", "model_versions"),
    "azure-native:machinelearningservices:EnvironmentVersion": _ml(
        "EnvironmentVersion", "environment_versions"
    ),
    "azure-native:machinelearningservices:OnlineEndpoint": _ml("OnlineEndpoint", "online_endpoints"),
    "azure-native:machinelearningservices:OnlineDeployment": _ml("OnlineDeployment", "online_deployments"),
}

# Registered but not ARM requests: a blob is uploaded through the storage data plane by
# azure-native's custom Blob resource; Kubernetes objects go to the cluster's API server; the
# ModelDeployment is our dynamic provider over azureml-core (SDK v1).
NOT_ARM_PREFIXES = ("azure-native:storage:Blob", "kubernetes:", "pulumi:", "pulumi-python:dynamic/")

# What azure-native's generic DELETE sends (its default CRUD client: `api-version` only).
AZURE_NATIVE_DELETE_QUERY = frozenset({"api-version"})

# ARM template resource types → the azure-native type whose definition checks them (a template
# resource is a full PUT of that resource, at the template's apiVersion).
TEMPLATE_TYPES = {
    "Microsoft.MachineLearningServices/workspaces/onlineEndpoints": (
        "azure-native:machinelearningservices:OnlineEndpoint"
    ),
}


# --- the definitions as one schema shape ---------------------------------------------------------


@dataclass(frozen=True)
class TypeRef:
    """A REST type: a primitive ("str", "int", "float", "bool", "any"), an enum (its known
    values), a model (its name), or a list/dict of a TypeRef."""

    kind: str  # "str" | "int" | "float" | "bool" | "any" | "enum" | "model" | "list" | "dict"
    name: str = ""
    values: tuple[str, ...] = ()
    item: TypeRef | None = None


@dataclass(frozen=True)
class Field:
    rest_name: str
    type: TypeRef
    required: bool
    readonly: bool
    constant: bool = False


@dataclass
class Model:
    name: str
    fields: dict[str, Field] = field(default_factory=dict)  # by REST name (top level of this object)
    discriminator: str = ""  # the REST name of the discriminator field, if any
    subtypes: dict[str, str] = field(default_factory=dict)  # discriminator value → model name


@dataclass(frozen=True)
class Fault:
    """One way a request breaks its definition."""

    path: str  # JSON path in the body ("properties.traffic") or "?name" for a query parameter
    rule: str  # "unknown property" | "wrong type" | "wrong enum" | "missing required" | "read-only sent"
    detail: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}: {self.detail}"


def _import(module: str) -> types.ModuleType:
    """Import a definitions module. azure-ai-ml's arm_ml_service is loaded as a package of its
    own (`arm_ml_service`, the name its generated docstrings use) so that `azure.ai.ml`'s
    `__init__` (the whole v2 SDK) is never imported: only azure-core and azure-mgmt-core are."""
    if module == _ML or module.startswith(_ML + "."):
        alias = "arm_ml_service" + module[len(_ML) :]
        if "arm_ml_service" not in sys.modules:
            spec = importlib.util.find_spec("azure.ai")
            assert spec is not None and spec.submodule_search_locations, "azure-ai-ml is not installed"
            root = Path(next(iter(spec.submodule_search_locations))) / "ml" / "_restclient" / "arm_ml_service"
            package_spec = importlib.util.spec_from_file_location(
                "arm_ml_service", root / "__init__.py", submodule_search_locations=[str(root)]
            )
            assert package_spec is not None and package_spec.loader is not None
            package = importlib.util.module_from_spec(package_spec)
            sys.modules["arm_ml_service"] = package
            package_spec.loader.exec_module(package)
        return importlib.import_module(alias)
    return importlib.import_module(module)


def _attribute(definition: Definition, dotted: str) -> Any:
    module_path, _, name = dotted.rpartition(".")
    return getattr(_import(f"{definition.module}.{module_path}"), name)


class Definitions:
    """The models of one api-version module, read into `Model`s (cached)."""

    def __init__(self, module: str) -> None:
        self.models_module = _import(f"{module}.models")
        self._cache: dict[str, Model] = {}

    def model(self, name: str) -> Model:
        if name not in self._cache:
            cls = getattr(self.models_module, name)
            self._cache[name] = Model(name)  # placeholder first: models refer to themselves
            self._cache[name] = (
                self._msrest_model(cls) if hasattr(cls, "_attribute_map") else self._typespec_model(cls)
            )
        return self._cache[name]

    # msrest: {'attr': {'key': 'properties.x', 'type': '[Foo]'}}, _validation, _subtype_map
    def _msrest_model(self, cls: type) -> Model:
        model = Model(cls.__name__)
        validation: dict[str, dict[str, Any]] = getattr(cls, "_validation", {}) or {}
        enums = self._init_enums(cls)
        tree: dict[str, Any] = {}
        for attr, spec in cls._attribute_map.items():  # type: ignore[attr-defined]
            keys = [key.replace("\\.", ".") for key in re.split(r"(?<!\\)\.", spec["key"])]
            rules = validation.get(attr, {})
            leaf = Field(
                keys[-1],
                self._msrest_type(spec["type"], enums.get(attr)),
                bool(rules.get("required")),
                bool(rules.get("readonly")),
                bool(rules.get("constant")),
            )
            node = tree
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = leaf
        model.fields = self._msrest_fields(cls.__name__, tree)
        subtype_map: dict[str, dict[str, str]] = getattr(cls, "_subtype_map", {}) or {}
        for attr, mapping in subtype_map.items():
            model.discriminator = cls._attribute_map[attr]["key"]  # type: ignore[attr-defined]
            model.subtypes = dict(mapping)
        return model

    def _msrest_fields(self, owner: str, tree: dict[str, Any]) -> dict[str, Field]:
        """Dotted (flattened) keys become synthetic nested models `Owner.properties`."""
        fields: dict[str, Field] = {}
        for key, node in tree.items():
            if isinstance(node, Field):
                fields[key] = node
                continue
            name = f"{owner}.{key}"
            nested = Model(name, self._msrest_fields(name, node))
            self._cache[name] = nested
            required = any(f.required for f in nested.fields.values())
            readonly = all(f.readonly for f in nested.fields.values())
            fields[key] = Field(key, TypeRef("model", name), required, readonly)
        return fields

    def _msrest_type(self, text: str, enum_values: tuple[str, ...] | None) -> TypeRef:
        if text.startswith("[") and text.endswith("]"):
            return TypeRef("list", item=self._msrest_type(text[1:-1], enum_values))
        if text.startswith("{") and text.endswith("}"):
            return TypeRef("dict", item=self._msrest_type(text[1:-1], enum_values))
        primitive = {
            "str": "str",
            "int": "int",
            "long": "int",
            "float": "float",
            "bool": "bool",
            "object": "any",
            "iso-8601": "str",
            "rfc-1123": "str",
            "duration": "str",
            "date": "str",
            "bytearray": "str",
            "base64": "str",
            "unix-time": "int",
        }
        if text in primitive:
            if text == "str" and enum_values:
                return TypeRef("enum", values=enum_values)
            return TypeRef(primitive[text])
        if hasattr(self.models_module, text):
            return TypeRef("model", text)
        return TypeRef("any")

    def _init_enums(self, cls: type) -> dict[str, tuple[str, ...]]:
        """msrest types an enum as "str": its values are in the `__init__` annotation."""
        enums: dict[str, tuple[str, ...]] = {}
        try:
            parameters = inspect.signature(cls.__init__).parameters  # type: ignore[misc]
        except (TypeError, ValueError):
            return enums
        for name, parameter in parameters.items():
            annotation = parameter.annotation
            text = annotation if isinstance(annotation, str) else str(annotation)
            values = self._enum_values_in(text)
            if values:
                enums[name] = values
        # class-level annotations (readonly fields are not __init__ parameters)
        for base in reversed(cls.__mro__):
            for name, annotation in getattr(base, "__annotations__", {}).items():
                text = annotation if isinstance(annotation, str) else str(annotation)
                values = self._enum_values_in(text)
                if values and name not in enums:
                    enums[name] = values
        return enums

    def _enum_values_in(self, text: str) -> tuple[str, ...]:
        for name in re.findall(r"_models\.(\w+)", text):
            candidate = getattr(self.models_module, name, None)
            if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
                return tuple(str(member.value) for member in candidate)
        return ()

    # TypeSpec: rest_field(name=..., visibility=[...]) with annotations; __mapping__
    def _typespec_model(self, cls: type) -> Model:
        model = Model(cls.__name__)
        annotations: dict[str, Any] = {}
        for base in reversed(cls.__mro__):
            annotations.update(getattr(base, "__annotations__", {}))
        for base in reversed(cls.__mro__):
            for attr, value in vars(base).items():
                if type(value).__name__ != "_RestField":
                    continue
                rest_name = value._rest_name_input or attr
                visibility = value._visibility or []
                annotation = annotations.get(attr, Any)
                optional = _is_optional(annotation)
                readonly = visibility == ["read"]
                model.fields[rest_name] = Field(
                    rest_name,
                    self._typing_type(annotation),
                    required=not optional and not readonly,
                    readonly=readonly,
                )
                if value._is_discriminator:
                    model.discriminator = rest_name
        mapping = cls.__dict__.get("__mapping__")
        if mapping:
            model.subtypes = {value: sub.__name__ for value, sub in mapping.items()}
        return model

    def _typing_type(self, annotation: Any) -> TypeRef:
        if isinstance(annotation, typing.ForwardRef):
            annotation = annotation.__forward_arg__
        if isinstance(annotation, str):
            name = annotation.removeprefix("_models.").strip("\"'")
            candidate = getattr(self.models_module, name, None)
            if isinstance(candidate, type) and issubclass(candidate, enum.Enum):
                return TypeRef("enum", values=tuple(str(m.value) for m in candidate))
            if candidate is not None:
                return TypeRef("model", name)
            return TypeRef("any")
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin in (typing.Union, types.UnionType):
            rest = [a for a in args if a is not type(None)]
            refs = [self._typing_type(a) for a in rest]
            enums = [r for r in refs if r.kind == "enum"]
            if enums:
                return enums[0]
            models = [r for r in refs if r.kind == "model"]
            return models[0] if models else (refs[0] if len(refs) == 1 else TypeRef("any"))
        if origin is typing.Literal:
            return TypeRef("enum", values=tuple(str(getattr(a, "value", a)) for a in args))
        if origin is list:
            return TypeRef("list", item=self._typing_type(args[0]))
        if origin is dict:
            return TypeRef("dict", item=self._typing_type(args[1]))
        if isinstance(annotation, type):
            if issubclass(annotation, enum.Enum):
                return TypeRef("enum", values=tuple(str(m.value) for m in annotation))
            if annotation is bool:
                return TypeRef("bool")
            if annotation is int:
                return TypeRef("int")
            if annotation is float:
                return TypeRef("float")
            if annotation is str or annotation.__module__ == "datetime":
                return TypeRef("str")
            if hasattr(self.models_module, annotation.__name__):
                return TypeRef("model", annotation.__name__)
        return TypeRef("any")


def _is_optional(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in typing.get_args(
        annotation
    )


_DEFINITIONS_CACHE: dict[str, Definitions] = {}


def definitions_for(resource_type: str) -> tuple[Definition, Definitions]:
    definition = DEFINITIONS[resource_type]
    if definition.module not in _DEFINITIONS_CACHE:
        _DEFINITIONS_CACHE[definition.module] = Definitions(definition.module)
    return definition, _DEFINITIONS_CACHE[definition.module]


# --- requests -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    resource_type: str
    url_parameters: dict[str, Any]
    query: dict[str, str]
    body: dict[str, Any] | None


def path_parameters(resource_type: str, method: str = "PUT") -> tuple[str, ...]:
    """The `{names}` of the request's URL template, in order (subscriptionId included)."""
    definition, _ = definitions_for(resource_type)
    builder = _attribute(definition, definition.put_builder if method == "PUT" else definition.delete_builder)
    template = re.search(r'"(/subscriptions/[^"]+|/\{scope\}[^"]*|/\{[^"]+)"', inspect.getsource(builder))
    assert template is not None, f"{builder.__name__}: no URL template"
    return tuple(re.findall(r"\{(\w+)\}", template.group(1)))


def put_request(registration: Any) -> Request:
    """The PUT azure-native sends for a registered resource (a `harness.program.Registration`)."""
    resource_type = registration.type
    definition, defs = definitions_for(resource_type)
    inputs = _plain(registration.inputs)
    in_url = set(path_parameters(resource_type))
    url = {key: value for key, value in inputs.items() if key in in_url}
    rest = {key: value for key, value in inputs.items() if key not in in_url and not key.startswith("__")}
    body = _to_rest(rest, defs.model(definition.body_model), defs)
    return Request("PUT", resource_type, url, {"api-version": definition.azure_native_api_version}, body)


def delete_request(registration: Any) -> Request:
    """The DELETE azure-native sends: URL parameters and `api-version` only."""
    definition, _ = definitions_for(registration.type)
    inputs = _plain(registration.inputs)
    in_url = set(path_parameters(registration.type, "DELETE"))
    url = {key: value for key, value in inputs.items() if key in in_url}
    query = {name: definition.azure_native_api_version for name in AZURE_NATIVE_DELETE_QUERY}
    return Request("DELETE", registration.type, url, query, None)


def _plain(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return _plain(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _to_rest(inputs: dict[str, Any], model: Model, defs: Definitions) -> dict[str, Any]:
    """azure-native's SDK shape → the REST body: flattened inputs go back under `properties`,
    numbers become the schema's int where it asks for one; the rest stays as is (an unknown key
    is kept, for the check to report)."""
    model = _resolved(model, inputs, defs)
    body: dict[str, Any] = {}
    container = model.fields.get("properties")
    for key, value in inputs.items():
        target = _rest_key(key, model)
        if target is None and container is not None and container.type.kind == "model":
            inner = _resolved(defs.model(container.type.name), inputs.get("properties") or {}, defs)
            inner_key = _rest_key(key, inner)
            if inner_key is not None:
                body.setdefault("properties", {})[inner_key] = value
                continue
        body[target or key] = value
    for key, value in list(body.items()):
        target = model.fields.get(key)
        if target is not None:
            body[key] = _value_to_rest(value, target.type, defs)
    return body


def _rest_key(key: str, model: Model) -> str | None:
    """The REST name of an SDK input: the same, or (where the spec's name is not camelCase, e.g.
    Application Insights' `Application_Type`) the one that differs only in case and underscores."""
    if key in model.fields:
        return key
    folded = key.replace("_", "").lower()
    for rest_name in model.fields:
        if rest_name.replace("_", "").lower() == folded:
            return rest_name
    return None


def _value_to_rest(value: Any, ref: TypeRef, defs: Definitions) -> Any:
    if ref.kind == "model" and isinstance(value, dict):
        return _to_rest(value, defs.model(ref.name), defs)
    if ref.kind in ("list", "dict") and ref.item is not None:
        if isinstance(value, list):
            return [_value_to_rest(item, ref.item, defs) for item in value]
        if isinstance(value, dict) and ref.kind == "dict":
            return {key: _value_to_rest(item, ref.item, defs) for key, item in value.items()}
    if ref.kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _resolved(model: Model, value: dict[str, Any], defs: Definitions) -> Model:
    """The subtype a discriminator value selects (the base if none or unknown)."""
    if model.discriminator and isinstance(value, dict):
        chosen = model.subtypes.get(str(value.get(model.discriminator)))
        if chosen is None:
            lowered = {k.lower(): v for k, v in model.subtypes.items()}
            chosen = lowered.get(str(value.get(model.discriminator)).lower())
        if chosen is not None and chosen != model.name:
            return _resolved(defs.model(chosen), value, defs)
    return model


# --- the check ----------------------------------------------------------------------------------


def check_body(resource_type: str, body: dict[str, Any]) -> list[Fault]:
    """Every way `body` breaks the PUT body definition of `resource_type`."""
    definition, defs = definitions_for(resource_type)
    faults: list[Fault] = []
    _check_object(body, defs.model(definition.body_model), defs, "", faults)
    return faults


def check_put(registration: Any) -> list[Fault]:
    """The faults of a registered resource's PUT, and of each resource its ARM template PUTs."""
    request = put_request(registration)
    assert request.body is not None
    faults = check_body(request.resource_type, request.body)
    if registration.type == "azure-native:resources:Deployment":
        template = (request.body.get("properties") or {}).get("template") or {}
        for index, resource in enumerate(template.get("resources") or []):
            faults.extend(_check_template_resource(resource, f"properties.template.resources[{index}]"))
    return faults


def _check_template_resource(resource: dict[str, Any], path: str) -> list[Fault]:
    """A template resource is a full PUT of its type: its body is everything but the template's
    own keys (type, apiVersion, name, dependsOn, ...)."""
    resource_type = TEMPLATE_TYPES.get(str(resource.get("type")))
    if resource_type is None:
        return [Fault(f"{path}.type", "unchecked template resource", str(resource.get("type")))]
    definition, defs = definitions_for(resource_type)
    template_keys = {"type", "apiVersion", "name", "dependsOn", "condition", "copy", "comments", "scope"}
    body = {key: value for key, value in resource.items() if key not in template_keys}
    body = _to_rest(body, defs.model(definition.body_model), defs)
    faults = [Fault(f"{path}.{f.path}", f.rule, f.detail) for f in check_body(resource_type, body)]
    if resource.get("apiVersion") != definition.api_version:
        faults.append(
            Fault(
                f"{path}.apiVersion",
                "api-version differs from the definition's",
                f"{resource.get('apiVersion')} vs {definition.api_version}",
            )
        )
    return faults


def _check_object(value: Any, model: Model, defs: Definitions, path: str, faults: list[Fault]) -> None:
    if not isinstance(value, dict):
        faults.append(Fault(path or "$", "wrong type", f"expected object {model.name}, got {value!r}"))
        return
    if model.discriminator and model.subtypes:
        sent = value.get(model.discriminator)
        known = {k.lower() for k in model.subtypes}
        if sent is None:
            faults.append(Fault(_join(path, model.discriminator), "missing required", "discriminator"))
        elif str(sent).lower() not in known:
            faults.append(
                Fault(
                    _join(path, model.discriminator),
                    "wrong enum",
                    f"{sent!r} not in {sorted(model.subtypes)}",
                )
            )
    model = _resolved(model, value, defs)
    for key, item in value.items():
        where = _join(path, key)
        spec = model.fields.get(key)
        if spec is None:
            faults.append(Fault(where, "unknown property", f"{model.name} has no {key!r}"))
            continue
        if spec.readonly:
            faults.append(Fault(where, "read-only sent", f"{model.name}.{key} is read-only"))
            continue
        if key == model.discriminator:
            continue
        _check_value(item, spec.type, defs, where, faults)
    for key, spec in model.fields.items():
        if spec.required and not spec.readonly and not spec.constant and key not in value:
            faults.append(Fault(_join(path, key), "missing required", f"{model.name} requires {key!r}"))


def _check_value(value: Any, ref: TypeRef, defs: Definitions, path: str, faults: list[Fault]) -> None:
    if value is None or value == rpc.UNKNOWN:
        return
    kind = ref.kind
    if kind == "model":
        _check_object(value, defs.model(ref.name), defs, path, faults)
    elif kind == "list":
        if not isinstance(value, list):
            faults.append(Fault(path, "wrong type", f"expected a list, got {value!r}"))
        elif ref.item is not None:
            for index, item in enumerate(value):
                _check_value(item, ref.item, defs, f"{path}[{index}]", faults)
    elif kind == "dict":
        if not isinstance(value, dict):
            faults.append(Fault(path, "wrong type", f"expected a map, got {value!r}"))
        elif ref.item is not None:
            for key, item in value.items():
                _check_value(item, ref.item, defs, f"{path}.{key}", faults)
    elif kind == "enum":
        if not isinstance(value, str):
            faults.append(Fault(path, "wrong type", f"expected a string enum, got {value!r}"))
        elif value.lower() not in {v.lower() for v in ref.values}:
            faults.append(Fault(path, "wrong enum", f"{value!r} not in {list(ref.values)}"))
    elif kind == "str" and not isinstance(value, str):
        faults.append(Fault(path, "wrong type", f"expected a string, got {value!r}"))
    elif kind == "bool" and not isinstance(value, bool):
        faults.append(Fault(path, "wrong type", f"expected a boolean, got {value!r}"))
    elif kind == "int" and not (
        (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer())
    ):
        faults.append(Fault(path, "wrong type", f"expected an integer, got {value!r}"))
    elif kind == "float" and (isinstance(value, bool) or not isinstance(value, int | float)):
        faults.append(Fault(path, "wrong type", f"expected a number, got {value!r}"))


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- DELETE query parameters ------------------------------------------------------------------------


def required_delete_query_parameters(resource_type: str) -> dict[str, tuple[str, ...]]:
    """The query parameters the DELETE definition of `resource_type` requires besides
    `api-version`: {REST name: allowed values (empty: any string)}.

        required_delete_query_parameters("azure-native:machinelearningservices:Compute")
        # {"underlyingResourceAction": ("Delete", "Detach")}
    """
    definition, defs = definitions_for(resource_type)
    builder = _attribute(definition, definition.delete_builder)
    source = inspect.getsource(builder)
    rest_names = dict(
        (python, rest)
        for rest, python in re.findall(r'_params\["([^"]+)"\]\s*=\s*_SERIALIZER\.query\(\s*"(\w+)"', source)
    )
    hints = typing.get_type_hints(
        builder, {**vars(inspect.getmodule(builder)), "_models": defs.models_module}
    )
    required: dict[str, tuple[str, ...]] = {}
    for name, parameter in inspect.signature(builder).parameters.items():
        if name not in rest_names or rest_names[name] == "api-version":
            continue
        if parameter.default is not inspect.Parameter.empty:
            continue
        ref = defs._typing_type(hints.get(name, str))
        required[rest_names[name]] = ref.values if ref.kind == "enum" else ()
    return required


def missing_delete_query_parameters(resource_type: str) -> dict[str, tuple[str, ...]]:
    """The required DELETE query parameters azure-native's DELETE does not send."""
    return {
        name: values
        for name, values in required_delete_query_parameters(resource_type).items()
        if name not in AZURE_NATIVE_DELETE_QUERY
    }
