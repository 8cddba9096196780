"""The chart table and the release arguments every chart is installed with."""

from __future__ import annotations

import re

import pytest

from infra.platform.charts import CHARTS, GATEWAY_API_CRDS, build_release_args


@pytest.mark.parametrize("key", sorted(CHARTS))
def test_every_release_is_pinned_atomic_and_cleaned_up(key):
    args = build_release_args(key, "ns", {"a": 1})
    assert args["version"] == CHARTS[key].version
    assert re.fullmatch(r"v?\d+\.\d+\.\d+", args["version"])
    assert args["atomic"] is True and args["cleanup_on_fail"] is True
    assert 300 <= args["timeout"] <= 1800
    assert args["create_namespace"] is False and args["values"] == {"a": 1}


def test_oci_charts_carry_the_registry_in_the_chart_and_no_repository():
    args = build_release_args("nginx-gateway-fabric", "gateway", {})
    assert args["chart"] == "oci://ghcr.io/nginx/charts/nginx-gateway-fabric"
    assert args["repository_opts"] is None
    https = build_release_args("cert-manager", "cert-manager", {})
    assert https["repository_opts"] == {"repo": "https://charts.jetstack.io"}


def test_gateway_api_crds_are_pinned_to_a_release():
    assert "/releases/download/v1." in GATEWAY_API_CRDS and "latest" not in GATEWAY_API_CRDS
