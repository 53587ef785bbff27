"""`drop_api_version_aliases` on real `pulumi.ResourceOptions`: what it keeps and what it leaves alone."""

from __future__ import annotations

import pulumi

from aliases import drop_api_version_aliases


def _args(aliases: list[pulumi.Alias]) -> pulumi.ResourceTransformationArgs:
    opts = pulumi.ResourceOptions(aliases=aliases, protect=True, ignore_changes=["tags"])
    return pulumi.ResourceTransformationArgs(
        resource=None,  # type: ignore[arg-type]  # not read by the transformation
        type_="azure-native:containerservice:ManagedCluster",
        name="gpu-aks",
        props={"resourceName": "aks-x"},
        opts=opts,
    )


def test_only_api_version_aliases_are_dropped_and_every_other_option_kept():
    renamed = pulumi.Alias(name="old-name")
    args = _args([pulumi.Alias(type_="azure-native:containerservice/v20170831:ManagedCluster"), renamed])

    result = drop_api_version_aliases(args)

    assert result is not None
    assert result.opts.aliases == [renamed]
    assert (result.opts.protect, result.opts.ignore_changes) == (True, ["tags"])
    assert result.props == {"resourceName": "aks-x"}


def test_the_callers_options_are_not_changed():
    version_alias = pulumi.Alias(type_="azure-native:storage/v20230101:StorageAccount")
    args = _args([version_alias])

    result = drop_api_version_aliases(args)

    assert result is not None and result.opts.aliases is None
    assert args.opts.aliases == [version_alias]


def test_options_without_version_aliases_pass_through_untouched():
    assert drop_api_version_aliases(_args([pulumi.Alias(name="old-name")])) is None
