"""Kubeconfig for an EKS cluster, authenticating with `aws eks get-token` (no static token)."""

from __future__ import annotations

import json
from typing import Any


def build_kubeconfig(name: str, endpoint: str, ca_data: str, region: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
        ],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "users": [
            {
                "name": name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": [
                            "eks",
                            "get-token",
                            "--cluster-name",
                            name,
                            "--region",
                            region,
                            "--output",
                            "json",
                        ],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }


def kubeconfig_json(name: str, endpoint: str, ca_data: str, region: str) -> str:
    return json.dumps(build_kubeconfig(name, endpoint, ca_data, region), sort_keys=True)
