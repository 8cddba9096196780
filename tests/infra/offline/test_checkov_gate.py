"""The checkov gate: reviewed skips cover exactly their check, stacks and resources."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.offline.checkov_gate import Finding, Skip, findings, judge, load_skips

SKIP = Skip("CKV_AWS_39", ("dev",), ("aws_eks_cluster.*",), "reviewed")


def test_a_skip_covers_only_its_check_stack_and_resources():
    assert SKIP.covers(Finding("dev", "CKV_AWS_39", "aws_eks_cluster.mlsys-dev-cluster-eks", ""))
    assert not SKIP.covers(Finding("prod", "CKV_AWS_39", "aws_eks_cluster.x", ""))
    assert not SKIP.covers(Finding("dev", "CKV_AWS_38", "aws_eks_cluster.x", ""))
    assert not SKIP.covers(Finding("dev", "CKV_AWS_39", "aws_db_instance.x", ""))


def test_uncovered_findings_fail_and_stale_skips_are_reported():
    found = [Finding("prod", "CKV_AWS_39", "aws_eks_cluster.x", "public endpoint")]
    failing, unused = judge(found, [SKIP])
    assert failing == found and unused == [SKIP]


def test_findings_are_read_from_checkovs_json_report():
    report = [
        {"results": {"failed_checks": [{"check_id": "C1", "resource": "r.a", "check_name": "n"}]}},
        {"results": {"failed_checks": []}},
    ]
    assert findings("dev", report) == [Finding("dev", "C1", "r.a", "n")]


def test_the_reviewed_file_gives_every_skip_a_reason():
    skips = load_skips()
    assert skips and all(len(s.reason) > 40 and s.resources for s in skips)
    # Nothing prod must pass is skipped in prod.
    prod = {s.check for s in skips if "prod" in s.stacks}
    assert not prod & {"CKV_AWS_39", "CKV_AWS_157", "CKV_AWS_293", "CKV_AWS_338", "CKV2_AWS_57"}


def test_a_skip_without_a_reason_is_refused(tmp_path: Path):
    path = tmp_path / "skips.yaml"
    path.write_text("skips:\n  - check: C1\n    stacks: [dev]\n    resources: ['*']\n")
    with pytest.raises(ValueError, match="C1"):
        load_skips(path)
