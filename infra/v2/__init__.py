"""The azure-v2 target: an Azure ML v2 Kubernetes online endpoint on this stack's own GPU AKS cluster.

Declared with pulumi-azure-native and pulumi-kubernetes resources only (no dynamic provider):

    kubernetes_compute.py   AzureML extension → namespace, InstanceType → Kubernetes compute
    assets.py               blob uploads → CodeVersion, ModelVersion, EnvironmentVersion
    rollout.py              which colour is live, which serves after this run, traffic steps (pure)
    online_endpoint.py      OnlineEndpoint → OnlineDeployment (one colour) → traffic → keys

The design, the blue/green rollout and the v1 ↔ v2 settings: docs/azure-v2.md.
"""
