"""Aliases keep deployed stacks' URNs when components are renamed or re-parented."""

from __future__ import annotations

import pulumi

from infra.renames import with_former_type


def test_the_former_type_is_added_to_the_callers_aliases():
    older = pulumi.Alias(name="older")
    opts = with_former_type(
        "mlsys:old:Thing", pulumi.ResourceOptions(protect=True, aliases=[older])
    )
    assert opts.protect is True
    assert opts.aliases is not None and opts.aliases[0] is older
    added = opts.aliases[1]
    assert isinstance(added, pulumi.Alias) and added.type_ == "mlsys:old:Thing"
    alone = with_former_type("mlsys:old:Thing", None)
    assert alone.aliases is not None
    assert [getattr(a, "type_", None) for a in alone.aliases] == ["mlsys:old:Thing"]
