"""The azure target (Azure ML SDK v1 on AKS): the cluster component and its attach, and
`target.declare_azure_target`, which __main__.py calls."""
