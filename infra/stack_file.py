"""Reads Pulumi.<stack>.yaml the way the Pulumi engine hands config to a program."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
STACKS: tuple[str, ...] = ("dev", "staging", "prod")


def _as_engine_value(value: Any) -> str:
    # The engine passes every value as a string; booleans as true/false, objects as JSON.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def read_stack_file(stack: str, root: Path = REPO_ROOT) -> dict[str, str]:
    """``{"mlsys:vpcCidr": "10.10.0.0/16", "aws:region": "eu-west-1", ...}`` for ``stack``."""
    path = root / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text()) or {}
    config = document.get("config") or {}
    for key, value in config.items():
        if isinstance(value, dict) and "secure" in value:
            raise ValueError(f"{path.name}: {key} is a secret; offline runs do not decrypt secrets")
    return {key: _as_engine_value(value) for key, value in config.items()}


def project_config_declarations(root: Path = REPO_ROOT) -> dict[str, dict[str, Any]]:
    """The ``config:`` block of Pulumi.yaml (key -> declaration)."""
    document = yaml.safe_load((root / "Pulumi.yaml").read_text())
    declarations: dict[str, dict[str, Any]] = document.get("config", {})
    return declarations
