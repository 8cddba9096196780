"""Subnet layout: carve the VPC CIDR into public, private and database subnets per AZ."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class SubnetPlan:
    public: tuple[str, ...]
    private: tuple[str, ...]
    database: tuple[str, ...]


def plan_subnets(vpc_cidr: str, az_count: int = 3) -> SubnetPlan:
    """Private subnets get the largest blocks (pods take VPC IPs with the VPC CNI).

    The VPC is split in four; three quarters hold one private subnet per AZ, the last
    quarter is split again for the public and database tiers.
    """
    vpc = ipaddress.IPv4Network(vpc_cidr)
    quarters = list(vpc.subnets(prefixlen_diff=2))
    if az_count > 3:
        raise ValueError("the layout supports up to 3 availability zones")
    small = list(quarters[3].subnets(prefixlen_diff=3))  # 8 blocks of 1/32 of the VPC
    return SubnetPlan(
        public=tuple(str(n) for n in small[:az_count]),
        private=tuple(str(n) for n in quarters[:az_count]),
        database=tuple(str(n) for n in small[4 : 4 + az_count]),
    )
