"""A resource transformation that drops pulumi-azure-native's API-version aliases.

Every azure-native resource declares one alias per historical API version of its type
(`azure-native:containerservice/v20170831:ManagedCluster`, ... 111 for ManagedCluster, about 270
for this program). They exist so that stacks created with older provider versions keep their
resources' identity. This project's stacks never had those types, and the SDK turns each alias
into URN outputs at construction: measured under mocks, the aliases cost 4 s of a 4.2 s program
evaluation (bench/program_eval.py). Dropping only those version aliases changes nothing a stack
of this project can match; any other alias passes through.

Why the `transformations` option and not its successor `transforms`: transforms run in the
engine's callback server, which `pulumi.runtime.set_mocks` (the program's unit tests) does not
provide, so a component using them cannot be evaluated under mocks at all. The options are
copied with `copy.copy`, not the SDK's private `ResourceOptions._copy()`.
"""

from __future__ import annotations

import copy
import re

import pulumi

_API_VERSION_MODULE = re.compile(r"^azure-native:[a-z0-9]+/v\d{8}[a-z0-9]*:")


def _is_api_version_alias(alias: object) -> bool:
    type_ = getattr(alias, "type_", None)
    return isinstance(type_, str) and bool(_API_VERSION_MODULE.match(type_))


def drop_api_version_aliases(
    args: pulumi.ResourceTransformationArgs,
) -> pulumi.ResourceTransformationResult | None:
    """For `ResourceOptions(transformations=[...])` on a component: applies to its children."""
    aliases = args.opts.aliases
    if not aliases:
        return None
    kept = [alias for alias in aliases if not _is_api_version_alias(alias)]
    if len(kept) == len(aliases):
        return None
    opts = copy.copy(args.opts)  # the caller's options stay as they were
    opts.aliases = kept or None
    return pulumi.ResourceTransformationResult(props=args.props, opts=opts)
