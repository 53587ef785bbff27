"""The program: read the stack config, declare the stack's target, export. Nothing else.

target local: service_deployment.declare_local_target, the ModelDeployment only (Azure ML's
    inference server on this machine); no Azure resource.
target azure, azure-v2: azure_base.declare_azure_base (names, an adopted cluster's pool read and
    checked, the capacity and cost lines, the MlWorkspace), then
    azure:    v1/target.py, GpuAksCluster (or an AdoptedCluster) → ModelDeployment (SDK v1);
    azure-v2: v2/target.py, the GPU AKS, AzureML extension, Kubernetes compute (or those of an
              adopted cluster), assets, online endpoint with a blue/green deployment.
"""

from __future__ import annotations

import os

import pulumi

from azure_base import declare_azure_base
from config import load_stack_config
from config.pulumi_config import pulumi_config_source
from service_deployment import declare_local_target
from v1.target import declare_azure_target
from v2.target import declare_azure_v2_target

values, secret_keys = pulumi_config_source()
cfg = load_stack_config(values, stack=pulumi.get_stack(), secret_keys=secret_keys)

if cfg.target == "local":
    exports = declare_local_target(cfg)
else:
    base = declare_azure_base(cfg, values, os.environ)
    declare = declare_azure_target if cfg.target == "azure" else declare_azure_v2_target
    exports = {**base.exports, **declare(base)}
for name, value in {"target": cfg.target, "service_name": cfg.service_name, **exports}.items():
    pulumi.export(name, value)
