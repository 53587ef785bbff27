"""The model deployment: a Pulumi dynamic resource, its provider and its backends.

Imported from `infra/` as the top-level package `deployment` (the engine runs the program and
the dynamic provider host with `infra/` as the working directory, and the SDK pickles the
provider class by reference to this module path). Never import it as `infra.deployment`.
"""
