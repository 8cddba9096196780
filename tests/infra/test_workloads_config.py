"""The workloads section of the stack config: canary, API scaling, images, schedule."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError
from infra.workloads_config import Canary
from tests.infra.test_config import _parse

DIGEST = "111122223333.dkr.ecr.eu-west-1.amazonaws.com/mlsys-app@sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("stack", "low", "high"), [("dev", 1, 3), ("staging", 2, 6), ("prod", 3, 20)]
)
def test_each_stack_scales_the_api_within_its_own_bounds(stack, low, high):
    workloads = _parse(stack).workloads
    assert (workloads.api_min_replicas, workloads.api_max_replicas) == (low, high)
    assert workloads.canary is None  # no canary key in the files: weight 0
    assert workloads.mlflow_replicas == (1 if stack == "dev" else 2)


def test_a_canary_needs_an_image_and_weight_zero_removes_it():
    assert _parse("prod", canaryWeight=10, canaryImage=DIGEST).workloads.canary == Canary(
        image=DIGEST, weight=10
    )
    assert _parse("prod", canaryWeight=0, canaryImage=DIGEST).workloads.canary is None
    with pytest.raises(ConfigError, match="mlsys:canaryWeight is 5 but mlsys:canaryImage"):
        _parse("prod", canaryWeight=5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"canaryWeight": 101}, "mlsys:canaryWeight"),
        ({"canaryWeight": 10, "canaryImage": "repo/app:v2"}, "mlsys:canaryImage"),
        ({"apiMinReplicas": 2}, "mlsys:apiMinReplicas must be >= 3 in prod"),
        ({"apiMinReplicas": 5, "apiMaxReplicas": 4}, "must not exceed mlsys:apiMaxReplicas"),
        ({"airflowImage": "apache/airflow:3.2.2"}, "mlsys:airflowImage"),
        ({"trainingSchedule": "every day"}, "mlsys:trainingSchedule"),
    ],
)
def test_bad_workload_values_fail_naming_the_key(changes: dict[str, Any], message: str):
    with pytest.raises(ConfigError, match=message):
        _parse("prod", **changes)


def test_dev_may_use_tags_for_every_workload_image():
    workloads = _parse(
        "dev", canaryWeight=50, canaryImage="repo/app:canary", airflowImage="airflow:latest"
    ).workloads
    assert workloads.canary == Canary(image="repo/app:canary", weight=50)
    assert workloads.airflow_image == "airflow:latest"
