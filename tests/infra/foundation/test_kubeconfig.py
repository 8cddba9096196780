"""Kubeconfig: authenticates with `aws eks get-token`, never a static credential."""

from __future__ import annotations

import json

from infra.foundation.kubeconfig import build_kubeconfig, kubeconfig_json


def test_kubeconfig_uses_aws_eks_get_token_and_no_static_secret():
    config = build_kubeconfig("c", "https://x", "Q0E=", "eu-west-1")
    user = config["users"][0]["user"]
    assert user["exec"]["command"] == "aws"
    assert user["exec"]["args"] == [
        "eks",
        "get-token",
        "--cluster-name",
        "c",
        "--region",
        "eu-west-1",
        "--output",
        "json",
    ]
    assert "token" not in user and "client-key-data" not in user


def test_json_form_is_stable():
    assert json.loads(kubeconfig_json("c", "https://x", "Q0E=", "r")) == build_kubeconfig(
        "c", "https://x", "Q0E=", "r"
    )
