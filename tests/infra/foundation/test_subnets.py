"""Subnet layout: nine blocks inside the VPC, private ones the largest, none overlapping."""

from __future__ import annotations

import ipaddress

import pytest

from infra.foundation.subnets import plan_subnets


@pytest.mark.parametrize("cidr", ["10.10.0.0/16", "10.0.0.0/20", "172.20.0.0/18"])
def test_subnets_fit_the_vpc_and_never_overlap(cidr):
    layout = plan_subnets(cidr)
    vpc = ipaddress.IPv4Network(cidr)
    blocks = [ipaddress.IPv4Network(c) for c in (*layout.public, *layout.private, *layout.database)]
    assert len(blocks) == 9 and all(b.subnet_of(vpc) for b in blocks)
    for i, a in enumerate(blocks):
        assert not any(a.overlaps(b) for b in blocks[i + 1 :])
    assert ipaddress.ip_network(layout.private[0]).num_addresses == vpc.num_addresses // 4


def test_more_than_three_zones_is_refused():
    with pytest.raises(ValueError, match="up to 3 availability zones"):
        plan_subnets("10.0.0.0/16", 4)
