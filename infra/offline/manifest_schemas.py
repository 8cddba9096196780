"""Each manifest against its kind's schema: Kubernetes' own, or its CRD's from a pinned package.

Needs the dev extras (kubernetes-validate, cloudcoil-models-*); only the tests import it.
"""

from __future__ import annotations

import importlib
import json
import subprocess
from dataclasses import dataclass
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Literal

import jsonschema
import kubernetes_validate
from cloudcoil.resources import Resource as CloudcoilResource

from infra.platform.charts import CHARTS

# apiVersion -> the module that carries its CRDs' schemas, as pydantic models generated from
# the CRDs by the package named next to it (whose version is the upstream release they came
# from). Imported only when a manifest needs it: the prometheus-operator models take seconds.
# No registry package carries the other CRDs' schemas: see UNCHECKED_GROUPS.
CRD_MODULES: dict[str, tuple[str, str]] = {
    "cert-manager.io/v1": ("cloudcoil.models.cert_manager.v1", "cloudcoil-models-cert-manager"),
    "acme.cert-manager.io/v1": (
        "cloudcoil.models.cert_manager.acme.v1",
        "cloudcoil-models-cert-manager",
    ),
    "monitoring.coreos.com/v1": (
        "cloudcoil.models.prometheus_operator.v1",
        "cloudcoil-models-prometheus-operator",
    ),
    "monitoring.coreos.com/v1alpha1": (
        "cloudcoil.models.prometheus_operator.v1alpha1",
        "cloudcoil-models-prometheus-operator",
    ),
}
# The chart that installs each package's CRDs in the cluster: the two versions can drift, so
# the test summary prints both.
CRD_CHARTS: dict[str, str] = {
    "cloudcoil-models-cert-manager": "cert-manager",
    "cloudcoil-models-prometheus-operator": "kube-prometheus-stack",
}
# Every other custom API group the platform installs, with what installs it. A kind in none
# of these groups and not built into Kubernetes fails the check: a new operator's group is
# added here on purpose, and a mistyped built-in group is never waved through as "custom".
UNCHECKED_GROUPS: dict[str, str] = {
    "karpenter.sh": "karpenter chart",
    "karpenter.k8s.aws": "karpenter chart",
    "gateway.nginx.org": "nginx-gateway-fabric chart",
    "secrets.hashicorp.com": "vault-secrets-operator chart",
    "elasticsearch.k8s.elastic.co": "eck-operator chart",
    "kibana.k8s.elastic.co": "eck-operator chart",
    "vpcresources.k8s.aws": "EKS (the VPC resource controller)",
}


# Groups whose CRD schemas reach us only as validators an npm package generated from them,
# run with node from `make schema-tools` (infra/offline/gateway_api/). They check types,
# enums, patterns and ranges; the generated code does not reject unknown fields.
NODE_VALIDATED: dict[str, str] = {"gateway.networking.k8s.io": "@kubernetes-models/gateway-api"}
SCHEMA_TOOLS = Path(__file__).resolve().parents[2] / "build" / "schema-tools"


# built-in: served by Kubernetes itself; custom: a CRD whose schema a package carries;
# unchecked: a CRD the platform installs whose schema no package carries; unknown: neither.
Category = Literal["built-in", "custom", "unchecked", "unknown"]


@dataclass(frozen=True)
class Check:
    """What one manifest was checked against, and what the check found."""

    api_version: str
    kind: str
    name: str
    category: Category
    schema: str | None = None  # where the schema came from
    errors: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        return f"{self.api_version} {self.kind} {self.name}"


def group_of(api_version: str) -> str:
    """The API group of ``apps/v1`` is ``apps``; of ``v1`` it is the core group, ``""``."""
    return api_version.rpartition("/")[0]


def _minor(version: str) -> tuple[int, int]:
    major, minor = version.removeprefix("v").split(".")[:2]
    return int(major), int(minor)


def carried_versions() -> list[str]:
    """The Kubernetes minor versions whose schemas kubernetes-validate carries, oldest first."""
    found = {"{}.{}".format(*_minor(v)) for v in kubernetes_validate.utils.all_versions()}
    return sorted(found, key=_minor)


def schema_version(cluster_version: str, carried: list[str] | None = None) -> str:
    """The newest schema not newer than the cluster; older clusters than any carried fail."""
    carried = carried if carried is not None else carried_versions()
    usable = [v for v in carried if _minor(v) <= _minor(cluster_version)]
    if not usable:
        raise LookupError(
            f"kubernetes-validate carries schemas for {carried[0]} to {carried[-1]}, "
            f"none for a {cluster_version} cluster"
        )
    return usable[-1]


def kubernetes_validate_version() -> str:
    return metadata.version("kubernetes-validate")


@cache
def builtin_kinds(version: str) -> frozenset[tuple[str, str]]:
    """(apiVersion, kind) of every object the API server of ``version`` serves itself."""
    folder = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    definitions = json.loads((folder / f"v{version}.0-local" / "_definitions.json").read_text())
    kinds = set()
    for definition in definitions["$defs"].values():
        for gvk in definition.get("x-kubernetes-group-version-kind", ()):
            group, ver = gvk["group"], gvk["version"]
            kinds.add((f"{group}/{ver}" if group else ver, gvk["kind"]))
    return frozenset(kinds)


@cache
def builtin_groups(version: str) -> frozenset[str]:
    return frozenset(group_of(api_version) for api_version, _ in builtin_kinds(version))


@cache
def crd_models(api_version: str) -> dict[str, type[CloudcoilResource]]:
    """Kind -> the model carrying its CRD schema, for every kind of ``api_version``."""
    module_name, _ = CRD_MODULES[api_version]
    module = importlib.import_module(module_name)
    models: dict[str, type[CloudcoilResource]] = {}
    for value in vars(module).values():
        if not (isinstance(value, type) and issubclass(value, CloudcoilResource)):
            continue
        fields = value.model_fields
        if value.__module__ != module_name or not {"api_version", "kind"} <= set(fields):
            continue
        kind = fields["kind"].default
        if fields["api_version"].default == api_version and isinstance(kind, str):
            models[kind] = value
    return models


def crd_source(api_version: str) -> str:
    """The package and version that carries ``api_version``'s CRD schemas."""
    _, package = CRD_MODULES[api_version]
    return f"{package} {metadata.version(package)}"


def close_objects(schema: Any) -> Any:
    """Unknown fields fail, as kubectl's strict field validation makes them.

    The API server silently prunes a field its CRD does not declare, so a typo would
    otherwise pass here and vanish in the cluster. Maps (``additionalProperties`` set) and
    free-form objects (no ``properties``) stay open.
    """
    if isinstance(schema, dict):
        if "properties" in schema and "additionalProperties" not in schema:
            schema["additionalProperties"] = False
        for value in schema.values():
            close_objects(value)
    elif isinstance(schema, list):
        for value in schema:
            close_objects(value)
    return schema


def drop_nulls(schema: Any) -> Any:
    """A CRD field is left out, never null: ``Optional[X]`` (``anyOf: [X, null]``) becomes X.

    Besides being what the API server accepts, this keeps errors at the field that is wrong
    rather than "spec is not valid under any of the given schemas".
    """
    if isinstance(schema, dict):
        if "anyOf" in schema:
            branches = [b for b in schema.pop("anyOf") if b != {"type": "null"}]
            if len(branches) == 1:
                schema.update(branches[0])
            else:
                schema["anyOf"] = branches
        for value in schema.values():
            drop_nulls(value)
    elif isinstance(schema, list):
        for value in schema:
            drop_nulls(value)
    return schema


@cache
def _crd_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    model = crd_models(api_version)[kind]
    schema = close_objects(drop_nulls(model.model_json_schema(by_alias=True)))
    return jsonschema.Draft202012Validator(schema)


def path_of(error: jsonschema.ValidationError) -> str:
    """``spec.template.spec.containers[0].image``: where in the object the error is."""
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(object)"


def check_manifest(manifest: dict[str, Any], cluster_version: str) -> Check:
    """``manifest`` against the schema of its kind; an unknown kind is an error."""
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    name = manifest.get("metadata", {}).get("name", "?")
    version = schema_version(cluster_version)
    if (api_version, kind) in builtin_kinds(version):
        source = f"Kubernetes {version} (kubernetes-validate {kubernetes_validate_version()})"
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            found = (f"{path_of(error)}: {error.message}",)
            return Check(api_version, kind, name, "built-in", source, found)
        except kubernetes_validate.SchemaNotFoundError as error:
            return Check(api_version, kind, name, "built-in", source, (error.message,))
        return Check(api_version, kind, name, "built-in", source)
    if group_of(api_version) in builtin_groups(version):
        problem = f"{api_version} {kind} is not served by Kubernetes {version}"
        return Check(api_version, kind, name, "unknown", errors=(problem,))
    if api_version in CRD_MODULES and kind in crd_models(api_version):
        invalid = _crd_validator(api_version, kind).iter_errors(manifest)
        messages = tuple(sorted(f"{path_of(e)}: {e.message}" for e in invalid))
        return Check(api_version, kind, name, "custom", crd_source(api_version), messages)
    if group_of(api_version) in UNCHECKED_GROUPS:
        return Check(api_version, kind, name, "unchecked")
    problem = (
        f"{api_version} {kind} is neither built into Kubernetes {version} nor from a CRD the "
        "platform installs: add its group to UNCHECKED_GROUPS, or its schema package to "
        "CRD_MODULES, in infra/offline/manifest_schemas.py"
    )
    return Check(api_version, kind, name, "unknown", errors=(problem,))


def node_source(package: str) -> str:
    found = json.loads((SCHEMA_TOOLS / "node_modules" / package / "package.json").read_text())
    return f"{package} {found['version']} (generated validators: unknown fields not detected)"


def node_errors(manifests: list[dict[str, Any]]) -> list[tuple[str, ...] | None]:
    """Per manifest, what the generated validators found; None for a kind they lack."""
    script = SCHEMA_TOOLS / "validate.mjs"
    if not script.exists():
        raise FileNotFoundError(f"{script} is missing: run `make schema-tools` (make test does)")
    result = subprocess.run(
        ["node", str(script)],
        input=json.dumps(manifests),
        cwd=SCHEMA_TOOLS,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [None if e is None else tuple(sorted(set(e))) for e in json.loads(result.stdout)]


def check_manifests(manifests: list[dict[str, Any]], cluster_version: str) -> list[Check]:
    """Every manifest, the node-validated groups in one batch; the rest as check_manifest."""
    batched = [i for i, m in enumerate(manifests) if group_of(m["apiVersion"]) in NODE_VALIDATED]
    found = dict(zip(batched, node_errors([manifests[i] for i in batched]), strict=True))
    checks = []
    for index, manifest in enumerate(manifests):
        errors = found.get(index)
        if errors is None:
            checks.append(check_manifest(manifest, cluster_version))
            continue
        api_version, kind = manifest["apiVersion"], manifest["kind"]
        name = manifest.get("metadata", {}).get("name", "?")
        source = node_source(NODE_VALIDATED[group_of(api_version)])
        checks.append(Check(api_version, kind, name, "custom", source, errors))
    return checks


def summary(checks: dict[str, list[Check]], cluster_versions: dict[str, str]) -> list[str]:
    """What each kind was checked against and, as lines starting "WARNING", what was not."""
    lines = []
    for stack, wanted in cluster_versions.items():
        used = schema_version(wanted)
        if used != wanted:
            lines.append(
                f"WARNING: {stack} runs Kubernetes {wanted}, but kubernetes-validate "
                f"{kubernetes_validate_version()} carries schemas only up to "
                f"{carried_versions()[-1]}: its built-in objects were checked against {used}"
            )
    sources: dict[str, set[str]] = {}
    unchecked: set[str] = set()
    for check in (c for stack_checks in checks.values() for c in stack_checks):
        if check.schema:
            sources.setdefault(check.schema, set()).add(f"{check.api_version} {check.kind}")
        elif check.category == "unchecked":
            unchecked.add(f"{check.api_version} {check.kind}")
    for source, kinds in sorted(sources.items()):
        package = source.split()[0]
        if package in CRD_CHARTS:
            chart = CHARTS[CRD_CHARTS[package]]
            source += f" (the cluster gets its CRDs from chart {chart.name} {chart.version})"
        lines += [f"checked against {source}:", f"  {', '.join(sorted(kinds))}"]
    if unchecked:
        lines.append(
            "WARNING: NOT schema-checked, as no registry package carries their CRD schema "
            f"(stacks {', '.join(checks)}):"
        )
        for kind in sorted(unchecked):
            lines.append(f"  {kind}  [{UNCHECKED_GROUPS[group_of(kind.split()[0])]}]")
    return lines
