"""Stack configuration: every stack parses, policy is derived here, bad values name the key."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, get_args

import pulumi
import pytest

from infra.config import (
    EKS_VERSIONS,
    ENVIRONMENTS,
    KEYS,
    NAT_MODES,
    POSTGRES_MAJORS,
    ConfigError,
    EksVersion,
    Environment,
    NatMode,
    PostgresMajor,
    StackConfig,
    parse,
    read_pulumi_config,
)
from infra.stack_file import STACKS, project_config_declarations, read_stack_file


def _decoded(stack: str) -> tuple[dict[str, Any], str]:
    raw = read_stack_file(stack)
    region = raw.pop("aws:region")
    values: dict[str, Any] = {}
    for key, text in raw.items():
        name = key.removeprefix("mlsys:")
        kind = KEYS[name][0]
        decoders: dict[str, Callable[[str], Any]] = {
            "boolean": lambda t: t == "true",
            "integer": int,
            "array": json.loads,
            "string": str,
        }
        values[name] = decoders[kind](text)
    return values, region


def _parse(stack: str = "prod", **changes: Any) -> StackConfig:
    values, region = _decoded(stack)
    values.update(changes)
    return parse({k: v for k, v in values.items() if v is not None}, region)


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_file_is_valid_through_pulumi_config(stack: str):
    pulumi.runtime.set_all_config(read_stack_file(stack))
    try:
        config = read_pulumi_config()
    finally:
        pulumi.runtime.set_all_config({})
    assert config.environment == stack
    assert config.tags["environment"] == stack


def test_stacks_differ_where_they_should():
    dev, prod = _parse("dev"), _parse("prod")
    assert (dev.nat_mode, prod.nat_mode) == ("single", "per-az")
    assert (dev.db_multi_az, prod.db_multi_az) == (False, True)
    assert prod.db_backup_retention_days >= 14 > dev.db_backup_retention_days
    assert prod.workload_nodes.max_size > dev.workload_nodes.max_size
    assert prod.dr_region and not dev.dr_region


@pytest.mark.parametrize(
    ("stack", "nat_per_az", "final_snapshot", "retention_days"),
    [("dev", False, False, 30), ("staging", False, True, 30), ("prod", True, True, 365)],
)
def test_policy_is_derived_from_the_config(stack, nat_per_az, final_snapshot, retention_days):
    config = _parse(stack)
    assert config.nat_per_az is nat_per_az
    assert config.final_snapshot is final_snapshot
    assert config.noncurrent_version_retention_days == retention_days


def test_nat_per_az_follows_nat_mode_not_the_environment():
    assert _parse("dev", natMode="per-az").nat_per_az is True


def test_allowed_values_come_from_the_literal_types():
    assert ENVIRONMENTS == get_args(Environment) == STACKS
    assert get_args(EksVersion) == EKS_VERSIONS
    assert get_args(PostgresMajor) == POSTGRES_MAJORS
    assert NAT_MODES == get_args(NatMode) == ("single", "per-az")


def test_pulumi_yaml_declares_exactly_the_keys_the_program_reads():
    declared = project_config_declarations()
    assert set(declared) == set(KEYS)
    for name, (kind, _) in KEYS.items():
        assert declared[name]["type"] == kind, name
        assert len(declared[name]["description"]) > 20, name


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"dbMultiAz": False}, "mlsys:dbMultiAz must be true in prod"),
        ({"dbDeletionProtection": False}, "mlsys:dbDeletionProtection must be true in prod"),
        ({"dbBackupRetentionDays": 7}, "mlsys:dbBackupRetentionDays must be >= 14 in prod"),
        ({"natMode": "single"}, "mlsys:natMode must be 'per-az' in prod"),
        ({"natMode": "zonal"}, "mlsys:natMode is 'zonal'; allowed values: single, per-az"),
        ({"drRegion": None}, "mlsys:drRegion must be set in prod"),
        ({"drRegion": "eu-west-1"}, "mlsys:drRegion must be a different AWS region"),
        ({"systemNodeMin": 1, "systemNodeDesired": 1}, "mlsys:systemNodeMin must be >= 2 in prod"),
        ({"vpcCidr": "10.0.0.0/8"}, "mlsys:vpcCidr is '10.0.0.0/8'"),
        ({"vpcCidr": "8.8.0.0/16"}, "private IPv4 block"),
        ({"vpcCidr": "10.0.0.1/16"}, "expected a CIDR block"),
        ({"dbInstanceClass": "db.huge.enormous"}, "mlsys:dbInstanceClass"),
        ({"dbEngineMajor": "15"}, "mlsys:dbEngineMajor is '15'; allowed values: 16, 17"),
        ({"clusterVersion": "1.20"}, "mlsys:clusterVersion is '1.20'; allowed values"),
        ({"environment": "qa"}, "mlsys:environment is 'qa'; allowed values: dev, staging, prod"),
        ({"appImage": "repo/app:latest"}, "mlsys:appImage .* pinned by digest"),
        ({"systemNodeDesired": 9}, "mlsys:systemNodeDesired must lie between"),
        ({"workloadNodeInstanceTypes": []}, "mlsys:workloadNodeInstanceTypes"),
        ({"adminRoleArn": "admin"}, "mlsys:adminRoleArn"),
        ({"owner": None}, "mlsys:owner is required"),
        ({"dbAllocatedStorageGb": True}, "mlsys:dbAllocatedStorageGb"),
        ({"surprise": 1}, "unknown config key.*mlsys:surprise"),
    ],
)
def test_bad_values_fail_naming_the_key(changes: dict[str, Any], message: str):
    with pytest.raises(ConfigError, match=message):
        _parse("prod", **changes)


def test_dev_may_use_a_tag_but_staging_may_not():
    assert _parse("dev", appImage="repo/app:dev").app_image == "repo/app:dev"
    with pytest.raises(ConfigError, match="mlsys:trainingImage"):
        _parse("staging", trainingImage="repo/training:dev")


def test_wrong_type_in_pulumi_config_names_the_key():
    raw = read_stack_file("dev")
    raw["mlsys:systemNodeMin"] = "three"
    pulumi.runtime.set_all_config(raw)
    try:
        with pytest.raises(ConfigError, match="mlsys:systemNodeMin has the wrong type"):
            read_pulumi_config()
    finally:
        pulumi.runtime.set_all_config({})


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_the_whole_internet_may_not_reach_a_non_dev_cluster_api(stack):
    with pytest.raises(ConfigError, match=r"mlsys:clusterApiCidrs contains 0\.0\.0\.0/0"):
        _parse(stack, clusterApiCidrs=["0.0.0.0/0"])
    assert _parse(stack, clusterApiCidrs=None).private_cluster_endpoint is True
    assert _parse("dev", clusterApiCidrs=["0.0.0.0/0"]).cluster_api_cidrs == ("0.0.0.0/0",)


def test_each_environment_names_its_own_account():
    accounts = {stack: _parse(stack).account_id for stack in STACKS}
    assert len(set(accounts.values())) == 3
    with pytest.raises(ConfigError, match="mlsys:accountId"):
        _parse("dev", accountId="12345")


def test_prod_needs_a_backup_lock_and_platform_images_need_digests():
    assert _parse("prod").backup_lock_days == 30
    with pytest.raises(ConfigError, match="mlsys:backupLockDays must be set in prod"):
        _parse("prod", backupLockDays=None)
    with pytest.raises(ConfigError, match="mlsys:dbClientImage"):
        _parse("dev", dbClientImage="postgres:17-alpine")
    with pytest.raises(ConfigError, match=r"mlsys:vaultImage.*digest"):
        _parse("dev", vaultImage="hashicorp/vault:1.20.4")


def test_vault_runs_three_voters_outside_dev_and_its_job_image_is_pinned():
    replicas = {stack: _parse(stack).platform.vault_replicas for stack in STACKS}
    assert replicas == {"dev": 1, "staging": 3, "prod": 3}
    assert "@sha256:" in _parse("prod").platform.vault_image


def test_backups_outlive_the_buckets_object_lock():
    assert _parse("prod").platform.backup_retention_days == 30
    with pytest.raises(ConfigError, match=r"mlsys:backupRetentionDays \(14\) must be at least"):
        _parse("prod", backupRetentionDays=14)
    with pytest.raises(ConfigError, match="mlsys:backupRetentionDays"):
        _parse("dev", backupRetentionDays=0)


def test_log_index_retention_is_parsed_and_bounded():
    assert _parse("prod").platform.log_index_retention_days == 30
    assert [_parse(s).platform.elasticsearch_nodes for s in STACKS] == [1, 1, 3]
    with pytest.raises(ConfigError, match="mlsys:logIndexRetentionDays"):
        _parse("dev", logIndexRetentionDays=0)


def test_a_hosted_zone_switches_certificates_to_dns01():
    assert _parse("prod").platform.hosted_zone_id == "Z0EXAMPLE1234567890"
    assert _parse("dev").platform.hosted_zone_id is None
    with pytest.raises(ConfigError, match="mlsys:hostedZoneId"):
        _parse("dev", hostedZoneId="example.com")


def test_only_staging_lets_another_account_pull_its_images():
    assert _parse("staging").image_pull_account_ids == ("777788889999",)
    assert _parse("prod").image_pull_account_ids == ()
    assert _parse("dev").image_pull_account_ids == ()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("777788889999", "must be a list"),
        (["7777"], "12-digit AWS account ids"),
        (["777788889999", "777788889999"], "each once"),
        (["444455556666"], "other accounts than mlsys:accountId"),
    ],
)
def test_image_pull_accounts_are_other_real_accounts(value, message):
    with pytest.raises(ConfigError, match=message):
        _parse("staging", imagePullAccountIds=value)
