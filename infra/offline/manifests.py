"""Kubernetes objects declared by the program, rebuilt as the YAML the API server receives."""

from __future__ import annotations

from typing import Any

from infra.offline.plan import Resource

# Pulumi's type token is kubernetes:<group>/<version>:<Kind>; "core" is the empty group.
_RESERVED = ("apiVersion", "kind", "metadata")


def api_version(token: str) -> tuple[str, str]:
    _, group_version, kind = token.split(":")
    group, version = group_version.split("/")
    return (version if group == "core" else f"{group}/{version}"), kind


def to_manifest(resource: Resource) -> dict[str, Any]:
    version, kind = api_version(resource.type)
    body = {k: v for k, v in resource.inputs.items() if k not in _RESERVED}
    metadata = dict(resource.inputs.get("metadata") or {})
    metadata.setdefault("name", resource.name)
    return {"apiVersion": version, "kind": kind, "metadata": metadata, **body}


def manifest_filename(manifest: dict[str, Any]) -> str:
    meta = manifest["metadata"]
    namespace = meta.get("namespace", "_cluster")
    return f"{namespace}--{manifest['kind'].lower()}--{meta['name']}.yaml"
