"""Aliases for components and resources renamed since stacks were first deployed."""

from __future__ import annotations

import pulumi


def with_former_type(
    former_type: str, opts: pulumi.ResourceOptions | None
) -> pulumi.ResourceOptions:
    """The caller's options plus an alias to the type token a deployed stack knows.

    Without it `pulumi up` would see a new component and replace every child; children
    inherit the alias through their parent, so one alias on the component is enough.
    """
    return pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=former_type)])
    )


def former_child_urn(
    parent_name: str, parent_type: str, name: str, type_: str
) -> pulumi.Output[str]:
    """The URN a resource had as a child of a component at the top of the stack."""
    return pulumi.create_urn(name, type_, parent=pulumi.create_urn(parent_name, parent_type))
