"""Mocks: whole numbers stay integers, auto-names appear, zones belong to the stack's region."""

from __future__ import annotations

import pulumi
import pytest

from infra.offline.mocks import (
    PlanMocks,
    UnmockedDataSourceError,
    auto_name,
    restore_integers,
    zone_ids,
)


def test_integral_floats_become_ints_all_the_way_down():
    assert restore_integers({"a": [70.0, {"b": 6.0}], "c": 0.5, "d": True, "e": "1.0"}) == {
        "a": [70, {"b": 6}],
        "c": 0.5,
        "d": True,
        "e": "1.0",
    }
    assert type(restore_integers(5432.0)) is int


@pytest.mark.parametrize(
    ("region", "first"),
    [
        ("eu-west-1", "euw1-az1"),
        ("us-east-1", "use1-az1"),
        ("ap-southeast-2", "apse2-az1"),
        ("eu-central-1", "euc1-az1"),
        ("us-gov-west-1", "usgw1-az1"),
    ],
)
def test_zone_ids_follow_the_region(region, first):
    assert zone_ids(region)[0] == first and len(zone_ids(region)) == 3


def test_zones_are_answered_for_the_mocks_region():
    call = pulumi.runtime.MockCallArgs(
        token="aws:index/getAvailabilityZones:getAvailabilityZones", args={}, provider=""
    )
    result, _ = PlanMocks("us-east-1").call(call)
    assert result["names"] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert result["zoneIds"] == ["use1-az1", "use1-az2", "use1-az3"]


def test_a_region_name_that_is_not_one_is_refused():
    with pytest.raises(ValueError, match="does not look like an AWS region"):
        zone_ids("mars-up-1")


def test_auto_names_are_stable_and_lower_case_for_rds_groups():
    generated = auto_name("aws:rds/parameterGroup:ParameterGroup", "Prod-DB-params", {})
    assert generated["name"] == generated["name"].lower()
    assert generated["name"].startswith("prod-db-params-") and len(generated["name"]) == 22
    assert generated == auto_name("aws:rds/parameterGroup:ParameterGroup", "Prod-DB-params", {})
    assert auto_name("aws:ec2/securityGroup:SecurityGroup", "sg", {"name": "given"}) == {
        "name": "given"
    }
    assert auto_name("aws:kms/key:Key", "key", {}) == {}


def test_a_data_source_without_a_mock_stops_the_plan():
    call = pulumi.runtime.MockCallArgs(token="aws:index/getAmi:getAmi", args={}, provider="")
    with pytest.raises(UnmockedDataSourceError, match="aws:index/getAmi:getAmi"):
        PlanMocks("eu-west-1").call(call)
