"""Config validators: good values pass through normalised, bad ones name the key."""

from __future__ import annotations

import pytest

from infra import config_rules as rules
from infra.config_rules import ConfigError


def test_values_pass_through_normalised():
    assert rules.vpc_cidr("10.20.0.0/16") == "10.20.0.0/16"
    assert rules.cidr_list("apiCidrs", ["192.0.2.0/24"]) == ("192.0.2.0/24",)
    assert rules.instance_types("types", ["m7i.large", "t3.2xlarge"]) == ("m7i.large", "t3.2xlarge")
    assert rules.integer("n", 5, 1, 10) == 5
    assert rules.boolean("b", False) is False
    assert rules.one_of("mode", "single", ("single", "per-az")) == "single"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rules.integer("n", 11, 1, 10), "mlsys:n is 11; expected an integer from 1 to 10"),
        (lambda: rules.integer("n", True, 0, 10), "mlsys:n is True"),
        (lambda: rules.integer("n", 2.0, 0, 10), "mlsys:n is 2.0"),
        (lambda: rules.boolean("b", "yes"), "mlsys:b is 'yes'; expected true or false"),
        (lambda: rules.text("t", "  "), "mlsys:t must be a non-empty string"),
        (lambda: rules.cidr_list("c", []), "mlsys:c must be a non-empty list"),
        (lambda: rules.cidr_list("c", ["10.0.0.1/8"]), "mlsys:c has an invalid CIDR block"),
        (lambda: rules.instance_types("i", ["huge"]), "mlsys:i is 'huge'; expected EC2"),
        (lambda: rules.one_of("m", "x", ("a", "b")), "mlsys:m is 'x'; allowed values: a, b"),
        (lambda: rules.vpc_cidr("10.0.0.0/24"), "from /16 to /20"),
    ],
)
def test_bad_values_name_the_key(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


@pytest.mark.parametrize(
    ("pattern", "good", "bad"),
    [
        (rules.DB_CLASS, "db.r7g.large", "db.x1.large"),
        (rules.ROLE_ARN, "arn:aws:iam::111122223333:role/admin", "arn:aws:iam::1:role/a"),
        (rules.DNS, "api.example.com", "API.example.com"),
        (rules.EMAIL, "a@b.io", "a@b"),
        (rules.REPO, "org/repo", "org"),
        (
            rules.IMAGE_WITH_DIGEST,
            "1.dkr.ecr.eu-west-1.amazonaws.com/app@sha256:" + "a" * 64,
            "1.dkr.ecr.eu-west-1.amazonaws.com/app:latest",
        ),
    ],
)
def test_patterns(pattern, good, bad):
    assert pattern.match(good) and not pattern.match(bad)
