"""The stack config, as a package: `from config import load_stack_config, StackConfig, ...`.

Only re-exports: `config/stack.py` reads the top-level keys and holds `load_stack_config`, each
section has its own module (stack.py's docstring lists them). The submodules import each other
as `config.<module>`, never from this package's namespace, so importing any of them first is safe.
"""

from __future__ import annotations

from config.reader import NAMESPACE, ConfigError, Problem
from config.stack import load_stack_config
from config.types import ClusterConfig, ExistingWorkspace, Secret, SslConfig, StackConfig

__all__ = [
    "NAMESPACE",
    "ClusterConfig",
    "ConfigError",
    "ExistingWorkspace",
    "Problem",
    "Secret",
    "SslConfig",
    "StackConfig",
    "load_stack_config",
]
