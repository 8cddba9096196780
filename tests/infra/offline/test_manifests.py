"""Manifests: each Kubernetes resource as the YAML object the API server would receive."""

from __future__ import annotations

import re

import pytest
import yaml

from infra.offline.manifests import api_version, manifest_filename, to_manifest
from infra.offline.plan import Resource
from infra.stack_file import STACKS

WHOLE_FLOAT = re.compile(r"(:|-) -?\d+\.0\n")


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("kubernetes:core/v1:Namespace", ("v1", "Namespace")),
        ("kubernetes:batch/v1:Job", ("batch/v1", "Job")),
        ("kubernetes:storage.k8s.io/v1:StorageClass", ("storage.k8s.io/v1", "StorageClass")),
    ],
)
def test_api_version_from_the_type_token(token, expected):
    assert api_version(token) == expected


def test_manifest_takes_metadata_and_body_and_a_default_name():
    resource = Resource(
        type="kubernetes:core/v1:ConfigMap",
        name="logical",
        urn="urn",
        parent=None,
        provider=None,
        inputs={"data": {"a": "b"}, "metadata": {"namespace": "ns"}},
    )
    manifest = to_manifest(resource)
    assert manifest == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"namespace": "ns", "name": "logical"},
        "data": {"a": "b"},
    }
    assert manifest_filename(manifest) == "ns--configmap--logical.yaml"


@pytest.mark.parametrize("stack", STACKS)
def test_manifest_yaml_keeps_integers(plans, stack):
    """`runAsUser: 10001.0` is rejected by the API server; the YAML must say 10001."""
    for resource in plans[stack].resources:
        if not resource.is_kubernetes:
            continue
        text = yaml.safe_dump(to_manifest(resource), sort_keys=False)
        # A float where an integer was (`10001.0`); a version string such as 8.19.0 is fine.
        assert not WHOLE_FLOAT.search(text), resource.name
    job = to_manifest(plans[stack].named(f"mlsys-{stack}-db-bootstrap-create-databases"))
    parsed = yaml.safe_load(yaml.safe_dump(job))
    assert parsed["spec"]["backoffLimit"] == 6
    assert parsed["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001
    assert "runAsUser: 10001\n" in yaml.safe_dump(job)
