"""Grafana dashboards kept as JSON in the repo, shipped as ConfigMaps the sidecar loads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.platform.monitoring.values import DASHBOARD_LABEL, NAMESPACE

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARDS_DIR.glob("*.json"))


def build_dashboard_config_map(path: Path) -> dict[str, Any]:
    # Parse and re-dump: a broken file fails the plan, not Grafana at start-up.
    text = json.dumps(json.loads(path.read_text()), indent=2, sort_keys=True)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"dashboard-{path.stem}",
            "namespace": NAMESPACE,
            "labels": {DASHBOARD_LABEL: "1"},
        },
        "data": {path.name: text},
    }
