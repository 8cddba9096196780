"""Validators for stack config values: each refuses a bad value with a message naming the key."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

PROJECT = "mlsys"

INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.(nano|micro|small|medium|large|[0-9]*xlarge|metal)$")
DB_CLASS = re.compile(r"^db\.(t4g|t3|m6g|m6i|m7g|m7i|r6g|r6i|r7g|r7i)\.[a-z0-9]+$")
IMAGE_WITH_DIGEST = re.compile(
    r"^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$"
)
ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
ROLE_ARN = re.compile(r"^arn:aws:iam::[0-9]{12}:role/[\w+=,.@/-]+$")
OIDC_ARN = re.compile(
    r"^arn:aws:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com$"
)
REPO = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
DNS = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")


class ConfigError(ValueError):
    """A stack setting is missing, malformed, or unsafe; the message names the key."""


def key(name: str) -> str:
    return f"{PROJECT}:{name}"


def one_of(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{key(name)} is {value!r}; allowed values: {', '.join(allowed)}")
    return str(value)


def matching(name: str, value: Any, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str) or not pattern.match(value):
        raise ConfigError(f"{key(name)} is {value!r}; expected {what}")
    return value


def integer(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{key(name)} is {value!r}; expected an integer from {low} to {high}")
    return value


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key(name)} is {value!r}; expected true or false")
    return value


def text(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key(name)} must be a non-empty string")
    return value


def vpc_cidr(value: Any) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key('vpcCidr')} is {value!r}; expected a CIDR block: {exc}") from None
    if network.version != 4 or not network.is_private or not 16 <= network.prefixlen <= 20:
        raise ConfigError(
            f"{key('vpcCidr')} is {value!r}; expected a private IPv4 block from /16 to /20, "
            "large enough for 9 subnets over 3 availability zones"
        )
    return str(network)


def cidr_list(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{key(name)} must be a non-empty list of CIDR blocks")
    try:
        return tuple(str(ipaddress.ip_network(item, strict=True)) for item in value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key(name)} has an invalid CIDR block: {exc}") from None


def instance_types(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{key(name)} must be a non-empty list of EC2 instance types")
    for item in value:
        matching(name, item, INSTANCE_TYPE, "EC2 instance types such as m7i.large")
    return tuple(value)
