"""`KubernetesCompute`: this stack's own GPU AKS cluster (gpu_aks.py, as v1 declares it), or a
cluster it adopted by id (adopted_cluster.py: then no cluster, no device plugin: its owner's), the
AzureML extension on it, the namespace and GPU instance type it serves from, and the Azure ML
compute that attaches the cluster.

    KubernetesCompute (amlgpu:azure:KubernetesCompute)
        ├── ManagedCluster, kubernetes Provider, DaemonSet (NVIDIA device plugin)   gpu_aks.py
        ├── Extension      Microsoft.AzureML.Kubernetes in namespace azureml (inference router),
        │                  system-assigned identity
        ├── Namespace      where the online deployments run (must exist before the compute)
        ├── InstanceType   amlarc.azureml.com/v1alpha1: node selector, CPU/memory/GPU per replica
        ├── Compute        computeType Kubernetes: the cluster id and the namespace
        └── ComputeDetachment   detaches the Compute when it goes (compute_detachment.py)

The extension's configuration settings are the ones Microsoft's own installers send (the ARM
template `deployextension.json` in Azure/AML-Kubernetes and the az CLI's
`k8s-extension` AzureMLKubernetes.py): a raw ARM extension gets none of the CLI's defaults, so
`extension_settings` sends every one of them itself; tests/infra pins the list. The cluster
already runs the pinned NVIDIA device plugin (gpu_aks.py), so the extension installs none: two
plugins would advertise the same GPUs twice. A cluster of its own, never v1's: the v1 attach
installs v1's azureml-fe router, and the extension's health check then fails
(AZUREML_FE_ROLE_CONFLICT).

An attached Kubernetes compute can't be updated (Azure/azureml-examples#3030): it sends no tags
and no default instance type, is replaced (delete first: the name stays) when anything it sends
changes, including the cluster's id (a vmSize change replaces the cluster, which makes the id
unknown to the engine, so the compute, and the endpoint on it, are replaced after it), and
ignores what a refresh reports that it never sent. Its DELETE is the `ComputeDetachment`'s, with
the `underlyingResourceAction=Detach` azure-native's omits.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s
from pulumi_azure_native import kubernetesconfiguration, machinelearningservices

from adopted_cluster import AdoptedCluster
from aliases import drop_api_version_aliases
from compute_detachment import ComputeDetachment
from config import SslConfig
from gpu_aks import GPU_POOL_NAME, GpuAksArgs, declare_gpu_aks
from rules.extension_pods import router_ha

EXTENSION_TYPE = "Microsoft.AzureML.Kubernetes"
EXTENSION_NAMESPACE = "azureml"
INSTANCE_TYPE_API = "amlarc.azureml.com/v1alpha1"
# Exactly what the compute sends; and what Azure reports back that it never sends.
COMPUTE_REPLACE_ON = [
    "location",
    "properties.computeType",
    "properties.resourceId",
    "properties.description",
    "properties.properties.namespace",
]
COMPUTE_REFRESHED_ONLY = [
    "properties.computeLocation",
    "properties.disableLocalAuth",
    "properties.properties.defaultInstanceType",
    "properties.properties.extensionInstanceReleaseTrain",
    "properties.properties.extensionPrincipalId",
    "properties.properties.instanceTypes",
    "properties.properties.relayConnectionString",
    "properties.properties.serviceBusConnectionString",
    "properties.properties.vcName",
]


def instance_type_spec(
    cpu_cores: float, memory_gb: float, gpus: int, pool: str = GPU_POOL_NAME
) -> InstanceTypeSpec:
    """The instance type of one replica on the GPU pool `pool` (the stack's own by default),
    named after its size (e.g. gpu1-cpu2-mem4)."""
    name = f"gpu{gpus}-cpu{_quantity(cpu_cores)}-mem{_quantity(memory_gb)}".replace(".", "p")
    return InstanceTypeSpec(name, cpu_cores, memory_gb, gpus, {"agentpool": pool})


@dataclass(frozen=True)
class InstanceTypeSpec:
    """One replica's resources; requests equal limits, so a replica gets exactly this."""

    name: str
    cpu_cores: float
    memory_gb: float
    gpus: int
    node_selector: dict[str, str]

    def manifest_spec(self) -> dict[str, object]:
        amounts = {"cpu": _quantity(self.cpu_cores), "memory": f"{_quantity(self.memory_gb)}Gi"}
        return {
            "nodeSelector": dict(self.node_selector),
            "resources": {"requests": amounts, "limits": {**amounts, "nvidia.com/gpu": self.gpus}},
        }


def _quantity(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def extension_settings(
    *,
    cluster_id: str,
    cluster_name: str,
    location: str,
    node_count: int,
    cluster_purpose: str,
    internal_load_balancer: bool,
    ssl_cname: str | None,
) -> dict[str, str]:
    """The extension's configurationSettings for inference on AKS (values are strings, as ARM wants)."""
    settings = {
        "enableTraining": "False",
        "enableInference": "True",
        "inferenceRouterServiceType": "LoadBalancer",
        "inferenceRouterHA": str(router_ha(node_count)),
        "installNvidiaDevicePlugin": "False",  # gpu_aks.py's pinned plugin runs already
        "installPromOp": "True",
        "installVolcano": "False",  # the training scheduler; this cluster only serves
        "installDcgmExporter": "False",
        "clusterPurpose": cluster_purpose,
        # What the CLI derives from the cluster itself:
        "cluster_name": cluster_id,
        "clusterId": cluster_id,
        "prometheus.prometheusSpec.externalLabels.cluster_name": cluster_id,
        "cluster_name_friendly": cluster_name,
        "domain": f"{location}.cloudapp.azure.com",
        "location": location,
        "jobSchedulerLocation": location,
        "servicebus.enabled": "false",
        "relayserver.enabled": "false",
        "nginxIngress.enabled": "true",
    }
    if internal_load_balancer:
        settings["internalLoadBalancerProvider"] = "azure"
        settings["scoringFe.serviceType.internalLoadBalancer"] = "True"
    if ssl_cname:
        settings["sslCname"] = ssl_cname
    else:
        settings["allowInsecureConnections"] = "True"
    return settings


@dataclass
class KubernetesComputeArgs:
    resource_group_name: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    location: str  # the cluster's region (the extension's settings)
    workspace_location: pulumi.Input[str]  # the compute lives with the workspace
    cluster: GpuAksArgs | AdoptedCluster  # the stack's own cluster, or one it adopted (no cluster declared)
    compute_name: str
    namespace: str
    instance_type: InstanceTypeSpec
    cluster_purpose: str
    internal_load_balancer: bool = False
    ssl: SslConfig | None = None  # a certificate pair and its cname (v2 has no Microsoft-issued one)
    tags: pulumi.Input[dict[str, str]] = field(default_factory=dict)
    after: list[pulumi.Resource] = field(default_factory=list)  # outlive the cluster on destroy


class KubernetesCompute(pulumi.ComponentResource):
    """Outputs: `cluster_name`, `cluster_id`, `kubeconfig` (secret; None on an adopted cluster),
    `compute_id`, `compute_name`, `instance_type`; `serving_on` for what deploys onto it."""

    cluster_name: pulumi.Output[str]
    cluster_id: pulumi.Output[str]
    kubeconfig: pulumi.Output[str] | None
    compute_id: pulumi.Output[str]
    compute_name: pulumi.Output[str]
    instance_type: str
    extension: kubernetesconfiguration.Extension
    compute: machinelearningservices.Compute
    detachment: ComputeDetachment

    def __init__(
        self, name: str, args: KubernetesComputeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        own = pulumi.ResourceOptions(transformations=[drop_api_version_aliases])
        merged = pulumi.ResourceOptions.merge(opts, own)
        super().__init__("amlgpu:azure:KubernetesCompute", name, None, merged)
        if isinstance(args.cluster, AdoptedCluster):
            pool = args.cluster.pool
            self.cluster_name = args.cluster.cluster_name
            self.cluster_id = args.cluster.cluster_id
            self.kubeconfig = None  # not this stack's cluster: its credentials are its owner's to give
            kubernetes, on_ready = args.cluster.kubernetes(), []
            cluster_group: pulumi.Input[str] = pool.resource_group
            node_count = pool.total_nodes
        else:
            aks = declare_gpu_aks(name, args.cluster, parent=self, after=args.after)
            self.cluster_name = aks.cluster.name
            self.cluster_id = aks.cluster.id
            self.kubeconfig = aks.kubeconfig
            kubernetes, on_ready = aks.kubernetes, [aks.cluster, aks.device_plugin]
            cluster_group = args.resource_group_name
            node_count = args.cluster.node_count
        cname = args.ssl.cname if args.ssl is not None else None
        settings = pulumi.Output.all(self.cluster_id, self.cluster_name).apply(
            lambda ids: extension_settings(
                cluster_id=ids[0],
                cluster_name=ids[1],
                location=args.location,
                node_count=node_count,
                cluster_purpose=args.cluster_purpose,
                internal_load_balancer=args.internal_load_balancer,
                ssl_cname=cname,
            )
        )
        self.extension = kubernetesconfiguration.Extension(
            f"{name}-azureml-extension",
            extension_name="azureml",
            extension_type=EXTENSION_TYPE,
            cluster_rp="Microsoft.ContainerService",
            cluster_resource_name="managedClusters",
            cluster_name=self.cluster_name,
            resource_group_name=cluster_group,  # an extension lives with its cluster
            release_train="stable",
            auto_upgrade_minor_version=True,
            identity=kubernetesconfiguration.IdentityArgs(
                type=kubernetesconfiguration.ResourceIdentityType.SYSTEM_ASSIGNED
            ),
            scope=kubernetesconfiguration.ScopeArgs(
                cluster=kubernetesconfiguration.ScopeClusterArgs(release_namespace=EXTENSION_NAMESPACE)
            ),
            configuration_settings=settings,
            configuration_protected_settings=_protected_settings(args.ssl),
            opts=pulumi.ResourceOptions(parent=self, depends_on=on_ready),
        )
        on_cluster = pulumi.ResourceOptions(parent=self, provider=kubernetes, depends_on=[self.extension])
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata={"name": args.namespace}, opts=on_cluster
        )
        # The InstanceType CRD comes with the extension, hence the dependency.
        instance_type = k8s.apiextensions.CustomResource(
            f"{name}-instance-type",
            api_version=INSTANCE_TYPE_API,
            kind="InstanceType",
            metadata={"name": args.instance_type.name},
            spec=args.instance_type.manifest_spec(),
            opts=on_cluster,
        )
        self.compute = machinelearningservices.Compute(
            f"{name}-compute",
            compute_name=args.compute_name,
            resource_group_name=args.resource_group_name,
            workspace_name=args.workspace_name,
            location=args.workspace_location,
            properties=machinelearningservices.KubernetesArgs(
                compute_type="Kubernetes",
                resource_id=self.cluster_id,
                description=f"AKS cluster for online endpoints (namespace {args.namespace})",
                # No defaultInstanceType: every deployment names its instance type, and an attached
                # Kubernetes compute can't be updated (Azure/azureml-examples#3030), so nothing a
                # routine change touches (tags, the replica's CPU/memory/GPU) is sent here.
                properties=machinelearningservices.KubernetesPropertiesArgs(
                    namespace=namespace.metadata["name"]
                ),
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[self.extension, namespace, instance_type],
                replace_on_changes=COMPUTE_REPLACE_ON,
                ignore_changes=COMPUTE_REFRESHED_ONLY,
                delete_before_replace=True,
                retain_on_delete=True,  # ComputeDetachment detaches it
            ),
        )
        self.detachment = ComputeDetachment(f"{name}-compute-detach", self.compute, parent=self)
        self.compute_id = self.compute.id
        self.compute_name = self.compute.name
        self.instance_type = args.instance_type.name
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "cluster_id": self.cluster_id,
                "kubeconfig": self.kubeconfig,
                "compute_id": self.compute_id,
                "compute_name": self.compute_name,
            }
        )

    @property
    def serving_on(self) -> list[pulumi.Resource]:
        """What a service on this compute depends on: created after, deleted before."""
        return [self.compute, self.detachment]


def _protected_settings(ssl: SslConfig | None) -> pulumi.Output[dict[str, str]] | None:
    """The router's TLS certificate and key, base64 as the extension wants them, secret."""
    if ssl is None or ssl.certificate is None or ssl.key is None:
        return None
    encode = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
    return pulumi.Output.secret(
        {"scoringFe.sslCert": encode(ssl.certificate.reveal()), "scoringFe.sslKey": encode(ssl.key.reveal())}
    )
