"""Every manifest of every stack against its schema, and proof that the check can fail."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from infra.offline.manifest_schemas import (
    Check,
    carried_versions,
    check_manifest,
    check_manifests,
    close_objects,
    drop_nulls,
    schema_version,
    summary,
)
from infra.offline.manifests import to_manifest
from infra.stack_file import STACKS

# Checking every stack needs all three plans and the prometheus-operator models (seconds).
stack_wide = pytest.mark.slow


def _failures(checks: list[Check], category: str) -> list[str]:
    """One line per error: the object, where in it, and what is wrong."""
    return [f"{c.title}: {error}" for c in checks if c.category == category for error in c.errors]


@stack_wide
@pytest.mark.parametrize("stack", STACKS)
def test_every_builtin_object_matches_the_clusters_openapi_schema(manifest_checks, stack):
    checks = manifest_checks[stack]
    assert [c for c in checks if c.category == "built-in"], "no built-in object was checked"
    assert _failures(checks, "built-in") == []


@stack_wide
@pytest.mark.parametrize("stack", STACKS)
def test_every_custom_resource_matches_its_packaged_crd_schema(manifest_checks, stack):
    checks = manifest_checks[stack]
    custom = {c.kind for c in checks if c.category == "custom"}
    # The program declares these; a package carries their CRDs (the summary lists the rest).
    assert custom >= {"Certificate", "ClusterIssuer", "PrometheusRule", "Gateway", "HTTPRoute"}
    assert _failures(checks, "custom") == []


@stack_wide
@pytest.mark.parametrize("stack", STACKS)
def test_no_kind_is_passed_over_unknown(manifest_checks, stack):
    """A removed API version or a mistyped group fails rather than counting as 'custom'."""
    assert _failures(manifest_checks[stack], "unknown") == []


@pytest.fixture(name="job")
def _job(plans):
    return to_manifest(plans["dev"].named("mlsys-dev-db-bootstrap-create-databases"))


@pytest.fixture(name="certificate")
def _certificate(plans):
    found = plans["dev"].of_type("kubernetes:cert-manager.io/v1:Certificate")
    return to_manifest(found[0])


def _errors(manifest) -> tuple[str, ...]:
    return check_manifest(manifest, "1.35").errors


def test_the_real_objects_pass_as_they_are(job, certificate):
    assert _errors(job) == ()
    assert _errors(certificate) == ()


def test_a_wrong_type_in_a_builtin_object_fails_with_its_path(job):
    broken = copy.deepcopy(job)
    broken["spec"]["backoffLimit"] = "six"
    (error,) = _errors(broken)
    assert error.startswith("spec.backoffLimit: 'six' is not of type 'integer'")


def test_an_unknown_field_in_a_builtin_object_fails(job):
    broken = copy.deepcopy(job)
    broken["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    (error,) = _errors(broken)
    assert error.startswith("spec.template.spec.containers[0]:")
    assert "imagePullPolicyy" in error


def test_custom_resources_fail_on_wrong_types_and_unknown_fields(certificate):
    broken = copy.deepcopy(certificate)
    broken["spec"]["dnsNames"] = "api.example.com"
    broken["spec"]["issuerReff"] = broken["spec"]["issuerRef"]
    errors = _errors(broken)
    assert any(e.startswith("spec.dnsNames:") for e in errors), errors
    assert any(e.startswith("spec:") and "issuerReff" in e for e in errors), errors


@pytest.mark.parametrize(
    ("api_version", "kind"),
    [
        ("policy/v1beta1", "PodDisruptionBudget"),  # removed in Kubernetes 1.25
        ("app/v1", "Deployment"),  # a mistyped group
        ("cert-manager.io/v1", "Certificates"),  # a mistyped kind of a checked CRD
    ],
)
def test_a_kind_neither_served_nor_installed_fails(job, api_version, kind):
    check = check_manifest({**job, "apiVersion": api_version, "kind": kind}, "1.35")
    assert check.category == "unknown" and check.errors


def test_a_crd_without_a_packaged_schema_is_reported_unchecked():
    policy = {"apiVersion": "gateway.nginx.org/v1alpha1", "kind": "RateLimitPolicy"}
    check = check_manifest({**policy, "metadata": {}}, "1.35")
    assert (check.category, check.schema, check.errors) == ("unchecked", None, ())


@pytest.fixture(name="route")
def _route(plans):
    routes = plans["prod"].of_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    manifests = [to_manifest(r) for r in routes]
    return next(m for m in manifests if "backendRefs" in m["spec"]["rules"][0])


def test_gateway_api_objects_fail_on_wrong_types_and_ranges(route):
    assert check_manifests([route], "1.35")[0].errors == ()
    broken = copy.deepcopy(route)
    broken["spec"]["rules"][0]["backendRefs"][0].update(port="8000", weight=-1)
    broken["spec"]["hostnames"] = ["Not_A_Host"]
    (check,) = check_manifests([broken], "1.35")
    assert check.category == "custom" and "@kubernetes-models/gateway-api" in (check.schema or "")
    assert any("backendRefs.0.port: must be integer" in e for e in check.errors), check.errors
    assert any("backendRefs.0.weight: must be >= 0" in e for e in check.errors), check.errors
    assert any(e.startswith("spec.hostnames.0: must match pattern") for e in check.errors)


def test_a_gateway_api_kind_the_validators_lack_is_unknown():
    (check,) = check_manifests(
        [{"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Nope", "metadata": {}}], "1.35"
    )
    assert check.category == "unknown" and check.errors


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [("1.35", "1.35"), ("1.36", "1.35"), ("1.9", "1.9"), ("1.10", "1.10")],
)
def test_schemas_are_the_newest_not_newer_than_the_cluster(cluster, expected):
    assert schema_version(cluster, ["1.9", "1.10", "1.34", "1.35"]) == expected


def test_a_cluster_older_than_every_schema_is_refused():
    with pytest.raises(LookupError, match=r"none for a 1\.20 cluster"):
        schema_version("1.20", ["1.25", "1.35"])


def test_closing_objects_leaves_maps_and_free_form_objects_open():
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "raw": {"type": "object"},
        },
    }
    closed = close_objects(copy.deepcopy(schema))
    assert closed["additionalProperties"] is False
    assert closed["properties"]["labels"] == schema["properties"]["labels"]
    assert closed["properties"]["raw"] == {"type": "object"}


def test_optional_fields_may_be_left_out_but_not_null():
    schema = {"anyOf": [{"$ref": "#/$defs/Spec"}, {"type": "null"}], "default": None}
    assert drop_nulls(schema) == {"$ref": "#/$defs/Spec", "default": None}
    either = {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "null"}]}
    assert drop_nulls(either) == {"anyOf": [{"type": "integer"}, {"type": "string"}]}


def test_the_summary_names_unchecked_kinds_and_a_cluster_newer_than_the_schemas():
    checks = {
        "dev": [
            Check("v1", "ConfigMap", "a", "built-in", "Kubernetes 1.35 (kubernetes-validate)"),
            Check("cert-manager.io/v1", "Issuer", "b", "custom", "cloudcoil-models-cert-manager 1"),
            Check("gateway.nginx.org/v1alpha1", "RateLimitPolicy", "c", "unchecked"),
        ]
    }
    newest = carried_versions()[-1]
    lines = summary(checks, {"dev": "1.35", "prod": "1.999"})
    assert lines[0].startswith("WARNING: prod runs Kubernetes 1.999, but kubernetes-validate")
    assert lines[0].endswith(f"checked against {newest}")
    assert "  v1 ConfigMap" in lines
    assert any("chart cert-manager v" in line for line in lines)
    warning = next(i for i, line in enumerate(lines) if line.startswith("WARNING: NOT"))
    assert lines[warning].endswith("(stacks dev):")
    assert lines[warning + 1].startswith("  gateway.nginx.org/v1alpha1 RateLimitPolicy  [nginx")
